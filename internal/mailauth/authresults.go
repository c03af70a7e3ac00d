package mailauth

import (
	"strings"
)

// Authentication-Results (RFC 8601 section 2.2):
//
//	authres-header-field = "Authentication-Results:" authres-payload
//	authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//	                  ( no-result / 1*resinfo ) [CFWS] CRLF
//	resinfo = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//
// We write one resinfo per line, folded further at spaces when a line
// would pass 78 characters (RFC 5322 section 2.1.1).

// resinfo is one method's result: its words, joined by spaces and folded
// between them.
type resinfo []string

// reason adds a reasonspec. A ";" inside it, though legal in a quoted
// string, becomes ",": parsers that split the field at ";" first
// (go-msgauth's among them) would break on it.
func (r *resinfo) reason(s string) {
	s = strings.ReplaceAll(s, ";", ",")
	if s != "" {
		*r = append(*r, "reason="+quoteValue(s, 200))
	}
}

func (r *resinfo) prop(name, value string) {
	if value != "" {
		*r = append(*r, name+"="+pvalue(value))
	}
}

// formatAuthResults builds the whole header field.
func formatAuthResults(authservID string, in Input, spfRes SPFResult, dkims []DKIMResult, dm DMARCResult) string {
	var infos []resinfo

	r := resinfo{"spf=" + string(spfRes.Status)}
	if spfRes.Status == StatusTempError || spfRes.Status == StatusPermError {
		r.reason(spfRes.Detail)
	}
	if spfRes.Identity == "helo" {
		r.prop("smtp.helo", in.HELO)
	} else {
		r.prop("smtp.mailfrom", in.MailFrom)
	}
	infos = append(infos, r)

	if len(dkims) == 0 {
		infos = append(infos, resinfo{"dkim=none"})
	}
	for _, d := range dkims {
		r := resinfo{"dkim=" + string(d.Status)}
		if d.Status != StatusPass {
			r.reason(d.Detail)
		}
		r.prop("header.d", d.Domain)
		r.prop("header.i", d.Identifier)
		r.prop("header.s", d.Selector)
		r.prop("header.a", d.Algorithm)
		r.prop("header.b", d.B)
		infos = append(infos, r)
	}

	r = resinfo{"dmarc=" + string(dm.Status)}
	if dm.Policy != "" {
		// A comment in the style of the large providers: the policy
		// requested and the disposition applied.
		r = append(r, "(p="+dm.Policy+" dis="+dm.Applied+")")
	}
	if dm.Status == StatusTempError || dm.Status == StatusPermError {
		r.reason(dm.Detail)
	}
	r.prop("header.from", dm.From)
	infos = append(infos, r)

	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(authservID)
	for _, info := range infos {
		b.WriteString(";\r\n\t")
		col := 8 // a tab
		for i, w := range info {
			switch {
			case i == 0:
			case col+1+len(w) > 78:
				b.WriteString("\r\n\t")
				col = 8
			default:
				b.WriteByte(' ')
				col++
			}
			b.WriteString(w)
			col += len(w)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// isTokenChar reports whether c may appear in a MIME token (RFC 2045
// section 5.1), the unquoted form of an Authentication-Results value.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// quoteValue writes a value (RFC 2045 token or quoted-string) on one
// line: control characters become spaces, and a value longer than limit
// bytes (0: no limit) is cut. 8-bit bytes stay: an SMTPUTF8 message may
// carry UTF-8 in its header (RFC 6532).
func quoteValue(s string, limit int) string {
	if limit > 0 && len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "")
	}
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == 0x7f {
			c = ' '
		}
		clean = append(clean, c)
	}
	s = string(clean)
	token := s != ""
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			token = false
			break
		}
	}
	if token {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// pvalue writes a property value (RFC 8601 section 2.2: a value, or an
// address or domain). Addresses and domains of the usual characters go
// unquoted; anything else is quoted.
func pvalue(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`{|}~@", c) >= 0) {
			plain = false
			break
		}
	}
	if plain && !strings.HasPrefix(s, ".") {
		return s
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 && strings.Contains(s[:i], ";") {
		// A local part with ";" trips parsers that split at ";" first;
		// the domain alone is a valid value (RFC 8601 section 2.7.2).
		return pvalue(s[i:])
	}
	return quoteValue(s, 0)
}

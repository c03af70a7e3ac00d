package mime

import (
	"sort"
	"strconv"
	"strings"
)

// Content-Type and Content-Disposition values: RFC 2045 section 5.1, RFC 2183
// section 2, with RFC 2231 parameter continuations and charsets. Parsing is
// lenient: comments anywhere, unquoted values with specials (boundary=--=_x),
// a missing ";" between parameters, garbage skipped to the next ";".

// isTSpecial reports the tspecials of RFC 2045 section 5.1.
func isTSpecial(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=':
		return true
	}
	return false
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !isTSpecial(c)
}

// skipCFWS skips white space and (nested) comments from s[i:].
func skipCFWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '(':
			i = skipComment(s, i)
		default:
			return i
		}
	}
	return i
}

// skipComment skips the comment starting at s[i] == '(' (RFC 5322 section
// 3.2.2: comments nest, quoted-pairs escape). An unterminated comment runs to
// the end.
func skipComment(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// token reads an RFC 2045 token from s[i:].
func token(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTokenChar(s[j]) {
		j++
	}
	return s[i:j], j
}

// parseContentType parses a Content-Type value. ok is false when there is
// no "type/subtype", the case RFC 2045 section 5.2 defaults.
func parseContentType(v string) (typ, sub string, params []Param, ok bool) {
	i := skipCFWS(v, 0)
	typ, i = token(v, i)
	i = skipCFWS(v, i)
	if typ == "" || i >= len(v) || v[i] != '/' {
		return "", "", nil, false
	}
	i = skipCFWS(v, i+1)
	sub, i = token(v, i)
	if sub == "" {
		return "", "", nil, false
	}
	return strings.ToLower(typ), strings.ToLower(sub), parseParams(v[i:]), true
}

// parseDisposition parses a Content-Disposition value (RFC 2183 section 2).
func parseDisposition(v string) (disp string, params []Param) {
	i := skipCFWS(v, 0)
	disp, i = token(v, i)
	if disp == "" {
		return "", nil
	}
	return strings.ToLower(disp), parseParams(v[i:])
}

// parseLanguage parses a Content-Language value (RFC 3282 section 2): a
// comma-separated list of language tags, comments allowed.
func parseLanguage(v string) []string {
	var tags []string
	for i := 0; i < len(v); {
		i = skipCFWS(v, i)
		j := i
		for j < len(v) && (isAlnum(v[j]) || v[j] == '-') {
			j++
		}
		if j > i {
			tags = append(tags, v[i:j])
		}
		// Skip whatever else up to the next comma.
		for j < len(v) && v[j] != ',' {
			if v[j] == '(' {
				j = skipComment(v, j)
				continue
			}
			j++
		}
		i = j + 1
	}
	return tags
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// rawParam is one parameter as written, before RFC 2231 assembly.
type rawParam struct {
	base    string // lower-case name without "*n" and "*"
	section int    // continuation number, -1 for none
	encoded bool   // name ended in "*": value is charset'lang'%xx
	value   string
}

// maxParams bounds the parameters (RFC 2231 sections included) read from
// one field; more is an attack, not a message.
const maxParams = 256

// parseParams parses `*(";" parameter)` from s.
func parseParams(s string) []Param {
	var raws []rawParam
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ';' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		i = skipCFWS(s, i)
		if i >= len(s) {
			break
		}
		if s[i] == ';' {
			continue
		}
		// Names are tokens; be lenient about 8-bit bytes in them.
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ';' && s[j] != ' ' && s[j] != '\t' && s[j] != '"' && s[j] != '(' && s[j] != '\r' && s[j] != '\n' {
			j++
		}
		name := s[i:j]
		j = skipCFWS(s, j)
		if name == "" || j >= len(s) || s[j] != '=' {
			// Garbage: skip to the next ";" outside quotes.
			i = skipToSemicolon(s, j)
			continue
		}
		j = skipCFWS(s, j+1)
		var value string
		if j < len(s) && s[j] == '"' {
			value, j = quotedString(s, j)
			j = skipToSemicolon(s, j)
		} else {
			k := skipToSemicolon(s, j)
			value = trimTrailingComments(s[j:k])
			j = k
		}
		raws = append(raws, splitParamName(name, value))
		i = j
		if len(raws) >= maxParams {
			break
		}
	}
	return assembleParams(raws)
}

// skipToSemicolon returns the index of the next ";" in s[i:] that is not in
// a quoted string or comment, or len(s).
func skipToSemicolon(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ';':
			return i
		case '"':
			_, i = quotedString(s, i)
		case '(':
			i = skipComment(s, i)
		default:
			i++
		}
	}
	return i
}

// trimTrailingComments trims white space and trailing comments from an
// unquoted value ("us-ascii (Plain text)" is "us-ascii").
func trimTrailingComments(v string) string {
	v = strings.TrimRight(v, " \t\r\n")
	for strings.HasSuffix(v, ")") {
		// Find the "(" that opens the trailing comment.
		depth := 0
		k := len(v) - 1
		for ; k >= 0; k-- {
			if v[k] == ')' {
				depth++
			} else if v[k] == '(' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if k <= 0 {
			break
		}
		v = strings.TrimRight(v[:k], " \t\r\n")
	}
	// Unquoted values stay on their line; white space inside is kept.
	return v
}

// quotedString reads the quoted string starting at s[i] == '"', returning its
// content with quoted-pairs resolved (RFC 5322 section 3.2.4). An
// unterminated string runs to the end.
func quotedString(s string, i int) (string, int) {
	i++
	start := i
	simple := true
	for ; i < len(s); i++ {
		if s[i] == '\\' {
			simple = false
			i++
			continue
		}
		if s[i] == '"' {
			break
		}
		if s[i] == '\r' || s[i] == '\n' {
			simple = false
		}
	}
	end := i
	if end > len(s) {
		end = len(s)
	}
	raw := s[start:end]
	if i < len(s) {
		i++ // closing quote
	} else {
		i = len(s)
	}
	if simple {
		return raw, i
	}
	var b strings.Builder
	b.Grow(len(raw))
	for k := 0; k < len(raw); k++ {
		c := raw[k]
		switch {
		case c == '\\' && k+1 < len(raw):
			k++
			b.WriteByte(raw[k])
		case c == '\r' || c == '\n':
			// Folding inside a quoted string: drop the line break.
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), i
}

// splitParamName splits an RFC 2231 name "base*n*" into its parts.
func splitParamName(name, value string) rawParam {
	p := rawParam{section: -1, value: value}
	if strings.HasSuffix(name, "*") {
		p.encoded = true
		name = name[:len(name)-1]
	}
	if k := strings.LastIndexByte(name, '*'); k > 0 {
		if n, err := strconv.Atoi(name[k+1:]); err == nil && n >= 0 && n < 1000 && name[k+1] != '+' {
			p.section = n
			name = name[:k]
		}
	}
	p.base = strings.ToLower(name)
	return p
}

// assembleParams joins RFC 2231 continuations (section 3) and decodes
// charset-encoded values (section 4) into UTF-8. An extended value takes
// precedence over a plain one of the same name; otherwise the first of
// duplicate names wins. Order is the order of first appearance.
func assembleParams(raws []rawParam) []Param {
	if len(raws) == 0 {
		return nil
	}
	simple := true
	for _, r := range raws {
		if r.encoded || r.section >= 0 {
			simple = false
			break
		}
	}
	params := make([]Param, 0, len(raws))
	if simple {
		for _, r := range raws {
			if !hasParam(params, r.base) {
				params = append(params, Param{Name: r.base, Value: r.value})
			}
		}
		return params
	}
	for i, r := range raws {
		if hasParam(params, r.base) {
			continue
		}
		var ext []rawParam
		for _, o := range raws[i:] {
			if o.base == r.base && (o.encoded || o.section >= 0) {
				ext = append(ext, o)
			}
		}
		if len(ext) == 0 {
			params = append(params, Param{Name: r.base, Value: r.value})
			continue
		}
		params = append(params, Param{Name: r.base, Value: joinExtended(ext)})
	}
	return params
}

func hasParam(params []Param, name string) bool {
	for _, p := range params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// joinExtended assembles the sections of one RFC 2231 parameter.
func joinExtended(ext []rawParam) string {
	sort.SliceStable(ext, func(i, j int) bool { return ext[i].section < ext[j].section })
	if len(ext) > 1 && ext[0].section < 0 && ext[len(ext)-1].section >= 0 {
		// "name*" next to "name*0...": the continuations win.
		for len(ext) > 0 && ext[0].section < 0 {
			ext = ext[1:]
		}
	}
	var (
		buf     []byte
		charset string
		first   = true
		last    = -2
	)
	for _, e := range ext {
		if e.section == last {
			continue // duplicate section: the first wins
		}
		last = e.section
		v := e.value
		if e.encoded {
			if first {
				// charset'language'value; a value without the two quotes
				// is taken as percent-encoded without charset.
				if a := strings.IndexByte(v, '\''); a >= 0 {
					if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
						charset = v[:a]
						v = v[a+1+b+1:]
					}
				}
			}
			buf = appendPercentDecoded(buf, v)
		} else {
			buf = append(buf, v...)
		}
		first = false
	}
	return string(decodeCharset(nil, buf, charset))
}

// appendPercentDecoded decodes %XX escapes; a malformed escape stays.
func appendPercentDecoded(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			dst = append(dst, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
			continue
		}
		dst = append(dst, v[i])
	}
	return dst
}

// ASCII returns p in a form that is pure ASCII: p itself when it already is,
// else the RFC 2231 extended form (name "filename*", value
// "utf-8”%E2%82%AC.txt"). IMAP renders parameters this way for clients that
// have not enabled UTF8=ACCEPT (RFC 6855), as Dovecot does.
func (p Param) ASCII() Param {
	if isASCII(p.Value) {
		return p
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("utf-8''")
	v := lenientString(p.Value)
	for i := 0; i < len(v); i++ {
		c := v[i]
		// RFC 2231 section 7: attribute-char.
		if c > ' ' && c < 0x7f && !isTSpecial(c) && c != '*' && c != '\'' && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return Param{Name: p.Name + "*", Value: b.String()}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// paramValue returns the value of the parameter called name (lower case).
func paramValue(params []Param, name string) string {
	for _, p := range params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

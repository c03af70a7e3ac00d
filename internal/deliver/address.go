package deliver

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Errors of ParseAddress.
var (
	// ErrAddressSyntax: the string is not a mailbox of RFC 5321 section
	// 4.1.2 (or RFC 6531 section 3.3 with UTF-8).
	ErrAddressSyntax = errors.New("deliver: invalid address")
	// ErrAddressUTF8: the address has non-ASCII characters but the
	// client did not ask for SMTPUTF8 (RFC 6531 section 3.2).
	ErrAddressUTF8 = errors.New("deliver: non-ASCII address without SMTPUTF8")
)

// Length limits of RFC 5321 section 4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxLabel     = 63
)

// Address is a mailbox: a local part and a domain (RFC 5321 section
// 4.1.2).
type Address struct {
	// Local is the local part without quoting: go-smtp hands over
	// `"john doe"@example.org` as `john doe@example.org`. Case is kept
	// (RFC 5321 section 2.4); the store compares in lower case.
	Local string
	// Domain is lower case: a name (A-labels, or U-labels with
	// SMTPUTF8) or an address literal with its brackets ("[192.0.2.1]",
	// "[IPv6:2001:db8::1]").
	Domain string
}

// ParseAddress checks a mailbox as go-smtp hands it over: "local@domain"
// with the local part already unquoted. utf8 allows non-ASCII local parts
// and domains (the SMTPUTF8 parameter, RFC 6531).
func ParseAddress(s string, utf8ok bool) (Address, error) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return Address{}, ErrAddressSyntax
	}
	local, domain := s[:i], s[i+1:]
	if !utf8.ValidString(s) {
		return Address{}, ErrAddressSyntax
	}
	if !utf8ok && !isASCII(s) {
		return Address{}, ErrAddressUTF8
	}
	if len(local) > maxLocalPart {
		return Address{}, ErrAddressSyntax
	}
	for _, r := range local {
		// Every printable character can be written quoted
		// (qtextSMTP, quoted-pairSMTP); controls never can.
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == utf8.RuneError {
			return Address{}, ErrAddressSyntax
		}
	}
	d, err := parseDomain(domain)
	if err != nil {
		return Address{}, err
	}
	return Address{Local: local, Domain: d}, nil
}

// parseDomain checks the domain of a mailbox (RFC 5321 section 4.1.2
// Domain / address-literal, RFC 6531 section 3.3 U-labels) and returns it
// in lower case.
func parseDomain(d string) (string, error) {
	if len(d) > maxDomain {
		return "", ErrAddressSyntax
	}
	if strings.HasPrefix(d, "[") {
		// RFC 5321 section 4.1.3: IPv4 or "IPv6:" literals; the
		// General-address-literal has no registered tag we know.
		if !strings.HasSuffix(d, "]") {
			return "", ErrAddressSyntax
		}
		lit := d[1 : len(d)-1]
		if v6, ok := cutPrefixFold(lit, "IPv6:"); ok {
			ip, err := netip.ParseAddr(v6)
			if err != nil || !ip.Is6() || ip.Zone() != "" {
				return "", ErrAddressSyntax
			}
			return "[IPv6:" + strings.ToLower(v6) + "]", nil
		}
		ip, err := netip.ParseAddr(lit)
		if err != nil || !ip.Is4() {
			return "", ErrAddressSyntax
		}
		return "[" + lit + "]", nil
	}
	d = strings.ToLower(d)
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > maxLabel || label[0] == '-' || label[len(label)-1] == '-' {
			return "", ErrAddressSyntax
		}
		if isASCII(label) {
			for i := 0; i < len(label); i++ {
				c := label[i]
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
					return "", ErrAddressSyntax
				}
			}
			continue
		}
		// A U-label must be one IDNA2008 accepts.
		if _, err := idna.Lookup.ToASCII(label); err != nil {
			return "", ErrAddressSyntax
		}
	}
	return d, nil
}

// String writes the address as a Mailbox of RFC 5321 section 4.1.2: the
// local part as a Dot-string when it is one, else as a Quoted-string.
func (a Address) String() string {
	if a.Domain == "" {
		return a.Local
	}
	return quoteLocal(a.Local) + "@" + a.Domain
}

// IsZero reports whether a is the null address (the <> reverse path).
func (a Address) IsZero() bool { return a.Local == "" && a.Domain == "" }

// Key is the form accounts and aliases are looked up by: lower case.
func (a Address) Key() string { return strings.ToLower(a.Local) + "@" + a.Domain }

// ASCIIDomain returns the domain with A-labels, for comparisons: the
// same domain may arrive as U-labels (SMTPUTF8) or A-labels.
func (a Address) ASCIIDomain() string { return asciiDomain(a.Domain) }

func asciiDomain(d string) string {
	if isASCII(d) {
		return strings.ToLower(d)
	}
	if s, err := idna.Lookup.ToASCII(d); err == nil {
		return s
	}
	return strings.ToLower(d)
}

// quoteLocal returns a local part as RFC 5321 writes it: a Dot-string of
// atext (RFC 5322 section 3.2.3, UTF-8 allowed by RFC 6531 section 3.3),
// or a Quoted-string with '"' and '\' escaped.
func quoteLocal(s string) string {
	if isDotString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			continue // UTF-8 is atext (RFC 6531 section 3.3)
		}
		if c != '.' && !isAtext(c) {
			return false
		}
	}
	return true
}

// isAtext reports whether c is atext (RFC 5322 section 3.2.3).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// SplitSubaddress splits a local part at the first of the delimiter
// characters ("+" by default; several characters mean any of them, as
// Postfix's recipient_delimiter): "alice+news" gives "alice" and "news".
// ok is false when there is no delimiter, or it is the first character
// (a base address cannot be empty).
func SplitSubaddress(local, delimiters string) (base, tag string, ok bool) {
	if delimiters == "" {
		return local, "", false
	}
	i := strings.IndexAny(local, delimiters)
	if i <= 0 {
		return local, "", false
	}
	_, n := utf8.DecodeRuneInString(local[i:])
	return local[:i], local[i+n:], true
}

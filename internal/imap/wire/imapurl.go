package wire

import (
	"bufio"
	"errors"
	"math"
	"strings"
	"unicode/utf8"
)

// MessageURL is an IMAP URL that names a message or a part of one (RFC
// 5092 section 6, imessagepart), in the relative forms CATENATE takes (RFC
// 4469 section 3): an absolute path ("/INBOX;UIDVALIDITY=7/;UID=20") or a
// relative path (";UID=20", "Drafts/;UID=3"), resolved against the base
// "imap://user@server/" or, in the selected state,
// "imap://user@server/<selected mailbox>".
type MessageURL struct {
	// Mailbox is the percent-decoded mailbox name, UTF-8 as RFC 5092
	// has it (RFC 2192 had modified UTF-7; the resolver may try both).
	// For a relative path it is relative to the base: see Relative.
	Mailbox string
	// Relative is set for a relative-path reference. With an empty
	// Mailbox (";UID=20") the message is in the base mailbox; otherwise
	// Mailbox replaces the base's last hierarchy level (RFC 3986 section
	// 5.2.3, "merge").
	Relative bool
	// UIDValidity is the ";UIDVALIDITY=" of the mailbox; 0 when absent.
	UIDValidity uint32
	UID         uint32
	// Section is the ";SECTION=" part, as for BODY[section]; nil for the
	// whole message.
	Section *Section
	// Partial is the ";PARTIAL=" part; nil when absent.
	Partial *URLPartial
}

// URLPartial is a partial-range of RFC 5092 section 11: an offset and,
// when HasLength, a length in octets.
type URLPartial struct {
	Offset    uint32
	Length    uint32
	HasLength bool
}

// Errors of ParseMessageURL. The caller answers all of them with NO
// [BADURL]; they differ for logs and tests.
var (
	ErrURLNotLocal    = errors.New("imap url: not a relative reference to this server")
	ErrURLNoMessage   = errors.New("imap url: names no message")
	ErrURLSyntax      = errors.New("imap url: invalid syntax")
	ErrURLUnsupported = errors.New("imap url: URLAUTH and search URLs are not supported")
)

// ParseMessageURL parses an IMAP URL naming a message or body part. It
// accepts only the references RFC 4469 section 3 describes: no scheme,
// no server. Parameter names (";UID=", ";SECTION=", ...) are matched
// case-insensitively, as the RFC's own examples spell them both ways.
func ParseMessageURL(s string) (*MessageURL, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 && c != ' ' || c == 0x7f {
			return nil, ErrURLSyntax
		}
	}
	if hasScheme(s) || strings.HasPrefix(s, "//") {
		return nil, ErrURLNotLocal
	}
	if strings.ContainsAny(s, "?#") {
		// A search (imessagelist) or a fragment: not one message.
		return nil, ErrURLUnsupported
	}
	u := &MessageURL{}
	path, abs := strings.CutPrefix(s, "/")
	u.Relative = !abs
	semi := strings.IndexByte(path, ';')
	if semi < 0 {
		return nil, ErrURLNoMessage
	}
	mbox, rest := path[:semi], path[semi:]
	if v, ok := cutParam(rest, ";UIDVALIDITY="); ok {
		n, after, ok := leadingNumber(v)
		if !ok || n == 0 || mbox == "" {
			return nil, ErrURLSyntax
		}
		u.UIDValidity = n
		rest, ok = strings.CutPrefix(after, "/")
		if !ok {
			return nil, ErrURLNoMessage
		}
	} else if mbox != "" {
		// iuid = "/" iuid-only: the mailbox ends with the slash.
		var ok bool
		if mbox, ok = strings.CutSuffix(mbox, "/"); !ok || mbox == "" {
			return nil, ErrURLSyntax
		}
	} else if abs {
		// "/;UID=1": an empty mailbox name.
		return nil, ErrURLSyntax
	}
	if mbox != "" {
		name, err := percentDecode(mbox)
		if err != nil || !utf8.ValidString(name) || !validURLMailbox(name) {
			return nil, ErrURLSyntax
		}
		u.Mailbox = name
	}

	v, ok := cutParam(rest, ";UID=")
	if !ok {
		return nil, ErrURLNoMessage
	}
	n, rest, ok := leadingNumber(v)
	if !ok || n == 0 {
		return nil, ErrURLSyntax
	}
	u.UID = n
	if rest == "" {
		return u, nil
	}
	if v, ok := cutParam(rest, "/;SECTION="); ok {
		// enc-section may hold "/" but not ";": the section runs to the
		// next parameter.
		end := strings.IndexByte(v, ';')
		if end < 0 {
			end = len(v)
		} else if end == 0 || v[end-1] != '/' {
			return nil, ErrURLSyntax
		} else {
			end--
		}
		text, err := percentDecode(v[:end])
		if err != nil || text == "" {
			return nil, ErrURLSyntax
		}
		sec, err := ParseSection(text)
		if err != nil {
			return nil, ErrURLSyntax
		}
		u.Section = sec
		rest = v[end:]
	}
	if v, ok := cutParam(rest, "/;PARTIAL="); ok {
		p := &URLPartial{}
		var ok bool
		if p.Offset, v, ok = leadingNumber(v); !ok {
			return nil, ErrURLSyntax
		}
		if v, ok = strings.CutPrefix(v, "."); ok {
			if p.Length, v, ok = leadingNumber(v); !ok || p.Length == 0 {
				return nil, ErrURLSyntax
			}
			p.HasLength = true
		}
		u.Partial = p
		rest = v
	}
	switch {
	case rest == "":
		return u, nil
	case hasParamPrefix(rest, ";EXPIRE=") || hasParamPrefix(rest, ";URLAUTH="):
		return nil, ErrURLUnsupported
	}
	return nil, ErrURLSyntax
}

// hasScheme reports whether s starts with a URI scheme and ":" (RFC 3986
// section 3.1).
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// hasParamPrefix reports whether s starts with the parameter name p,
// ignoring ASCII case.
func hasParamPrefix(s, p string) bool {
	return len(s) >= len(p) && asciiEqualFold(s[:len(p)], p)
}

// cutParam returns s without the leading parameter name p (upper case),
// matched case-insensitively.
func cutParam(s, p string) (string, bool) {
	if !hasParamPrefix(s, p) {
		return s, false
	}
	return s[len(p):], true
}

// leadingNumber reads the 32-bit number at the start of s.
func leadingNumber(s string) (n uint32, rest string, ok bool) {
	i := 0
	var v uint64
	for i < len(s) && isDigit(s[i]) {
		v = v*10 + uint64(s[i]-'0')
		if v > math.MaxUint32 {
			return 0, s, false
		}
		i++
	}
	if i == 0 || (s[0] == '0' && i > 1) {
		return 0, s, false
	}
	return uint32(v), s[i:], true
}

// percentDecode undoes %-escapes (RFC 3986 section 2.1).
func percentDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", ErrURLSyntax
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", ErrURLSyntax
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validURLMailbox refuses names no mailbox has: control characters, and
// the dot segments RFC 5092 section 7 keeps out of enc-mailbox (a
// resolver would otherwise have to climb the hierarchy).
func validURLMailbox(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return false
		}
	}
	return true
}

// ParseSection parses a section-spec as in BODY[section] (RFC 9051
// section 9), without the brackets: "1.2.MIME", "HEADER.FIELDS (From)".
func ParseSection(s string) (sec *Section, err error) {
	if len(s) > maxURLLength {
		return nil, &Error{Text: "section too long"}
	}
	// No stream behind the line: a literal in the section ends it.
	r := &Reader{br: bufio.NewReader(strings.NewReader("")), line: []byte("[" + s + "]"), opts: Options{}.withDefaults()}
	defer func() {
		switch x := recover().(type) {
		case nil:
		case *Error:
			sec, err = nil, x
		case ioError:
			sec, err = nil, &Error{Text: "literal in section"}
		default:
			panic(x)
		}
	}()
	sec = r.section(false)
	if r.more() {
		r.fail("unexpected characters after section")
	}
	return sec, nil
}

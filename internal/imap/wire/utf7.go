package wire

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 for mailbox names of IMAP4rev1 clients (RFC 3501 section
// 5.1.3): printable US-ASCII other than "&" stands for itself, "&-" is "&",
// and every other run of characters is UTF-16 in modified base64 (with ","
// for "/", no padding) between "&" and "-".

// mbase64 is the modified base64 alphabet.
const mbase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// Errors of DecodeMailboxUTF7 and DecodeMailbox.
var (
	ErrInvalidUTF7 = errors.New("invalid modified UTF-7 in mailbox name")
	ErrInvalidUTF8 = errors.New("invalid UTF-8 in mailbox name")
)

// isPrintableASCII reports whether c represents itself in modified UTF-7.
func isPrintableASCII(c rune) bool { return 0x20 <= c && c <= 0x7e }

// EncodeMailboxUTF7 encodes a UTF-8 mailbox name in modified UTF-7 (RFC 3501
// section 5.1.3). Invalid UTF-8 is encoded as U+FFFD.
func EncodeMailboxUTF7(name string) string {
	i := 0
	for i < len(name) && isPrintableASCII(rune(name[i])) && name[i] != '&' {
		i++
	}
	if i == len(name) {
		return name
	}
	b := make([]byte, 0, len(name)+len(name)/2+8)
	b = append(b, name[:i]...)
	for i < len(name) {
		if c := name[i]; isPrintableASCII(rune(c)) {
			b = append(b, c)
			if c == '&' {
				b = append(b, '-')
			}
			i++
			continue
		}
		// A maximal run of other characters, so that encoded runs are
		// never adjacent.
		b = append(b, '&')
		var bits uint32
		nbits := 0
		push := func(u uint16) {
			bits = bits<<16 | uint32(u)
			nbits += 16
			for nbits >= 6 {
				nbits -= 6
				b = append(b, mbase64[bits>>nbits&0x3f])
			}
		}
		for i < len(name) && !isPrintableASCII(rune(name[i])) {
			r, size := utf8.DecodeRuneInString(name[i:])
			i += size
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				push(uint16(r1))
				push(uint16(r2))
			} else {
				push(uint16(r))
			}
		}
		if nbits > 0 {
			b = append(b, mbase64[bits<<(6-nbits)&0x3f])
		}
		b = append(b, '-')
	}
	return string(b)
}

// mbase64Value returns the value of a modified base64 character, or -1.
func mbase64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == ',':
		return 63
	}
	return -1
}

// DecodeMailboxUTF7 decodes a modified UTF-7 mailbox name to UTF-8, refusing
// malformed input.
//
// Only the canonical form is accepted, as RFC 3501 section 5.1.3 requires:
// octets outside 0x20-0x7e, base64 of printable US-ASCII, a "&" not closed
// by "-", null shifts (an encoded run right after another, "-&"), superfluous
// base64 characters or non-zero padding bits, and UTF-16 that is not valid
// (unpaired surrogates) are all errors. So for every accepted name,
// EncodeMailboxUTF7 gives back exactly the input.
func DecodeMailboxUTF7(name string) (string, error) {
	i := 0
	for i < len(name) && isPrintableASCII(rune(name[i])) && name[i] != '&' {
		i++
	}
	if i == len(name) {
		return name, nil
	}
	b := make([]byte, 0, len(name))
	b = append(b, name[:i]...)
	for i < len(name) {
		c := name[i]
		if !isPrintableASCII(rune(c)) {
			return "", ErrInvalidUTF7
		}
		i++
		if c != '&' {
			b = append(b, c)
			continue
		}
		if i < len(name) && name[i] == '-' {
			b = append(b, '&')
			i++
			continue
		}
		var bits uint32
		nbits, units := 0, 0
		var high rune = -1 // a high surrogate waiting for its pair
		for ; i < len(name) && name[i] != '-'; i++ {
			v := mbase64Value(name[i])
			if v < 0 {
				return "", ErrInvalidUTF7
			}
			bits = bits<<6 | uint32(v)
			nbits += 6
			if nbits < 16 {
				continue
			}
			nbits -= 16
			u := rune(bits >> nbits & 0xffff)
			units++
			switch {
			case high >= 0:
				if !utf16.IsSurrogate(u) || u < 0xdc00 {
					return "", ErrInvalidUTF7
				}
				b = utf8.AppendRune(b, utf16.DecodeRune(high, u))
				high = -1
			case 0xd800 <= u && u < 0xdc00:
				high = u
			case utf16.IsSurrogate(u), isPrintableASCII(u):
				// A lone low surrogate, or a character that must
				// represent itself.
				return "", ErrInvalidUTF7
			default:
				b = utf8.AppendRune(b, u)
			}
		}
		if i == len(name) || units == 0 || high >= 0 || nbits >= 6 || bits&(1<<nbits-1) != 0 {
			return "", ErrInvalidUTF7
		}
		i++ // "-"
		if i+1 < len(name) && name[i] == '&' && name[i+1] != '-' || i+1 == len(name) && name[i] == '&' {
			// "-&": a null shift. ("&-" after a run is a literal "&".)
			return "", ErrInvalidUTF7
		}
	}
	return string(b), nil
}

func validUTF8(s string) bool { return utf8.ValidString(s) }

// DecodeMailbox turns a mailbox name as sent by the client into UTF-8: as is
// when utf8 (IMAP4rev2 or UTF8=ACCEPT), else from modified UTF-7 (RFC 9051
// section 5.1). Invalid UTF-8 is refused in both cases.
func DecodeMailbox(name string, utf8 bool) (string, error) {
	if utf8 {
		if !validUTF8(name) {
			return "", ErrInvalidUTF8
		}
		return name, nil
	}
	// Modified UTF-7 has no 8-bit octets, so a name with any is not
	// meant as UTF-7. Some IMAP4rev1 clients (go-imap, and so aerc) send
	// UTF-8 once the server offers IMAP4rev2; valid UTF-8 is unambiguous,
	// so it is taken as it is. A name that mixes both ("&" sequences and
	// 8-bit octets) is refused.
	if hasHighBit(name) {
		if !validUTF8(name) || strings.Contains(name, "&") {
			return "", ErrInvalidUTF8
		}
		return name, nil
	}
	return DecodeMailboxUTF7(name)
}

func hasHighBit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

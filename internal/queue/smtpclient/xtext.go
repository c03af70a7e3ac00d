package smtpclient

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// EncodeXtext encodes s as xtext (RFC 3461 section 4): octets "!" to "~"
// stand for themselves except "+" and "=", everything else is "+" and two
// upper-case hex digits.
func EncodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "+%02X", c)
		}
	}
	return b.String()
}

// encodeUTF8Addr encodes an address for ORCPT=utf-8;... (RFC 6533 section
// 3): utf-8-addr-unitext when the session has SMTPUTF8 (non-ASCII passes
// as UTF-8), else utf-8-addr-xtext (non-ASCII as \x{HEX}). In both, "+",
// "=", "\" and octets outside "!".."~" become \x{HEX}.
func encodeUTF8Addr(s string, unitext bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x{%X}`, r)
		case r >= '!' && r <= '~' && r != '+' && r != '=' && r != '\\':
			b.WriteRune(r)
		case r >= 0x80 && unitext:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\x{%X}`, r)
		}
	}
	return b.String()
}

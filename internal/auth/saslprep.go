package auth

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// ErrSASLprep: a string cannot be prepared with SASLprep (it holds a
// prohibited character or breaks the bidirectional rule).
var ErrSASLprep = errors.New("auth: string is not allowed by SASLprep")

// SASLprep prepares a password for SCRAM (RFC 5802 section 2.2 calls it
// Normalize): the SASLprep profile of stringprep (RFC 4013, RFC 3454).
//
// It treats the string as a query (RFC 3454 section 7): unassigned code
// points pass. Stringprep is tied to Unicode 3.2; NFKC and the bidi
// classes here come from a current Unicode, which gives the same result
// for every character Unicode 3.2 had. Printable ASCII, which nearly all
// passwords are, comes out unchanged.
func SASLprep(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrSASLprep
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return s, nil
	}
	// RFC 4013 section 2.1: map non-ASCII spaces to SPACE and the
	// "commonly mapped to nothing" characters to nothing.
	var b strings.Builder
	for _, r := range s {
		switch {
		case mappedToNothing(r):
		case nonASCIISpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	// Section 2.2: normalization form KC.
	out := norm.NFKC.String(b.String())
	// Sections 2.3 and 2.4.
	var randAL, l bool
	for _, r := range out {
		if prohibited(r) {
			return "", ErrSASLprep
		}
		switch p, _ := bidi.LookupRune(r); p.Class() {
		case bidi.R, bidi.AL:
			randAL = true
		case bidi.L:
			l = true
		}
	}
	if randAL {
		// RFC 3454 section 6: no LCat with RandALCat, and RandALCat first
		// and last.
		first, _ := utf8.DecodeRuneInString(out)
		last, _ := utf8.DecodeLastRuneInString(out)
		if l || !isRandAL(first) || !isRandAL(last) {
			return "", ErrSASLprep
		}
	}
	return out, nil
}

func isRandAL(r rune) bool {
	p, _ := bidi.LookupRune(r)
	return p.Class() == bidi.R || p.Class() == bidi.AL
}

// mappedToNothing is RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch r {
	case 0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return r >= 0xFE00 && r <= 0xFE0F
}

// nonASCIISpace is RFC 3454 table C.1.2.
func nonASCIISpace(r rune) bool {
	switch r {
	case 0x00A0, 0x1680, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200B
}

// prohibited is RFC 4013 section 2.3: RFC 3454 tables C.1.2, C.2.1,
// C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 and C.9.
func prohibited(r rune) bool {
	switch {
	case nonASCIISpace(r): // C.1.2
		return true
	case r < 0x20 || r == 0x7F: // C.2.1
		return true
	case r >= 0x80 && r <= 0x9F, r == 0x06DD, r == 0x070F, r == 0x180E, r == 0x200C, r == 0x200D,
		r == 0x2028, r == 0x2029, r >= 0x2060 && r <= 0x2063, r >= 0x206A && r <= 0x206F, r == 0xFEFF,
		r >= 0xFFF9 && r <= 0xFFFC, r >= 0x1D173 && r <= 0x1D17A: // C.2.2
		return true
	case r >= 0xE000 && r <= 0xF8FF, r >= 0xF0000 && r <= 0xFFFFD, r >= 0x100000 && r <= 0x10FFFD: // C.3
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE: // C.4
		return true
	case r >= 0xD800 && r <= 0xDFFF: // C.5
		return true
	case r >= 0xFFF9 && r <= 0xFFFD: // C.6
		return true
	case r >= 0x2FF0 && r <= 0x2FFB: // C.7
		return true
	case r == 0x0340, r == 0x0341, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E: // C.8 (206A-206F above)
		return true
	case r == 0xE0001, r >= 0xE0020 && r <= 0xE007F: // C.9
		return true
	}
	return false
}

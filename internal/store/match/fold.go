// Package match evaluates store.SearchCriteria against one message. Every
// store backend shares it, so that SEARCH means the same everywhere; a
// backend may filter candidates first (in SQL, say) with conditions that
// are implied by the criteria, then confirm here.
//
// String comparison is what RFC 9051 section 6.4.4 asks of SEARCH:
// case-insensitive substring matching. "Case-insensitive" here is Unicode
// simple case folding (not only ASCII) after NFC normalization, so "Ä"
// finds "ä" and a decomposed "a\u0308" alike. Backends that store folded
// text (for header fields searched often) must fold it with Fold.
package match

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FoldVersion changes whenever Fold's output changes for some input, so
// that stores holding folded text know to recompute it.
const FoldVersion = 1

// Fold returns s NFC-normalized and case-folded: each rune is replaced by
// one representative of its simple case folding orbit (the lowest lower
// case member, else the lowest member). Invalid UTF-8 bytes become U+FFFD.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return foldASCII(s)
	}
	return string(foldAppend(nil, []byte(norm.NFC.String(s))))
}

func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// foldAppend appends the case folding of the UTF-8 text p to dst. It does
// not normalize.
func foldAppend(dst, p []byte) []byte {
	for len(p) > 0 {
		c := p[0]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			p = p[1:]
			continue
		}
		r, n := utf8.DecodeRune(p)
		p = p[n:]
		dst = utf8.AppendRune(dst, foldRune(r))
	}
	return dst
}

// foldRune picks the representative of r's simple folding orbit.
func foldRune(r rune) rune {
	best, bestLower := r, unicode.IsLower(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lower := unicode.IsLower(f)
		if lower && !bestLower || lower == bestLower && f < best {
			best, bestLower = f, lower
		}
	}
	return best
}

package mime

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// lookupCharset finds the decoder for a MIME charset name. It returns
// (nil, true) for UTF-8 and US-ASCII, which are read leniently by
// appendLenientUTF8 (8-bit bytes in a US-ASCII part are, in practice, UTF-8
// or Windows-1252), and (nil, false) for a charset nobody knows.
//
// The WHATWG index comes first because it carries the aliases real mail uses
// (iso-8859-1 read as windows-1252, gb2312 as gbk, ...); the IANA index fills
// in names the web never adopted.
func lookupCharset(name string) (encoding.Encoding, bool) {
	name = strings.TrimSpace(name)
	// RFC 2231 section 5: "charset*language" in encoded words.
	if i := strings.IndexByte(name, '*'); i >= 0 {
		name = name[:i]
	}
	name = strings.Trim(name, "\"' \t")
	if name == "" {
		return nil, false
	}
	switch strings.ToLower(name) {
	case "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso-646-us", "us", "x-unknown", "unknown-8bit", "default":
		return nil, true
	}
	if e, err := htmlindex.Get(name); err == nil && e != encoding.Replacement {
		return e, true
	}
	if e, err := ianaindex.MIME.Encoding(name); err == nil && e != nil && e != encoding.Replacement {
		return e, true
	}
	return nil, false
}

// decodeCharset converts b from charset cs to UTF-8. Unknown charsets are
// read leniently (UTF-8, else Windows-1252); the result is always valid
// UTF-8.
func decodeCharset(dst []byte, b []byte, cs string) []byte {
	e, _ := lookupCharset(cs)
	if e == nil {
		return appendLenientUTF8(dst, b)
	}
	out, err := e.NewDecoder().Bytes(b)
	if err != nil {
		return appendLenientUTF8(dst, b)
	}
	return appendLenientUTF8(dst, out)
}

// charsetTransformer returns a transformer from charset cs to UTF-8.
func charsetTransformer(cs string) transform.Transformer {
	if e, _ := lookupCharset(cs); e != nil {
		// The decoders of x/text emit U+FFFD for invalid input, so their
		// output is valid UTF-8.
		return e.NewDecoder()
	}
	return lenientUTF8{}
}

// appendLenientUTF8 appends b to dst, keeping valid UTF-8 sequences and
// reading every other byte as Windows-1252 (a superset of Latin-1's
// printable range), so the result is valid UTF-8.
func appendLenientUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		// Fast path: the longest valid prefix.
		i := 0
		for i < len(b) && b[i] < utf8.RuneSelf {
			i++
		}
		dst = append(dst, b[:i]...)
		b = b[i:]
		if len(b) == 0 {
			break
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			dst = utf8.AppendRune(dst, charmap.Windows1252.DecodeByte(b[0]))
			b = b[1:]
			continue
		}
		dst = append(dst, b[:n]...)
		b = b[n:]
	}
	return dst
}

// lenientString returns s as valid UTF-8, per appendLenientUTF8.
func lenientString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendLenientUTF8(make([]byte, 0, len(s)+8), []byte(s)))
}

// lenientUTF8 is the streaming form of appendLenientUTF8.
type lenientUTF8 struct{ transform.NopResetter }

func (lenientUTF8) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c < utf8.RuneSelf {
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = c
			nDst++
			nSrc++
			continue
		}
		if !utf8.FullRune(src[nSrc:]) && !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		r, n := utf8.DecodeRune(src[nSrc:])
		if r == utf8.RuneError && n <= 1 {
			r = charmap.Windows1252.DecodeByte(c)
			if nDst+utf8.RuneLen(r) > len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			nDst += utf8.EncodeRune(dst[nDst:], r)
			nSrc++
			continue
		}
		if nDst+n > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		copy(dst[nDst:], src[nSrc:nSrc+n])
		nDst += n
		nSrc += n
	}
	return nDst, nSrc, nil
}

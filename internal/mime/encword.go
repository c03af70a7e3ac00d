package mime

import (
	"encoding/base64"
	"strings"
)

// DecodeHeaderValue decodes RFC 2047 encoded words (any charset the charset
// indexes of golang.org/x/text know) into UTF-8; undecodable words stay as
// they are. Raw 8-bit input that is not valid UTF-8 is read as Windows-1252,
// the superset of Latin-1 that mail in the wild means by it.
//
// Leniencies, each seen in real mail: encoded words need not be separated
// from surrounding text by white space; adjacent encoded words in the same
// charset are decoded together, so a multi-byte character split across two
// words survives; B text with missing padding is accepted; a bad =XX in Q
// text stays literal.
func DecodeHeaderValue(v string) string {
	if !strings.Contains(v, "=?") {
		return lenientString(v)
	}
	var (
		out      = make([]byte, 0, len(v))
		pend     []byte // decoded bytes of adjacent words in pendCS
		pendCS   string
		i        int
		lastWord bool // the text just before i ended with an encoded word
	)
	flush := func() {
		if len(pend) > 0 {
			out = decodeCharset(out, pend, pendCS)
			pend = pend[:0]
		}
	}
	for i < len(v) {
		j := strings.Index(v[i:], "=?")
		if j < 0 {
			break
		}
		j += i
		cs, dec, end, ok := decodeWord(v, j, nil)
		if !ok {
			flush()
			out = appendLenientUTF8(out, []byte(v[i:j+2]))
			i = j + 2
			lastWord = false
			continue
		}
		// RFC 2047 section 6.2: linear white space between adjacent
		// encoded words is ignored.
		gap := v[i:j]
		if !(lastWord && isAllWSP(gap)) {
			flush()
			out = appendLenientUTF8(out, []byte(gap))
		}
		if !strings.EqualFold(cs, pendCS) {
			flush()
			pendCS = cs
		}
		pend = append(pend, dec...)
		i = end
		lastWord = true
	}
	flush()
	out = appendLenientUTF8(out, []byte(v[i:]))
	return string(out)
}

// decodeWord decodes the encoded word "=?charset?enc?text?=" at v[start:]
// (RFC 2047 section 2), appending the decoded bytes to dst. It reports the
// charset, the decoded bytes, the offset just past the word, and whether
// there was a decodable word at all.
func decodeWord(v string, start int, dst []byte) (cs string, dec []byte, end int, ok bool) {
	p := start + 2
	q := strings.IndexByte(v[p:], '?')
	if q <= 0 {
		return "", nil, 0, false
	}
	cs = v[p : p+q]
	if strings.ContainsAny(cs, " \t\r\n()<>@,;:\"/[]=") {
		return "", nil, 0, false
	}
	p += q + 1
	if p+2 > len(v) || v[p+1] != '?' {
		return "", nil, 0, false
	}
	enc := v[p] | 0x20
	p += 2
	e := strings.Index(v[p:], "?=")
	if e < 0 {
		return "", nil, 0, false
	}
	text := v[p : p+e]
	end = p + e + 2
	if strings.ContainsAny(text, " \t\r\n") {
		return "", nil, 0, false
	}
	if _, known := lookupCharset(cs); !known {
		return "", nil, 0, false
	}
	switch enc {
	case 'b':
		dec, ok = decodeB(dst, text)
		if !ok {
			return "", nil, 0, false
		}
	case 'q':
		dec = decodeQ(dst, text)
	default:
		return "", nil, 0, false
	}
	return cs, dec, end, true
}

// decodeB decodes RFC 2047 "B" text, tolerating missing padding.
func decodeB(dst []byte, text string) ([]byte, bool) {
	text = strings.TrimRight(text, "=")
	n := base64.RawStdEncoding.DecodedLen(len(text))
	dst = append(dst, make([]byte, n)...)
	buf := dst[len(dst)-n:]
	m, err := base64.RawStdEncoding.Decode(buf, []byte(text))
	if err != nil {
		return nil, false
	}
	return dst[:len(dst)-n+m], true
}

// decodeQ decodes RFC 2047 "Q" text (section 4.2): "_" is a space, "=XX" a
// byte; a malformed "=" is kept literally.
func decodeQ(dst []byte, text string) []byte {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '_':
			dst = append(dst, ' ')
		case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
			dst = append(dst, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isAllWSP(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

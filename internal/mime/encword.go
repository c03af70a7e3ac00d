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
		scan     textScan
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
		cs, dec, end, ok := decodeWord(v, j, nil, &scan)
		if !ok {
			// end is where the next candidate may start: past text
			// that can hold no word, which keeps this linear.
			flush()
			out = appendLenientUTF8(out, []byte(v[i:end]))
			i = end
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
// there was a decodable word at all. When there was none, end is the offset
// at which to look for the next one.
func decodeWord(v string, start int, dst []byte, scan *textScan) (cs string, dec []byte, end int, ok bool) {
	fail := start + 2
	p := start + 2
	// Charset names are short; RFC 2047 words are at most 75 bytes.
	q := strings.IndexByte(v[p:min(len(v), p+maxCharsetLen+1)], '?')
	if q <= 0 {
		return "", nil, fail, false
	}
	cs = v[p : p+q]
	if strings.ContainsAny(cs, " \t\r\n()<>@,;:\"/[]=") {
		return "", nil, fail, false
	}
	p += q + 1
	if p+2 > len(v) || v[p+1] != '?' {
		return "", nil, fail, false
	}
	enc := v[p] | 0x20
	p += 2
	// The text runs to "?=" and holds no white space. Without "?=" before
	// the next white space, no word starting before that space can end
	// either, so the search resumes there.
	e, found := scan.textEnd(v, p)
	if !found {
		return "", nil, e, false
	}
	text := v[p:e]
	end = e + 2
	if _, known := lookupCharset(cs); !known {
		return "", nil, fail, false
	}
	switch enc {
	case 'b':
		dec, ok = decodeB(dst, text)
		if !ok {
			return "", nil, fail, false
		}
	case 'q':
		dec = decodeQ(dst, text)
	default:
		return "", nil, fail, false
	}
	return cs, dec, end, true
}

// textScan remembers the last search for the end of an encoded word's
// text, so that candidates starting inside the same text (a hostile value
// full of "=?") do not search it again: every search starting in
// [from, at] ends at at.
type textScan struct {
	from, at int
	found    bool
	valid    bool
}

// textEnd returns the offset of the first "?=" at or after p, or, with
// found false, where the white space or end that stops the search is.
func (s *textScan) textEnd(v string, p int) (int, bool) {
	if s.valid && s.from <= p && p <= s.at {
		return s.at, s.found
	}
	e := p
	for e < len(v) {
		c := v[e]
		if c == '?' && e+1 < len(v) && v[e+1] == '=' {
			*s = textScan{from: p, at: e, found: true, valid: true}
			return e, true
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
		e++
	}
	*s = textScan{from: p, at: e, valid: true}
	return e, false
}

// maxCharsetLen bounds the charset name of an encoded word.
const maxCharsetLen = 64

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

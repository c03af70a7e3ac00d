package wire

// CatPart is one part of a CATENATE append-data (RFC 4469 section 5): the
// octets of a literal (TEXT), or those of the message or body part an
// IMAP URL names (URL).
type CatPart struct {
	// URL is a URL part's IMAP URL as sent; "" for a TEXT part.
	URL string
	// Text holds a TEXT part's octets; nil for a URL part. The command's
	// owner closes it (AppendMessage.Close).
	Text *Literal
	// Binary is true for a literal8 (RFC 3516) or UTF8 (RFC 6855)
	// TEXT part.
	Binary bool
}

// Limits of CATENATE. A URL part costs the server a message lookup and an
// open body each, so their number is bounded per command, not only by the
// line length; a URL longer than any real one is refused before it is
// parsed.
const (
	maxCatenateParts = 1000
	maxURLLength     = 4096
)

// catenateParts reads "(" cat-part *(SP cat-part) ")" after "CATENATE" SP
// (RFC 4469 section 5):
//
//	cat-part     = text-literal / url
//	text-literal = "TEXT" SP literal
//	url          = "URL" SP astring
//
// TEXT takes a literal8 too, and, as RFC 6855 section 4 extends cat-part,
// "UTF8" SP "(" literal8 ")". TEXT literals are message data: they count
// against MaxMessageSize and MaxAppendTotal like APPEND literals and may
// be spooled. total counts the parts of the whole command, which may hold
// several messages (MULTIAPPEND).
func (r *Reader) catenateParts(total *int) []CatPart {
	r.expect('(')
	var parts []CatPart
	for {
		if *total >= maxCatenateParts {
			r.refuse("LIMIT", "too many CATENATE parts")
		}
		*total++
		var buf [8]byte
		switch string(r.keyword(buf[:])) {
		case "TEXT":
			r.sp()
			binary := r.peek() == '~'
			l := r.messageLiteral(false)
			parts = append(parts, CatPart{Text: l, Binary: binary})
		case "UTF8":
			r.sp()
			r.expect('(')
			l := r.messageLiteral(true)
			parts = append(parts, CatPart{Text: l, Binary: true})
			r.expect(')')
		case "URL":
			r.sp()
			u := r.astring()
			if len(u) > maxURLLength {
				r.refuse("LIMIT", "URL too long")
			}
			if u == "" {
				r.fail("empty URL")
			}
			parts = append(parts, CatPart{URL: u})
		default:
			r.fail("expected TEXT or URL in CATENATE")
		}
		if r.takeIf(')') {
			return parts
		}
		r.sp()
	}
}

// Close releases the message's literals: its data, or its CATENATE text
// parts.
func (m *AppendMessage) Close() {
	if m.Data != nil {
		m.Data.Close()
	}
	for _, p := range m.Catenate {
		if p.Text != nil {
			p.Text.Close()
		}
	}
}

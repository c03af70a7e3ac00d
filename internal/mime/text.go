package mime

import (
	"io"
	"strings"

	"golang.org/x/text/transform"
)

// Text returns the body of leaf part p decoded from its transfer encoding
// and converted from its charset to UTF-8; the result is always valid UTF-8
// (invalid or undeclared 8-bit bytes are read as Windows-1252). For
// text/html it returns the text with markup removed (see htmlText). It is
// what SEARCH BODY matches against.
//
// Only text/* parts and message/* leaves (delivery-status and the like)
// have text; for any other part (images, archives, a multipart, an
// encapsulated message) the reader is empty.
func Text(r io.ReaderAt, p *Part) io.Reader {
	if !hasText(p) {
		return strings.NewReader("")
	}
	cs := ""
	if p.Type == "text" {
		cs = p.Param("charset")
	}
	var rd io.Reader = transform.NewReader(DecodedBody(r, p), charsetTransformer(cs))
	if p.Type == "text" && p.Subtype == "html" {
		rd = newHTMLText(rd)
	}
	return rd
}

// hasText reports whether Text has anything for p.
func hasText(p *Part) bool {
	switch p.Type {
	case "text":
		return true
	case "message":
		return p.Message == nil
	}
	return false
}

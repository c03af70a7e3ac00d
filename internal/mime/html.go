package mime

import (
	"html"
	"io"
	"unicode/utf8"
)

// htmlText turns an HTML document (UTF-8) into its text, streaming, for
// searching: tags, comments and declarations are removed, the content of
// script and style elements too; character references are decoded (the
// standard library's table); runs of white space become one space, and
// block-level elements (p, br, div, li, td, ...) one line break, so words
// of adjacent blocks do not run together. It does not build a tree and
// never fails on malformed markup.
type htmlText struct {
	src io.Reader
	in  []byte
	out []byte
	buf []byte // backing store of out

	state   htmlState
	tag     [16]byte // lower-case name of the tag being read
	ntag    int
	endTag  bool
	quote   byte   // quote character inside a tag, or 0
	raw     string // "script" or "style" while skipping its content
	rawPos  int    // bytes of "</"+raw matched so far
	dashes  int    // "-" seen in a comment
	ent     []byte // character reference being read, after "&"
	space   bool   // white space is pending
	newline bool   // a line break is pending
	started bool   // some text was written
	err     error
}

type htmlState uint8

const (
	hText     htmlState = iota
	hTagOpen            // after "<"
	hTagName            // reading the tag name
	hTag                // inside a tag, after its name
	hBang               // after "<!"
	hBangDash           // after "<!-"
	hComment            // inside <!-- -->
	hDecl               // inside <!...> or <?...>
	hRaw                // inside script or style
	hEntity             // after "&"
)

func newHTMLText(r io.Reader) *htmlText {
	return &htmlText{src: r, in: make([]byte, 4096)}
}

func (h *htmlText) Read(p []byte) (int, error) {
	for len(h.out) == 0 {
		if h.err != nil {
			return 0, h.err
		}
		n, err := h.src.Read(h.in)
		out := h.buf[:0]
		in := h.in[:n]
		for i := 0; i < len(in); {
			switch {
			case h.state == hText:
				// Fast path: a run of plain text.
				j := i
				for j < len(in) && !htmlTextSpecial(in[j]) {
					j++
				}
				if j > i {
					out = h.emit(out, in[i:j])
					i = j
					continue
				}
			case h.state == hTag && h.quote == 0:
				// Fast path: attributes up to a quote or the tag's end.
				j := i
				for j < len(in) && in[j] != '>' && in[j] != '"' && in[j] != '\'' {
					j++
				}
				if j > i {
					i = j
					continue
				}
			}
			out = h.step(out, in[i])
			i++
		}
		if err != nil {
			h.err = err
			if h.state == hEntity {
				out = h.flushEntity(out, false)
			}
		}
		h.out, h.buf = out, out[:0]
	}
	n := copy(p, h.out)
	h.out = h.out[n:]
	return n, nil
}

func htmlTextSpecial(c byte) bool {
	switch c {
	case '<', '&', ' ', '\t', '\r', '\n', '\f':
		return true
	}
	return false
}

// emit appends text, with pending white space collapsed before it.
func (h *htmlText) emit(out, b []byte) []byte {
	if h.started {
		if h.newline {
			out = append(out, '\n')
		} else if h.space {
			out = append(out, ' ')
		}
	}
	h.space, h.newline = false, false
	h.started = true
	return append(out, b...)
}

// step handles one byte in the current state.
func (h *htmlText) step(out []byte, c byte) []byte {
	switch h.state {
	case hText:
		switch c {
		case '<':
			h.state = hTagOpen
		case '&':
			h.state = hEntity
			h.ent = h.ent[:0]
		case ' ', '\t', '\r', '\n', '\f':
			h.space = true
		default:
			out = h.emit(out, []byte{c})
		}
	case hTagOpen:
		switch {
		case c == '/':
			h.endTag = true
			h.ntag = 0
			h.state = hTagName
		case c == '!':
			h.state = hBang
		case c == '?':
			h.state = hDecl
		case isAlnum(c):
			h.endTag = false
			h.ntag = 0
			h.state = hTagName
			return h.step(out, c)
		default:
			// Not a tag: "<" was text.
			h.state = hText
			out = h.emit(out, []byte{'<'})
			return h.step(out, c)
		}
	case hTagName:
		if isAlnum(c) {
			if h.ntag < len(h.tag) {
				h.tag[h.ntag] = c | 0x20
				h.ntag++
			}
			return out
		}
		h.state = hTag
		return h.step(out, c)
	case hTag:
		switch {
		case h.quote != 0:
			if c == h.quote {
				h.quote = 0
			}
		case c == '"' || c == '\'':
			h.quote = c
		case c == '>':
			h.endOfTag()
		}
	case hBang:
		if c == '-' {
			h.state = hBangDash
			return out
		}
		h.state = hDecl
		return h.step(out, c)
	case hBangDash:
		if c == '-' {
			h.state = hComment
			h.dashes = 0
			return out
		}
		h.state = hDecl
		return h.step(out, c)
	case hComment:
		switch {
		case c == '-':
			h.dashes++
		case c == '>' && h.dashes >= 2:
			h.state = hText
			h.space = true
		default:
			h.dashes = 0
		}
	case hDecl:
		if c == '>' {
			h.state = hText
		}
	case hRaw:
		// Look for "</script" or "</style".
		end := "</" + h.raw
		want := end[h.rawPos]
		switch {
		case c == want || want >= 'a' && c|0x20 == want:
			h.rawPos++
			if h.rawPos == len(end) {
				h.rawPos = 0
				h.raw = ""
				h.endTag = true
				h.ntag = 0
				h.quote = 0
				h.state = hTag
			}
		case c == '<':
			h.rawPos = 1
		default:
			h.rawPos = 0
		}
	case hEntity:
		if (isAlnum(c) || c == '#') && len(h.ent) < 32 {
			h.ent = append(h.ent, c)
			return out
		}
		out = h.flushEntity(out, c == ';')
		h.state = hText
		if c != ';' {
			return h.step(out, c)
		}
	}
	return out
}

// flushEntity decodes the character reference read so far.
func (h *htmlText) flushEntity(out []byte, semicolon bool) []byte {
	ref := "&" + string(h.ent)
	if semicolon {
		ref += ";"
	}
	s := html.UnescapeString(ref)
	h.ent = h.ent[:0]
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch r {
		case ' ', '\t', '\r', '\n', 0xa0: // &nbsp; is a space to a searcher
			h.space = true
		default:
			out = h.emit(out, []byte(s[:n]))
		}
		s = s[n:]
	}
	return out
}

// endOfTag acts on a complete tag.
func (h *htmlText) endOfTag() {
	h.state = hText
	name := string(h.tag[:h.ntag])
	if !h.endTag && (name == "script" || name == "style") {
		h.state = hRaw
		h.raw = name
		h.rawPos = 0
		return
	}
	// Inline tags (b, span, a) separate nothing: "<b>W</b>ord" is "Word".
	if isBlockTag(name) {
		h.newline = true
	}
}

// isBlockTag reports the elements after which text starts on a new line.
func isBlockTag(name string) bool {
	switch name {
	case "p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table",
		"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "title",
		"dd", "dt", "dl", "section", "article", "header", "footer", "nav",
		"form", "address", "body", "head", "html", "center", "caption",
		"figcaption":
		return true
	}
	return false
}

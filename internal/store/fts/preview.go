package fts

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"postfach/internal/mime"
)

// MaxPreview is the length of a preview in characters: RFC 8970 section
// 3.3 says a server SHOULD keep to 200 (and MUST NOT exceed 256).
const MaxPreview = 200

// maxPreviewRead bounds the decoded text read for a preview: enough for
// 200 characters after quoted lines and markup-only lines are skipped.
const maxPreviewRead = 64 << 10

// errPreviewDone stops reading once the preview is complete.
var errPreviewDone = errors.New("fts: preview complete")

// Preview returns the RFC 8970 preview of the message with MIME tree root,
// read from r: the start of its first text part that is not an attachment
// (text/plain or text/html, the HTML rendered to text; in a
// multipart/alternative, the first alternative, which is the plain one by
// convention), with white space collapsed to single spaces, quoted lines
// ("> ...") of plain text left out, and control and invisible formatting
// characters dropped; at most MaxPreview characters. It is "" for a message
// without such a part (only attachments, say), as section 3.2 asks.
func Preview(r io.ReaderAt, root *mime.Part) (string, error) {
	var text *mime.Part
	mime.Walk(root, func(p *mime.Part) error {
		if text != nil {
			return mime.SkipChildren
		}
		if p.Type == "text" && (p.Subtype == "plain" || p.Subtype == "html") && p.Disposition != "attachment" {
			text = p
		}
		return nil
	})
	if text == nil {
		return "", nil
	}
	pw := &previewWriter{quotes: text.Subtype == "plain", bol: true}
	br := bufio.NewReaderSize(io.LimitReader(mime.Text(r, text), maxPreviewRead), 4096)
	for {
		line, err := br.ReadSlice('\n')
		if pw.line(line, err == nil) {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return pw.String(), nil
}

// previewWriter collects normalized preview text.
type previewWriter struct {
	b      strings.Builder
	n      int  // characters written
	space  bool // white space is pending
	quotes bool // leave out quoted lines
	bol    bool // at the beginning of a line
	quoted bool // the current line is quoted
}

// line takes a piece of a line (the whole line when complete is true) and
// reports whether the preview is full.
func (w *previewWriter) line(p []byte, complete bool) bool {
	if w.bol {
		t := bytes.TrimLeft(p, " \t")
		w.quoted = w.quotes && len(t) > 0 && t[0] == '>'
	}
	w.bol = complete
	if w.quoted {
		return false
	}
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		p = p[size:]
		switch {
		case unicode.IsSpace(r):
			w.space = w.n > 0
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '\u034f', r == utf8.RuneError && size == 1:
			// Invisible: zero-width joiners, soft hyphens and the
			// padding newsletters put after their teaser text.
		default:
			if w.space {
				if w.n+1 >= MaxPreview {
					return true
				}
				w.b.WriteByte(' ')
				w.n++
				w.space = false
			}
			w.b.WriteRune(r)
			w.n++
			if w.n >= MaxPreview {
				return true
			}
		}
	}
	// A line break is white space too.
	if complete {
		w.space = w.n > 0
	}
	return false
}

func (w *previewWriter) String() string { return w.b.String() }

package fts

import (
	"errors"
	"io"
	"strings"

	"postfach/internal/mime"
	"postfach/internal/store/match"
)

// MaxText bounds the text kept of one message, over its header, body and
// file names together. A longer message (a large log or listing sent as
// text) is indexed up to here and marked Truncated.
const MaxText = 1 << 20

// Document is the searchable text of one message, each field folded with
// match.Fold.
type Document struct {
	// Header is the header section of the message and of every message
	// encapsulated in it, as "Name: value" lines with encoded words
	// decoded: what SEARCH TEXT matches besides the body.
	Header string
	// Body is the text of every part that has text, decoded from its
	// transfer encoding and charset, HTML rendered to text: what SEARCH
	// BODY matches.
	Body string
	// Names holds the decoded file names of the parts, one per line.
	Names string
	// Truncated is set when the message had more text than MaxText:
	// the fields hold a prefix of it.
	Truncated bool
}

// Size is the length of the document's text in bytes.
func (d *Document) Size() int { return len(d.Header) + len(d.Body) + len(d.Names) }

// Text is the document as one string, for an index that takes one:
// Header, Body and Names, each but the last followed by a newline (which
// ShortNeedle relies on).
func (d *Document) Text() string {
	var b strings.Builder
	b.Grow(d.Size() + 2)
	b.WriteString(d.Header)
	b.WriteByte('\n')
	b.WriteString(d.Body)
	b.WriteByte('\n')
	b.WriteString(d.Names)
	return b.String()
}

// errFull stops a walk once the limit is reached.
var errFull = errors.New("fts: text limit reached")

// capWriter keeps at most max bytes; beyond, it fails with errFull.
type capWriter struct {
	buf  []byte
	max  int
	full bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := w.max - len(w.buf)
	if len(p) > room {
		w.buf = append(w.buf, p[:max(room, 0)]...)
		w.full = true
		return room, errFull
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Extract reads the Document of the message with MIME tree root from r.
// It reads at most about MaxText bytes of decoded text; the cost of a
// large attachment that is not text is only that of walking its part.
func Extract(r io.ReaderAt, root *mime.Part) (Document, error) {
	var d Document
	budget := MaxText
	field := func(opts mime.TextOptions) (string, error) {
		w := &capWriter{max: budget}
		err := mime.WriteSearchText(w, r, root, opts)
		if err != nil && !errors.Is(err, errFull) {
			return "", err
		}
		if w.full {
			d.Truncated = true
		}
		s := match.Fold(string(w.buf))
		budget -= len(w.buf)
		return s, nil
	}
	var err error
	if d.Header, err = field(mime.TextOptions{Headers: true}); err != nil {
		return d, err
	}
	if d.Body, err = field(mime.TextOptions{Bodies: true}); err != nil {
		return d, err
	}
	if d.Names, err = field(mime.TextOptions{Filenames: true}); err != nil {
		return d, err
	}
	return d, nil
}

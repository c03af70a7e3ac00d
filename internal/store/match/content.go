package match

import (
	"fmt"
	"io"
	"strings"

	"postfach/internal/mime"
)

// BlobContent is the Content of a stored message read from its body: r is
// the message as stored and root its parsed MIME tree. Backends use it for
// whatever they do not keep in columns.
type BlobContent struct {
	r      io.ReaderAt
	root   *mime.Part
	fields []mime.Field
	read   bool
}

// NewBlobContent returns the Content of the message in r.
func NewBlobContent(r io.ReaderAt, root *mime.Part) *BlobContent {
	return &BlobContent{r: r, root: root}
}

func (b *BlobContent) header() ([]mime.Field, error) {
	if !b.read {
		f, err := mime.ReadHeader(b.r, b.root)
		if err != nil {
			return nil, err
		}
		b.fields, b.read = f, true
	}
	return b.fields, nil
}

// Header implements Content.
func (b *BlobContent) Header(name string) ([]string, error) {
	fields, err := b.header()
	if err != nil {
		return nil, err
	}
	var vals []string
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			vals = append(vals, Fold(mime.DecodeHeaderValue(f.Value())))
		}
	}
	return vals, nil
}

// WriteHeader implements Content: each field as "Name: decoded value".
func (b *BlobContent) WriteHeader(w io.Writer) error {
	fields, err := b.header()
	if err != nil {
		return err
	}
	return writeFields(w, fields)
}

func writeFields(w io.Writer, fields []mime.Field) error {
	for _, f := range fields {
		if _, err := fmt.Fprintf(w, "%s: %s\n", f.Name, mime.DecodeHeaderValue(f.Value())); err != nil {
			return err
		}
	}
	return nil
}

// WriteBody implements Content. What counts as body text: every text/*
// leaf part, decoded from its transfer encoding and charset (HTML without
// markup), and the header of every encapsulated message. Other leaves
// (images, archives, ...) hold no text a person would search for and are
// skipped.
func (b *BlobContent) WriteBody(w io.Writer) error {
	return mime.Walk(b.root, func(p *mime.Part) error {
		if p != b.root && p.Envelope != nil {
			// The root of an encapsulated message: its header is text.
			fields, err := mime.ReadHeader(b.r, p)
			if err != nil {
				return err
			}
			if err := writeFields(w, fields); err != nil {
				return err
			}
		}
		if len(p.Parts) > 0 || p.Message != nil || p.Type != "text" {
			return nil
		}
		_, err := io.Copy(w, mime.Text(b.r, p))
		return err
	})
}

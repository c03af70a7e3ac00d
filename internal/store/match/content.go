package match

import (
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

// WriteHeader implements Content: the header fields of the message and of
// each encapsulated message, decoded, as "Name: value" lines.
func (b *BlobContent) WriteHeader(w io.Writer) error {
	return mime.WriteSearchText(w, b.r, b.root, mime.TextOptions{Headers: true})
}

// WriteBody implements Content: the decoded text of every part that has
// text (text/*, message/* leaves; HTML without markup). Images, archives
// and the like hold no text a person would search for and are skipped.
func (b *BlobContent) WriteBody(w io.Writer) error {
	return mime.WriteSearchText(w, b.r, b.root, mime.TextOptions{Bodies: true})
}

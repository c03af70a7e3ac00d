package mime

import (
	"bufio"
	"io"
)

// TextOptions selects what WriteSearchText writes.
type TextOptions struct {
	// Headers: every header field of the message and of each encapsulated
	// message, as "Name: value" lines with RFC 2047 words decoded.
	Headers bool
	// Bodies: the Text of every leaf that has text (text/*, message/*).
	Bodies bool
	// Filenames: the file name of every part that has one, decoded.
	Filenames bool
}

// WriteSearchText writes the searchable text of the message with root p,
// read from r, to w as UTF-8: what SEARCH TEXT (Headers and Bodies) or
// SEARCH BODY (Bodies) match against, and what a full-text index would take
// in. Parts are separated by a line break, so a match cannot span two of
// them. It streams: bodies are never held in memory whole. An error from w
// stops it and is returned, so a matcher can stop early at its first match
// by failing the write with an error of its own.
func WriteSearchText(w io.Writer, r io.ReaderAt, p *Part, opts TextOptions) error {
	bw := bufio.NewWriterSize(w, 8<<10)
	err := Walk(p, func(pt *Part) error {
		if opts.Headers && pt.Envelope != nil {
			fields, err := ReadHeader(r, pt)
			if err != nil {
				return err
			}
			for _, f := range fields {
				bw.WriteString(f.Name)
				bw.WriteString(": ")
				bw.WriteString(DecodeHeaderValue(f.Value()))
				if err := bw.WriteByte('\n'); err != nil {
					return err
				}
			}
		}
		if opts.Filenames {
			if name := pt.Filename(); name != "" {
				bw.WriteString(DecodeHeaderValue(name))
				if err := bw.WriteByte('\n'); err != nil {
					return err
				}
			}
		}
		if opts.Bodies && hasText(pt) && pt.Type != "multipart" {
			if _, err := bw.ReadFrom(Text(r, pt)); err != nil {
				return err
			}
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

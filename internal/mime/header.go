package mime

import (
	"bytes"
	"io"
	"iter"
	"strings"
)

// Field is one header field as it appears in the message.
type Field struct {
	Name string // as written, without the colon
	// Raw is the whole field: name, colon, value with its folding, and the
	// final CRLF.
	Raw []byte
}

// Value returns the unfolded value with leading and trailing white space
// removed, still undecoded.
func (f Field) Value() string {
	i := bytes.IndexByte(f.Raw, ':')
	if i < 0 {
		return ""
	}
	return string(trimWSP(unfold(nil, f.Raw[i+1:])))
}

// unfold appends v to dst without its line breaks: RFC 5322 section 2.2.3
// unfolds by removing each CRLF that is followed by white space; the final
// line break goes too. A bare LF counts as a line break.
func unfold(dst, v []byte) []byte {
	for len(v) > 0 {
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			return append(dst, v...)
		}
		line := v[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		dst = append(dst, line...)
		v = v[i+1:]
	}
	return dst
}

// trimWSP trims the white space of RFC 5322 (and stray line-break bytes)
// from both ends of b. Unlike bytes.TrimSpace it leaves 8-bit bytes alone.
func trimWSP(b []byte) []byte {
	for len(b) > 0 && isWSPorEOL(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWSPorEOL(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isWSPorEOL(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// fieldName splits the first line of a header field at its colon. It
// reports false for a line that is no field: no colon, an empty name, or a
// name with characters RFC 5322 section 3.6.8 excludes (controls, space).
// White space between name and colon is obsolete syntax (RFC 5322 section
// 4.5) and allowed.
func fieldName(line []byte) (name []byte, colon int, ok bool) {
	colon = bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, 0, false
	}
	name = line[:colon]
	end := len(name)
	for end > 0 && (name[end-1] == ' ' || name[end-1] == '\t') {
		end--
	}
	if end == 0 {
		return nil, 0, false
	}
	name = name[:end]
	for _, c := range name {
		if c <= ' ' || c == 0x7f {
			return nil, 0, false
		}
	}
	return name, colon, true
}

// ParseHeader parses a header section (up to and including its empty line
// if present). Lines that are not fields (no colon, invalid name) are
// skipped with their continuation lines; a last field without its CRLF is
// kept. Raw slices alias b.
func ParseHeader(b []byte) []Field {
	var fields []Field
	for name, raw := range HeaderFields(b) {
		fields = append(fields, Field{Name: string(name), Raw: raw})
	}
	return fields
}

// HeaderFields iterates over the fields of a header section as ParseHeader
// finds them, yielding each field's name (as written, without the colon)
// and its whole raw text, final CRLF included. Both alias b; nothing is
// allocated, for readers that look at a few fields of many messages (FETCH
// BODY[HEADER.FIELDS]).
func HeaderFields(b []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(name, raw []byte) bool) {
		start := -1 // start of the current field, -1 when none
		// end yields the field that ends at at, if any.
		end := func(at int) bool {
			if start < 0 {
				return true
			}
			name, _, _ := fieldName(b[start:at])
			s := start
			start = -1
			return yield(name, b[s:at:at])
		}
		for off := 0; off < len(b); {
			n := bytes.IndexByte(b[off:], '\n')
			next := len(b)
			if n >= 0 {
				next = off + n + 1
			}
			line := b[off:next]
			switch {
			case len(line) > 0 && (line[0] == ' ' || line[0] == '\t'):
				// Continuation of the current (or skipped) field.
			case isBlankLine(line):
				end(off)
				return
			default:
				if !end(off) {
					return
				}
				if _, _, ok := fieldName(line); ok {
					start = off
				}
			}
			off = next
		}
		end(len(b))
	}
}

// HeaderEnd returns where the body of a message whose first octets are b
// starts: just past the first empty line, as Parse sets the root's
// BodyStart. It reports false when b holds no empty line, or ends where
// one might start (after a line feed, or a line feed and CR): then the
// header ends beyond b, or, when b is the whole message, at its end.
func HeaderEnd(b []byte) (int64, bool) {
	for start := 0; ; {
		// start is the start of a line.
		switch rest := b[start:]; {
		case len(rest) == 0 || len(rest) == 1 && rest[0] == '\r':
			return 0, false
		case rest[0] == '\n':
			return int64(start + 1), true
		case rest[0] == '\r' && rest[1] == '\n':
			return int64(start + 2), true
		}
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return 0, false
		}
		start += i + 1
	}
}

// isBlankLine reports whether line is the empty line that ends a header:
// CRLF, or a bare LF.
func isBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// ReadHeader reads the header fields of part p from the message in r.
func ReadHeader(r io.ReaderAt, p *Part) ([]Field, error) {
	n := p.BodyStart - p.HeaderStart
	if n <= 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if err := readFullAt(r, b, p.HeaderStart); err != nil {
		return nil, err
	}
	return ParseHeader(b), nil
}

// readFullAt fills b from r at off.
func readFullAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// headerValue returns the value of the first field called name, unfolded
// and trimmed, or "".
func headerValue(fields []Field, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value()
		}
	}
	return ""
}

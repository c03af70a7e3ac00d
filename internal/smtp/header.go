package smtp

import (
	"bytes"
	"strings"
)

// maxHeaderSize bounds the header section read from a received message.
// Larger headers are refused: no mail needs them, and the verifier reads
// no more either (mailauth.DefaultMaxHeaderSize).
const maxHeaderSize = 1 << 20

// maxReceived is the count of Received fields taken as a mail loop (RFC
// 5321 section 6.3 suggests 100).
const maxReceived = 100

// header is the header section of a received message.
type header struct {
	raw    []byte
	fields []field
}

// field is one header field: raw[start:end] is the whole field, with its
// folded lines and final CRLF.
type field struct {
	name       string
	start, end int
}

// readHeader reads the header section of sp.
func readHeader(sp *spooled) (*header, error) {
	n := sp.headerLen
	if n < 0 {
		n = sp.size // no empty line: all of it is header
	}
	if n > maxHeaderSize {
		return nil, errHeaderTooLarge
	}
	b := make([]byte, n)
	if _, err := sp.ReadAt(b, 0); err != nil && n > 0 {
		return nil, err
	}
	return parseHeader(b), nil
}

// parseHeader splits a header section into fields (RFC 5322 section
// 2.2). A line that is neither a field nor a continuation ends nothing
// and is skipped with its continuation lines; parsing stops at the empty
// line.
func parseHeader(b []byte) *header {
	h := &header{raw: b}
	cur := -1 // start of the field being read
	flush := func(end int) {
		if cur >= 0 {
			line := b[cur:end]
			i := bytes.IndexByte(line, ':')
			h.fields = append(h.fields, field{name: string(bytes.TrimRight(line[:i], " \t")), start: cur, end: end})
		}
		cur = -1
	}
	for off := 0; off < len(b); {
		next := len(b)
		if i := bytes.IndexByte(b[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		line := b[off:next]
		switch {
		case line[0] == ' ' || line[0] == '\t':
			// A continuation of the field before (or of a skipped line).
		case len(bytes.TrimRight(line, "\r\n")) == 0:
			flush(off)
			return h
		default:
			flush(off)
			if isFieldStart(line) {
				cur = off
			}
		}
		off = next
	}
	flush(len(b))
	return h
}

// isFieldStart reports whether line starts a field: a name of printable
// ASCII other than ":" (RFC 5322 section 3.6.8), then ":" (white space
// before it is obsolete syntax, section 4.5).
func isFieldStart(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// value returns a field's value, unfolded, with surrounding white space
// removed.
func (h *header) value(f field) string {
	raw := h.raw[f.start:f.end]
	i := bytes.IndexByte(raw, ':')
	v := raw[i+1:]
	v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
	return strings.TrimSpace(string(v))
}

// get returns the fields named name (case-insensitive).
func (h *header) get(name string) []field {
	var out []field
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f)
		}
	}
	return out
}

// has reports whether the header has a field named name.
func (h *header) has(name string) bool { return len(h.get(name)) > 0 }

// forgedResults returns the Authentication-Results fields that claim our
// authserv-id: RFC 8601 section 5 has a server remove them from mail it
// receives, so that only its own verdict speaks in its name.
func (h *header) forgedResults(hostname string) []field {
	var out []field
	for _, f := range h.get("Authentication-Results") {
		if strings.EqualFold(authservID(h.value(f)), hostname) {
			out = append(out, f)
		}
	}
	return out
}

// authservID returns the authserv-id of an Authentication-Results value
// (RFC 8601 section 2.2: the first token, comments skipped).
func authservID(v string) string {
	v = stripComments(v)
	v, _, _ = strings.Cut(v, ";")
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return ""
	}
	return strings.Trim(fields[0], `"`)
}

// stripComments removes RFC 5322 comments (nested parentheses, quoted
// pairs) from s.
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

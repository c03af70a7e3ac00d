package mime

import (
	"io"
	"time"
)

// This file fixes the package's API; the parser fills it in.

// Parse reads a whole message (CRLF line endings) from r and returns its
// MIME tree with offsets relative to the first byte read. It reads r to EOF
// and fails only when r fails. Limits protect against hostile input: MIME
// nesting deeper than MaxDepth and more than MaxParts parts are treated as
// opaque bodies.
func Parse(r io.Reader) (*Part, error) { panic("unimplemented") }

// Limits on hostile structure.
const (
	MaxDepth = 100
	MaxParts = 10000
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
func (f Field) Value() string { panic("unimplemented") }

// ReadHeader reads the header fields of part p from the message in r.
func ReadHeader(r io.ReaderAt, p *Part) ([]Field, error) { panic("unimplemented") }

// ParseHeader parses a header section (up to and including its empty line
// if present).
func ParseHeader(b []byte) []Field { panic("unimplemented") }

// DecodeHeaderValue decodes RFC 2047 encoded words (any charset the
// charset package knows) into UTF-8; undecodable words stay as they are.
// Raw 8-bit input that is not valid UTF-8 is read as Latin-1.
func DecodeHeaderValue(v string) string { panic("unimplemented") }

// ParseDate parses an RFC 5322 date, leniently (obsolete forms, missing
// seconds, named zones). It reports false when no date can be made of v.
func ParseDate(v string) (time.Time, bool) { panic("unimplemented") }

// ParseAddressList parses an address list leniently into IMAP's shape,
// keeping display names raw (undecoded).
func ParseAddressList(v string) []Address { panic("unimplemented") }

// DecodedBody returns the body of the leaf part p, undone from its
// Content-Transfer-Encoding (base64, quoted-printable; others as is).
// Errors in the encoding are skipped, not fatal.
func DecodedBody(r io.ReaderAt, p *Part) io.Reader { panic("unimplemented") }

// Text returns the body of leaf part p decoded from its transfer encoding
// and converted from its charset to UTF-8. For text/html it returns the
// text with markup removed. It is what SEARCH BODY matches against.
func Text(r io.ReaderAt, p *Part) io.Reader { panic("unimplemented") }

// Walk calls fn for p and every part below it, depth first, in IMAP part
// order; encapsulated messages are entered.
func Walk(p *Part, fn func(*Part) error) error { panic("unimplemented") }

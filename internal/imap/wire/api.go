// Package wire reads IMAP commands and writes IMAP responses (RFC 9051
// section 9, with RFC 3501 for IMAP4rev1 clients).
//
// This file fixes the package's API; the parser and encoder fill it in.
package wire

import (
	"bufio"
	"io"
	"time"
)

// Options limit what a Reader accepts. Zero fields take the defaults.
type Options struct {
	MaxLineLength  int   // bytes of a command line, literals excluded; default 64 KiB
	MaxLiteralSize int64 // literals other than APPEND messages; default 64 KiB
	MaxMessageSize int64 // APPEND message literals; default 64 MiB
	// MaxDiscard is the largest non-synchronizing literal ({n+}) the reader
	// skips to stay in sync after refusing it; a larger one is fatal (RFC
	// 7888 section 4). Default 2 * MaxMessageSize.
	MaxDiscard int64
	// MaxAppendMessages caps the messages of one MULTIAPPEND; default 1000.
	MaxAppendMessages int
	// SpoolDir holds APPEND literals larger than SpoolThreshold (default
	// 1 MiB); "" means os.TempDir().
	SpoolDir       string
	SpoolThreshold int64
}

// Error is a command the reader refused. The reader has consumed the rest of
// the command, so the next ReadCommand starts on a fresh command, unless
// Fatal is set.
type Error struct {
	Tag   string // "" when no tag could be read: answer untagged
	Code  string // response code without brackets, e.g. "TOOBIG"; may be ""
	Text  string // human-readable reason
	No    bool   // answer NO rather than BAD (a well-formed command over a limit)
	Fatal bool   // the stream cannot be resynchronised: send BYE and close
}

func (e *Error) Error() string { return e.Text }

// Reader reads commands from a client.
type Reader struct {
	br   *bufio.Reader
	opts Options
	cont func(text string) error
}

// NewReader returns a Reader on br. cont is called when a synchronizing
// literal may be sent: it must write "+ text" CRLF to the client and flush.
func NewReader(br *bufio.Reader, opts Options, cont func(text string) error) *Reader {
	panic("unimplemented")
}

// Reset switches the reader to a new stream (after STARTTLS or COMPRESS).
func (r *Reader) Reset(br *bufio.Reader) { r.br = br }

// ReadCommand reads one whole command, including its literals. It returns
// an *Error for a command it refuses, or the I/O error that ended the
// stream.
func (r *Reader) ReadCommand() (*Command, error) {
	panic("unimplemented")
}

// ReadLine reads one line without its CRLF (IDLE's DONE, SASL responses),
// refusing lines over MaxLineLength with an *Error.
func (r *Reader) ReadLine() ([]byte, error) {
	panic("unimplemented")
}

// Buffered reports how many bytes are buffered but not yet read: after
// STARTTLS it must be zero, or the client injected plaintext.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Literal is a literal's data, in memory or spooled to a temporary file.
type Literal struct {
	size int64
}

// Size is the literal's length in octets.
func (l *Literal) Size() int64 { return l.size }

// Open returns a reader over the data from its start.
func (l *Literal) Open() io.Reader { panic("unimplemented") }

// Close releases the data (removes a spooled file).
func (l *Literal) Close() error { panic("unimplemented") }

// NewLiteral wraps data held in memory (tests, and internal callers).
func NewLiteral(b []byte) *Literal { panic("unimplemented") }

// Writer writes responses. Errors are sticky: after the first failed write,
// every call does nothing, and Flush and Err return that error.
type Writer struct {
	bw   *bufio.Writer
	utf8 bool
	err  error
}

// NewWriter returns a Writer on bw.
func NewWriter(bw *bufio.Writer) *Writer { return &Writer{bw: bw} }

// Reset switches to a new stream (after STARTTLS or COMPRESS).
func (w *Writer) Reset(bw *bufio.Writer) { w.bw = bw }

// SetUTF8 allows UTF-8 in quoted strings (IMAP4rev2, or ENABLE UTF8=ACCEPT).
// Without it, strings with 8-bit octets are sent as literals.
func (w *Writer) SetUTF8(on bool) { w.utf8 = on }

// Raw writes s verbatim.
func (w *Writer) Raw(s string) { panic("unimplemented") }

// Byte writes one byte verbatim.
func (w *Writer) Byte(c byte) { panic("unimplemented") }

// SP writes one space.
func (w *Writer) SP() { panic("unimplemented") }

// CRLF ends a response line.
func (w *Writer) CRLF() { panic("unimplemented") }

// Number writes a decimal number.
func (w *Writer) Number(n uint64) { panic("unimplemented") }

// Atom writes s verbatim; the caller ensures it is a valid atom or flag.
func (w *Writer) Atom(s string) { panic("unimplemented") }

// String writes s as a quoted string when it can be quoted, else as a
// literal.
func (w *Writer) String(s string) { panic("unimplemented") }

// NString writes NIL for "", else String(s).
func (w *Writer) NString(s string) { panic("unimplemented") }

// AString writes s as an atom when it is a valid astring atom, else String(s).
func (w *Writer) AString(s string) { panic("unimplemented") }

// Literal writes {size} CRLF and then size octets from r; binary selects the
// literal8 form ~{size} (RFC 3516).
func (w *Writer) Literal(size int64, r io.Reader, binary bool) { panic("unimplemented") }

// Mailbox writes a mailbox name (UTF-8 internally): modified UTF-7 unless
// utf8, then as an astring.
func (w *Writer) Mailbox(name string, utf8 bool) { panic("unimplemented") }

// DateTime writes a quoted date-time, "dd-Mon-yyyy hh:mm:ss +zzzz".
func (w *Writer) DateTime(t time.Time) { panic("unimplemented") }

// Flush sends what is buffered.
func (w *Writer) Flush() error { panic("unimplemented") }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// EncodeMailboxUTF7 encodes a UTF-8 mailbox name in modified UTF-7 (RFC 3501
// section 5.1.3).
func EncodeMailboxUTF7(name string) string { panic("unimplemented") }

// DecodeMailboxUTF7 decodes a modified UTF-7 mailbox name to UTF-8, refusing
// malformed input.
func DecodeMailboxUTF7(name string) (string, error) { panic("unimplemented") }

// DecodeMailbox turns a mailbox name as sent by the client into UTF-8: as is
// when utf8 (IMAP4rev2 or UTF8=ACCEPT), else from modified UTF-7 (RFC 9051
// section 5.1). Invalid UTF-8 is refused in both cases.
func DecodeMailbox(name string, utf8 bool) (string, error) { panic("unimplemented") }

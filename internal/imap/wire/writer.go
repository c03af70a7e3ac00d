package wire

import (
	"bufio"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// maxQuoted is the longest string the Writer sends quoted; longer ones go as
// literals, which clients read without line-length limits.
const maxQuoted = 4096

// Writer writes responses. Errors are sticky: after the first failed write,
// every call does nothing, and Flush and Err return that error.
//
// The Writer does not check what it is given beyond what its methods
// document: callers build responses from the grammar of RFC 9051 section 9.
//
// A pooled Writer (NewPooledWriter) takes its buffer from a WriterPool when
// it starts writing and gives it back once Flush has sent everything: a
// connection that waits for its client holds no write buffer.
type Writer struct {
	bw   *bufio.Writer
	utf8 bool
	err  error
	// dst and pool are set in pooled mode; bw is then nil while nothing
	// is buffered.
	dst  io.Writer
	pool *WriterPool
}

// NewWriter returns a Writer on bw.
func NewWriter(bw *bufio.Writer) *Writer { return &Writer{bw: bw} }

// NewPooledWriter returns a Writer to dst that buffers in buffers lent by
// pool.
func NewPooledWriter(dst io.Writer, pool *WriterPool) *Writer {
	return &Writer{dst: dst, pool: pool}
}

// Reset switches to a new stream (after STARTTLS or COMPRESS), buffered
// by bw. Flush first: what a pooled Writer still buffers is dropped.
func (w *Writer) Reset(bw *bufio.Writer) {
	w.release()
	w.bw, w.dst, w.pool = bw, nil, nil
}

// ResetPooled switches to a new stream, dst, buffered by buffers from
// pool. Flush first: what a pooled Writer still buffers is dropped.
func (w *Writer) ResetPooled(dst io.Writer, pool *WriterPool) {
	w.release()
	w.bw, w.dst, w.pool = nil, dst, pool
}

// buf returns the buffer to write to, borrowing one in pooled mode.
func (w *Writer) buf() *bufio.Writer {
	if w.bw == nil {
		w.bw = w.pool.get(w.dst)
	}
	return w.bw
}

// release gives a pooled Writer's buffer back.
func (w *Writer) release() {
	if w.pool != nil && w.bw != nil {
		w.pool.put(w.bw)
		w.bw = nil
	}
}

// WriterPool lends write buffers to pooled Writers. The zero value lends
// buffers of DefaultWriteBuffer octets.
type WriterPool struct {
	// Size is the size of the buffers; 0 means DefaultWriteBuffer.
	Size int
	pool sync.Pool
}

// DefaultWriteBuffer is the size of a WriterPool's buffers by default: a
// typical response fits, and larger ones flush it as they go.
const DefaultWriteBuffer = 4096

func (p *WriterPool) get(dst io.Writer) *bufio.Writer {
	if bw, ok := p.pool.Get().(*bufio.Writer); ok {
		bw.Reset(dst)
		return bw
	}
	size := p.Size
	if size <= 0 {
		size = DefaultWriteBuffer
	}
	return bufio.NewWriterSize(dst, size)
}

func (p *WriterPool) put(bw *bufio.Writer) {
	bw.Reset(nil) // no reference keeps the connection alive
	p.pool.Put(bw)
}

// SetUTF8 allows UTF-8 in quoted strings (IMAP4rev2, or ENABLE UTF8=ACCEPT).
// Without it, strings with 8-bit octets are sent as literals.
func (w *Writer) SetUTF8(on bool) { w.utf8 = on }

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// Raw writes s verbatim.
func (w *Writer) Raw(s string) {
	if w.err != nil {
		return
	}
	_, w.err = w.buf().WriteString(s)
}

// Byte writes one byte verbatim.
func (w *Writer) Byte(c byte) {
	if w.err != nil {
		return
	}
	w.err = w.buf().WriteByte(c)
}

// SP writes one space.
func (w *Writer) SP() { w.Byte(' ') }

// CRLF ends a response line.
func (w *Writer) CRLF() { w.Raw("\r\n") }

// Number writes a decimal number.
func (w *Writer) Number(n uint64) {
	if w.err != nil {
		return
	}
	bw := w.buf()
	if n < 10 {
		w.err = bw.WriteByte('0' + byte(n))
		return
	}
	// AvailableBuffer lets strconv format in place, without allocating,
	// when there is room for the longest number.
	if bw.Available() < 20 {
		if w.err = bw.Flush(); w.err != nil {
			return
		}
	}
	_, w.err = bw.Write(strconv.AppendUint(bw.AvailableBuffer(), n, 10))
}

// Atom writes s verbatim; the caller ensures it is a valid atom or flag.
func (w *Writer) Atom(s string) { w.Raw(s) }

// String writes s as a quoted string when it can be quoted, else as a
// literal. It can be quoted when it has no NUL, CR or LF, no 8-bit octets
// unless SetUTF8(true) and they are valid UTF-8 (RFC 9051 section 4.3,
// QUOTED-CHAR), and is at most 4096 octets long.
//
// No IMAP string may hold NUL (RFC 9051 section 4.3.1): callers remove NULs
// from data such as header fields first; String does not alter its input.
func (w *Writer) String(s string) {
	if !w.quotable(s) {
		w.literalString(s)
		return
	}
	w.quoted(s)
}

// quotable reports whether s can be sent as a quoted string.
func (w *Writer) quotable(s string) bool {
	if len(s) > maxQuoted {
		return false
	}
	eightBit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n':
			return false
		case c >= 0x80:
			if !w.utf8 {
				return false
			}
			eightBit = true
		}
	}
	return !eightBit || utf8.ValidString(s)
}

// quoted writes s quoted, escaping quoted-specials.
func (w *Writer) quoted(s string) {
	if w.err != nil {
		return
	}
	bw := w.buf()
	bw.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			bw.WriteString(s[start:i])
			bw.WriteByte('\\')
			start = i
		}
	}
	bw.WriteString(s[start:])
	w.err = bw.WriteByte('"')
}

// literalString writes s as a synchronizing-form literal, {n} CRLF s: the
// only form a server sends (RFC 9051 section 4.3).
func (w *Writer) literalString(s string) {
	w.literalHeader(int64(len(s)), false)
	w.Raw(s)
}

// literalHeader writes {size} CRLF, or ~{size} CRLF for a literal8.
func (w *Writer) literalHeader(size int64, binary bool) {
	if binary {
		w.Byte('~')
	}
	w.Byte('{')
	w.Number(uint64(size))
	w.Raw("}\r\n")
}

// NString writes NIL for "", else String(s).
func (w *Writer) NString(s string) {
	if s == "" {
		w.Raw("NIL")
		return
	}
	w.String(s)
}

// AString writes s as an atom when it is a valid astring atom (1*ASTRING-CHAR,
// RFC 9051 section 9), else String(s). "NIL" in any case is quoted, so that a
// client does not take it for nil.
func (w *Writer) AString(s string) {
	if isAstringAtom(s) {
		w.Raw(s)
		return
	}
	w.String(s)
}

// isAstringAtom reports whether s can be sent as an atom where an astring
// is expected.
func isAstringAtom(s string) bool {
	if s == "" || asciiEqualFold(s, "NIL") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAstringChar(s[i]) {
			return false
		}
	}
	return true
}

// Literal writes {size} CRLF and then size octets from r; binary selects the
// literal8 form ~{size} (RFC 3516). If r ends early the stream is broken: the
// error io.ErrUnexpectedEOF becomes the Writer's.
func (w *Writer) Literal(size int64, r io.Reader, binary bool) {
	w.literalHeader(size, binary)
	if w.err != nil {
		return
	}
	n, err := io.CopyN(w.buf(), r, size)
	if err == io.EOF && n < size {
		err = io.ErrUnexpectedEOF
	}
	w.err = err
}

// LiteralBytes writes b as a literal, or a literal8 with binary.
func (w *Writer) LiteralBytes(b []byte, binary bool) {
	w.literalHeader(int64(len(b)), binary)
	if w.err != nil {
		return
	}
	_, w.err = w.buf().Write(b)
}

// LiteralAt writes size octets of r from off as a literal, or a literal8
// with binary, reading through buf. A buffer larger than the Writer's
// makes fewer reads and writes: bufio sends a write larger than its free
// space straight to the connection, as one TLS record of up to 16 KB
// instead of one per buffer. If r ends early the stream is broken: the
// error io.ErrUnexpectedEOF becomes the Writer's.
func (w *Writer) LiteralAt(size int64, r io.ReaderAt, off int64, binary bool, buf []byte) {
	w.literalHeader(size, binary)
	if len(buf) == 0 {
		buf = make([]byte, 4096)
	}
	for size > 0 && w.err == nil {
		bw := w.buf()
		b := buf[:min(int64(len(buf)), size)]
		n, err := r.ReadAt(b, off)
		if n < len(b) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			w.err = err
			return
		}
		_, w.err = bw.Write(b)
		off += int64(n)
		size -= int64(n)
	}
}

// Mailbox writes a mailbox name (UTF-8 internally): modified UTF-7 unless
// utf8, then as an astring.
func (w *Writer) Mailbox(name string, utf8 bool) {
	if !utf8 {
		name = EncodeMailboxUTF7(name)
	}
	w.AString(name)
}

// DateTime writes a quoted date-time, "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC
// 9051 section 9, date-time; the day is zero-padded, a form of 2DIGIT).
func (w *Writer) DateTime(t time.Time) {
	if w.err != nil {
		return
	}
	// Formatted in place, as Number does: a buffer of its own would
	// escape to the heap through bufio's Write.
	bw := w.buf()
	if bw.Available() < dateTimeLen {
		if w.err = bw.Flush(); w.err != nil {
			return
		}
	}
	_, w.err = bw.Write(appendDateTime(bw.AvailableBuffer(), t))
}

// dateTimeLen is the length of a quoted date-time.
const dateTimeLen = len(`"dd-Mon-yyyy hh:mm:ss +zzzz"`)

// appendDateTime appends t as a quoted date-time.
func appendDateTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	_, offset := t.Zone()
	year = max(0, min(year, 9999))
	b = append(b, '"')
	b = append2(b, day)
	b = append(b, '-')
	b = append(b, monthNames[3*(month-1)], monthNames[3*(month-1)+1]|0x20, monthNames[3*(month-1)+2]|0x20)
	b = append(b, '-')
	b = append2(b, year/100)
	b = append2(b, year%100)
	b = append(b, ' ')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	b = append2(b, sec)
	b = append(b, ' ')
	if offset < 0 {
		b = append(b, '-')
		offset = -offset
	} else {
		b = append(b, '+')
	}
	offset /= 60
	b = append2(b, min(offset/60, 99))
	b = append2(b, offset%60)
	return append(b, '"')
}

// append2 appends n (0-99) as two digits.
func append2(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// Flush sends what is buffered. A pooled Writer then gives its buffer
// back.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.bw == nil {
		return nil // pooled, nothing buffered
	}
	w.err = w.bw.Flush()
	if w.err == nil {
		w.release()
	}
	return w.err
}

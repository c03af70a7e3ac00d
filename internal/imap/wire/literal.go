package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
)

// litHeader is a literal announcement: {n}, {n+}, ~{n} or ~{n+} (RFC 9051
// section 4.3, RFC 7888, RFC 3516).
type litHeader struct {
	size     int64
	sync     bool // {n}: the client waits for a continuation request
	binary   bool // literal8 ~{n}
	overflow bool // the count does not fit a number64
}

// literalAtEnd finds a literal announced at the end of line. truncated says
// the line's start is missing (an overlong line's tail): a count running
// into the start is then unknown, reported as overflow.
func literalAtEnd(line []byte, truncated bool) (h litHeader, ok bool) {
	i := len(line) - 1
	if i < 0 || line[i] != '}' {
		return h, false
	}
	i--
	h.sync = true
	if i >= 0 && line[i] == '+' {
		h.sync = false
		i--
	}
	end := i + 1
	for i >= 0 && isDigit(line[i]) {
		i--
	}
	start := i + 1
	if start == end {
		return h, false
	}
	if i < 0 {
		if !truncated {
			return h, false
		}
		h.overflow = true
		return h, true
	}
	if line[i] != '{' {
		return h, false
	}
	h.binary = i > 0 && line[i-1] == '~'
	for _, c := range line[start:end] {
		d := int64(c - '0')
		if h.size > (math.MaxInt64-d)/10 {
			h.overflow = true
			return h, true
		}
		h.size = h.size*10 + d
	}
	return h, true
}

// literalHeader reads a literal announcement at the parse position, which
// must end the line.
func (r *Reader) literalHeader() litHeader {
	var h litHeader
	h.binary = r.takeIf('~')
	r.expect('{')
	h.size = int64(r.number64())
	h.sync = !r.takeIf('+')
	r.expect('}')
	if r.more() {
		r.fail("literal must end the line")
	}
	return h
}

// acceptLiteral tells the client to send a synchronizing literal.
func (r *Reader) acceptLiteral(h litHeader) {
	if !h.sync || r.cont == nil {
		return
	}
	if err := r.cont("Ready for literal data"); err != nil {
		panic(ioError{err})
	}
}

// literalString reads a literal other than an APPEND message into a string.
// Such literals may not be literal8, and may not hold NUL (RFC 9051 section
// 9, CHAR8).
func (r *Reader) literalString() string {
	h := r.literalHeader()
	if h.binary {
		r.fail("literal8 not allowed here")
	}
	if h.size > r.litBudget {
		r.fail("literal too large")
	}
	r.litBudget -= h.size
	r.acceptLiteral(h)

	var buf []byte
	if h.size <= 4096 {
		if int64(cap(r.scratch)) < h.size {
			r.scratch = make([]byte, 0, 4096)
		}
		buf = r.scratch[:h.size]
	} else {
		buf = make([]byte, h.size)
	}
	if _, err := io.ReadFull(r.br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		panic(ioError{err})
	}
	hasNUL := bytes.IndexByte(buf, 0) >= 0
	s := string(buf)
	r.nextLine()
	if hasNUL {
		r.fail("NUL in literal")
	}
	return s
}

// errSpool marks a failure to store a message on disk.
var errSpool = errors.New("spool failure")

// messageLiteral reads an APPEND message literal (RFC 9051 section 6.3.12),
// which must be a literal8 if binaryWanted is set. Over MaxMessageSize it is
// refused with NO [TOOBIG] (RFC 7889 section 4, RFC 4469 section 4.2) before
// the continuation, so that the client does not send it.
func (r *Reader) messageLiteral(binaryWanted bool) *Literal {
	h := r.literalHeader()
	if binaryWanted && !h.binary {
		r.fail("expected literal8")
	}
	if h.size > r.opts.MaxMessageSize {
		r.refuse("TOOBIG", "message too large")
	}
	if h.size > r.opts.MaxAppendTotal-r.appendTotal {
		r.refuse("LIMIT", "messages of APPEND too large together")
	}
	r.appendTotal += h.size
	r.acceptLiteral(h)

	l, hasNUL, err := r.readMessage(h.size, !h.binary)
	if err != nil && !errors.Is(err, errSpool) {
		panic(ioError{err})
	}
	if l != nil {
		r.literals = append(r.literals, l)
	}
	// Each message of a MULTIAPPEND starts a line budget of its own.
	r.lineBudget = r.opts.MaxLineLength
	r.nextLine()
	if err != nil {
		panic(&Error{No: true, Code: "UNAVAILABLE", Text: "cannot store message"})
	}
	if hasNUL {
		r.fail("NUL in message literal (use literal8)")
	}
	return l
}

// readMessage reads n octets of message data, in memory up to
// SpoolThreshold, else into an unlinked temporary file. checkNUL reports NUL
// octets in hasNUL. A spool failure (errSpool) still consumes the data, so
// that the stream stays in sync; other errors are the stream's.
func (r *Reader) readMessage(n int64, checkNUL bool) (l *Literal, hasNUL bool, err error) {
	if n <= r.opts.SpoolThreshold {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r.br, buf); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
		return NewLiteral(buf), checkNUL && bytes.IndexByte(buf, 0) >= 0, nil
	}

	f, path, spoolErr := createSpool(r.opts.SpoolDir)
	buf := make([]byte, 64<<10)
	remaining := n
	for remaining > 0 {
		chunk := buf[:min(remaining, int64(len(buf)))]
		k, err := r.br.Read(chunk)
		chunk = chunk[:k]
		remaining -= int64(k)
		if checkNUL && !hasNUL && bytes.IndexByte(chunk, 0) >= 0 {
			hasNUL = true
		}
		if spoolErr == nil && k > 0 {
			if _, werr := f.Write(chunk); werr != nil {
				spoolErr = werr
			}
		}
		if err != nil && remaining > 0 {
			if f != nil {
				removeSpool(f, path)
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
	}
	if spoolErr != nil {
		if f != nil {
			removeSpool(f, path)
		}
		return nil, false, errors.Join(errSpool, spoolErr)
	}
	return &Literal{size: n, file: f, path: path}, hasNUL, nil
}

// createSpool creates a temporary file for a message literal and unlinks it
// at once where the system allows, so that nothing is left behind even if
// the process dies; the open file keeps the data. path is the file's name
// when it could not be unlinked (Windows), "" otherwise.
func createSpool(dir string) (f *os.File, path string, err error) {
	f, err = os.CreateTemp(dir, "postfach-literal-*")
	if err != nil {
		return nil, "", err
	}
	if os.Remove(f.Name()) != nil {
		return f, f.Name(), nil
	}
	return f, "", nil
}

// removeSpool closes and removes a spool file that will not be used.
func removeSpool(f *os.File, path string) {
	f.Close()
	if path != "" {
		os.Remove(path)
	}
}

// Literal is a literal's data, in memory or spooled to a temporary file.
type Literal struct {
	size   int64
	data   []byte
	file   *os.File
	path   string // a spooled file still to remove on Close
	closed bool
}

// Size is the literal's length in octets.
func (l *Literal) Size() int64 { return l.size }

// Open returns a reader over the data from its start. Readers are
// independent: several may be open at once. After Close, reading fails.
func (l *Literal) Open() io.Reader {
	switch {
	case l.closed:
		return errReader{os.ErrClosed}
	case l.file != nil:
		return io.NewSectionReader(l.file, 0, l.size)
	}
	return bytes.NewReader(l.data)
}

// Close releases the data (removes a spooled file).
func (l *Literal) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	l.data = nil
	var err error
	if l.file != nil {
		err = l.file.Close()
		l.file = nil
	}
	if l.path != "" {
		if rerr := os.Remove(l.path); err == nil {
			err = rerr
		}
	}
	return err
}

// NewLiteral wraps data held in memory (tests, and internal callers).
func NewLiteral(b []byte) *Literal { return &Literal{size: int64(len(b)), data: b} }

// errReader is an io.Reader that fails.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

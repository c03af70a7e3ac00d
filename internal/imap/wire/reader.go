package wire

import (
	"bufio"
	"fmt"
	"io"
	"sync"
)

// Defaults for zero Options fields.
const (
	DefaultMaxLineLength     = 64 << 10
	DefaultMaxLiteralSize    = 64 << 10
	DefaultMaxMessageSize    = 64 << 20
	DefaultMaxAppendMessages = 1000
	DefaultSpoolThreshold    = 1 << 20
	// DefaultMaxAppendTotal is the smallest default of MaxAppendTotal; the
	// default is never below MaxMessageSize.
	DefaultMaxAppendTotal = 1 << 30
)

// Options limit what a Reader accepts. Zero fields take the defaults.
//
// Limits and how they end a command:
//
//   - MaxLineLength bounds each line of a command, CRLF and literal data
//     excluded. The lines of one command share that budget, except that every
//     message of an APPEND starts a fresh one (a MULTIAPPEND of many messages
//     has one line per message).
//   - MaxLiteralSize bounds each literal other than APPEND messages, and also
//     their sum within one command.
//   - MaxMessageSize bounds each APPEND message (NO [TOOBIG]); MaxAppendTotal
//     and MaxAppendMessages bound one APPEND as a whole (NO [LIMIT]).
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
	// MaxAppendTotal caps the octets of all messages of one APPEND, so that
	// a MULTIAPPEND cannot fill the spool directory; default the larger of
	// 1 GiB and MaxMessageSize.
	MaxAppendTotal int64
	// SpoolDir holds APPEND literals larger than SpoolThreshold (default
	// 1 MiB); "" means os.TempDir().
	SpoolDir       string
	SpoolThreshold int64
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = DefaultMaxLineLength
	}
	if o.MaxLiteralSize <= 0 {
		o.MaxLiteralSize = DefaultMaxLiteralSize
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxDiscard <= 0 {
		o.MaxDiscard = 2 * o.MaxMessageSize
	}
	if o.MaxAppendMessages <= 0 {
		o.MaxAppendMessages = DefaultMaxAppendMessages
	}
	if o.MaxAppendTotal <= 0 {
		o.MaxAppendTotal = max(DefaultMaxAppendTotal, o.MaxMessageSize)
	}
	if o.SpoolThreshold <= 0 {
		o.SpoolThreshold = DefaultSpoolThreshold
	}
	return o
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

// ioError carries an error of the underlying stream through a parser panic.
type ioError struct{ err error }

// tailSize is how many final octets of an overlong line the reader keeps to
// find a literal announced at its end.
const tailSize = 64

// Reader reads commands from a client.
//
// The parser works on one line at a time: a command is a line, or several
// lines joined by literals, each literal announced at the end of a line
// ({n}, {n+}, ~{n}, ~{n+}) and followed by its data and the next line.
// Syntax errors unwind the parser with a panic of *Error that ReadCommand
// recovers; it then skips what remains of the command, which it finds from
// the end of the current line alone: a non-synchronizing literal there is
// discarded with the line after it, a synchronizing one ends the command
// because the client waits for a continuation we do not send (RFC 9051
// section 2.2.1 note, section 7.6).
//
// Invariant: when the parser fails, the literal announced at the end of the
// current line, if any, has not been read yet.
//
// A pooled Reader (NewPooledReader) waits for the first octet of each
// command without a buffer, then borrows one from a ReaderPool for the
// command and gives it back when nothing more is buffered: a connection
// that waits for its client holds no read buffer.
type Reader struct {
	br   *bufio.Reader
	opts Options
	cont func(text string) error

	// pool is set in pooled mode; br is then nil between commands, and
	// reads from lead, which holds the octet that ended the wait.
	pool *ReaderPool
	lead leadReader

	line     []byte // current line of the command, without its line ending
	pos      int    // parse position in line
	overlong bool   // line exceeded its budget; line holds its start only
	tail     []byte // last octets of an overlong line, in tailBuf
	tailBuf  [tailSize]byte

	lineBudget  int   // octets the command's lines may still take
	litBudget   int64 // octets its non-message literals may still take
	appendTotal int64 // octets of APPEND messages so far
	tag         string
	literals    []*Literal // message literals of this command, closed on error

	scratch []byte // reused for literal strings and quoted strings with escapes
}

// NewReader returns a Reader on br. cont is called when a synchronizing
// literal may be sent: it must write "+ text" CRLF to the client and flush.
func NewReader(br *bufio.Reader, opts Options, cont func(text string) error) *Reader {
	return &Reader{br: br, opts: opts.withDefaults(), cont: cont}
}

// NewPooledReader returns a Reader on src whose buffers pool lends.
func NewPooledReader(src io.Reader, pool *ReaderPool, opts Options, cont func(text string) error) *Reader {
	r := &Reader{opts: opts.withDefaults(), cont: cont}
	r.ResetPooled(src, pool)
	return r
}

// Reset switches the reader to a new stream (after STARTTLS or COMPRESS),
// buffered by br. Take what is still buffered first (Pending).
func (r *Reader) Reset(br *bufio.Reader) {
	r.release(true)
	r.br, r.pool, r.lead = br, nil, leadReader{}
}

// ResetPooled switches the reader to a new stream, src, buffered by
// buffers from pool. Take what is still buffered first (Pending).
func (r *Reader) ResetPooled(src io.Reader, pool *ReaderPool) {
	r.release(true)
	r.br, r.pool, r.lead = nil, pool, leadReader{r: src}
}

// Buffered reports how many bytes are buffered but not yet read: after
// STARTTLS it must be zero, or the client injected plaintext.
func (r *Reader) Buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered() + r.lead.n
}

// Pending returns a copy of what is buffered but not yet read (the start
// of a compressed stream after COMPRESS).
func (r *Reader) Pending() []byte {
	n := r.Buffered()
	if n == 0 {
		return nil
	}
	out := make([]byte, 0, n)
	out = append(out, r.lead.b[:r.lead.n]...)
	b, _ := r.br.Peek(r.br.Buffered())
	return append(out, b...)
}

// ReaderPool lends read buffers to pooled Readers. The zero value lends
// buffers of DefaultReadBuffer octets.
type ReaderPool struct {
	// Size is the size of the buffers; 0 means DefaultReadBuffer.
	Size int
	pool sync.Pool
}

// DefaultReadBuffer is the size of a ReaderPool's buffers by default.
const DefaultReadBuffer = 4096

func (p *ReaderPool) get(src io.Reader) *bufio.Reader {
	if br, ok := p.pool.Get().(*bufio.Reader); ok {
		br.Reset(src)
		return br
	}
	size := p.Size
	if size <= 0 {
		size = DefaultReadBuffer
	}
	return bufio.NewReaderSize(src, size)
}

func (p *ReaderPool) put(br *bufio.Reader) {
	br.Reset(nil) // no reference keeps the connection alive
	p.pool.Put(br)
}

// leadReader reads the octet that ended a pooled Reader's wait, then its
// stream.
type leadReader struct {
	b [1]byte
	n int
	r io.Reader
}

func (l *leadReader) Read(p []byte) (int, error) {
	if l.n > 0 && len(p) > 0 {
		p[0] = l.b[0]
		l.n = 0
		return 1, nil
	}
	return l.r.Read(p)
}

// Await returns once the next octet of the stream is buffered: at once if
// one is, otherwise after reading it, for a pooled Reader into its
// one-octet buffer, without a buffer from the pool. It returns the
// stream's error (io.EOF when the stream ended); after a deadline's error
// the Reader is as before and may await again.
func (r *Reader) Await() error {
	if r.pool == nil {
		_, err := r.br.Peek(1)
		return err
	}
	return r.acquire()
}

// acquire makes sure a pooled Reader has a buffer. Without one it waits
// for the next octet of the stream in a buffer of one octet: a connection
// at rest holds no read buffer. It returns the stream's error, io.EOF
// when the stream ended before the octet.
func (r *Reader) acquire() error {
	if r.br != nil {
		return nil
	}
	for {
		n, err := r.lead.r.Read(r.lead.b[:])
		if n > 0 {
			break // an error comes again with the next read
		}
		if err != nil {
			return err
		}
	}
	r.lead.n = 1
	r.br = r.pool.get(&r.lead)
	return nil
}

// release gives a pooled Reader's buffer back once nothing is left in it,
// or regardless with force (the stream changes).
func (r *Reader) release(force bool) {
	if r.pool == nil || r.br == nil {
		return
	}
	if !force && r.Buffered() > 0 {
		return
	}
	r.pool.put(r.br)
	r.br = nil
	r.lead.n = 0
}

// ReadCommand reads one whole command, including its literals. It returns
// an *Error for a command it refuses, or the I/O error that ended the
// stream.
//
// Empty lines between commands are ignored. A line may end in CRLF or, for
// lenience, in a bare LF. APPEND message literals in the result belong to the
// caller, who must Close them.
func (r *Reader) ReadCommand() (cmd *Command, err error) {
	// Deferred first, so it runs last, after the recovery below.
	defer r.release(false)
	r.begin()
	for {
		if err := r.readLine(r.opts.MaxLineLength); err != nil {
			return nil, err
		}
		if r.overlong || len(r.line) > 0 {
			break
		}
		r.release(false) // an empty line: wait for more without a buffer
	}
	r.lineBudget -= len(r.line)

	defer func() {
		x := recover()
		if x == nil {
			return
		}
		cmd = nil
		switch v := x.(type) {
		case *Error:
			err = r.abort(v)
		case ioError:
			r.closeLiterals()
			err = v.err
		default:
			panic(x)
		}
	}()

	if r.overlong {
		r.tag = overlongTag(r.line)
		r.fail("command line too long")
	}
	r.tag = r.parseTag()
	cmd = r.parseCommand()
	if r.pos != len(r.line) {
		r.fail("unexpected characters at end of command")
	}
	cmd.Tag = r.tag
	// The literals are now the caller's: forget them.
	clear(r.literals)
	r.literals = r.literals[:0]
	return cmd, nil
}

// keepBuffer is the largest line or scratch buffer kept between commands:
// a rare long command should not pin its buffer for the connection's life.
const keepBuffer = 8 << 10

// begin resets the per-command state.
func (r *Reader) begin() {
	if cap(r.line) > keepBuffer {
		r.line = nil
	}
	if cap(r.scratch) > keepBuffer {
		r.scratch = nil
	}
	r.tag = ""
	r.lineBudget = r.opts.MaxLineLength
	r.litBudget = r.opts.MaxLiteralSize
	r.appendTotal = 0
	r.literals = r.literals[:0]
}

// ReadLine reads one line without its CRLF (IDLE's DONE, SASL responses),
// refusing lines over MaxLineLength with an *Error. The returned slice is the
// caller's.
func (r *Reader) ReadLine() ([]byte, error) {
	defer r.release(false)
	if err := r.readLine(r.opts.MaxLineLength); err != nil {
		return nil, err
	}
	if r.overlong {
		return nil, &Error{Text: "line too long"}
	}
	return append([]byte(nil), r.line...), nil
}

// readLine reads the next line of the stream into r.line, without its line
// ending. A line longer than limit keeps its first limit octets in r.line and
// its last octets in r.tail, and sets r.overlong; the rest is discarded, so
// the stream stays positioned after the line. At EOF before any octet it
// returns io.EOF, within a line io.ErrUnexpectedEOF.
func (r *Reader) readLine(limit int) error {
	if err := r.acquire(); err != nil {
		return err
	}
	r.line = r.line[:0]
	r.pos = 0
	r.overlong = false
	r.tail = r.tailBuf[:0]
	total := 0
	for {
		chunk, err := r.br.ReadSlice('\n')
		total += len(chunk)
		if !r.overlong {
			// Room for the line ending too: it is stripped below.
			if room := limit + 2 - len(r.line); len(chunk) <= room {
				r.line = append(r.line, chunk...)
			} else {
				r.line = append(r.line, chunk[:room]...)
				r.overlong = true
				r.keepTail(r.line)
				r.keepTail(chunk[room:])
			}
		} else {
			r.keepTail(chunk)
		}
		if err == nil {
			break
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if total == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if r.overlong {
		r.tail = trimEOL(r.tail)
		if len(r.line) > limit {
			r.line = r.line[:limit]
		}
		return nil
	}
	r.line = trimEOL(r.line)
	if len(r.line) > limit {
		r.overlong = true
		r.keepTail(r.line)
		r.line = r.line[:limit]
	}
	return nil
}

// trimEOL removes a trailing LF and a CR before it.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// keepTail appends b to the tail window, keeping its last tailSize octets.
func (r *Reader) keepTail(b []byte) {
	if len(b) >= tailSize {
		r.tail = append(r.tailBuf[:0], b[len(b)-tailSize:]...)
		return
	}
	if drop := len(r.tail) + len(b) - tailSize; drop > 0 {
		n := copy(r.tailBuf[:], r.tail[drop:])
		r.tail = r.tailBuf[:n]
	}
	r.tail = append(r.tail, b...)
}

// lineTail returns the end of the current line, enough to find a literal
// announced there.
func (r *Reader) lineTail() []byte {
	if r.overlong {
		return r.tail
	}
	return r.line
}

// nextLine reads the line that continues the command after a literal.
func (r *Reader) nextLine() {
	if err := r.readLine(max(r.lineBudget, 0)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		panic(ioError{err})
	}
	r.lineBudget -= len(r.line)
	if r.overlong {
		r.fail("command line too long")
	}
}

// abort finishes a refused command: it releases its literals, skips the rest
// of the command and returns e completed with the tag, or the I/O error that
// interrupted the skipping.
func (r *Reader) abort(e *Error) error {
	r.closeLiterals()
	e.Tag = r.tag
	tail := r.lineTail()
	for {
		h, ok := literalAtEnd(tail, r.overlong)
		if !ok || h.sync {
			// A synchronizing literal ends the command: without our
			// continuation the client does not send it.
			return e
		}
		if h.overflow || h.size > r.opts.MaxDiscard {
			// RFC 7888 section 4: the data cannot be skipped; the
			// session must close the connection.
			e.Fatal = true
			e.Text += " (literal too large to skip)"
			return e
		}
		if err := r.discard(h.size); err != nil {
			return err
		}
		if err := r.readLine(0); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		tail = r.lineTail()
	}
}

// discard skips n octets of the stream.
func (r *Reader) discard(n int64) error {
	for n > 0 {
		chunk := int(min(n, 1<<30))
		d, err := r.br.Discard(chunk)
		n -= int64(d)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// closeLiterals releases the message literals read so far.
func (r *Reader) closeLiterals() {
	for i, l := range r.literals {
		l.Close()
		r.literals[i] = nil
	}
	r.literals = r.literals[:0]
}

// fail refuses the command with a BAD response.
func (r *Reader) fail(text string) {
	panic(&Error{Text: text})
}

// failf is fail with formatting.
func (r *Reader) failf(format string, args ...any) {
	panic(&Error{Text: fmt.Sprintf(format, args...)})
}

// refuse refuses a well-formed command over a limit with a NO response.
func (r *Reader) refuse(code, text string) {
	panic(&Error{No: true, Code: code, Text: text})
}

// overlongTag returns the tag at the start of an overlong line, or "" when
// the kept start of the line does not hold a whole tag.
func overlongTag(line []byte) string {
	for i, c := range line {
		if c == ' ' && i > 0 {
			return string(line[:i])
		}
		if !isTagChar(c) {
			break
		}
	}
	return ""
}

// parseTag reads the tag and the space after it (RFC 9051 section 9, tag).
func (r *Reader) parseTag() string {
	start := r.pos
	for r.pos < len(r.line) && isTagChar(r.line[r.pos]) {
		r.pos++
	}
	if r.pos == start {
		r.fail("missing or invalid tag")
	}
	if r.pos < len(r.line) && r.line[r.pos] != ' ' {
		r.fail("invalid character in tag")
	}
	tag := string(r.line[start:r.pos])
	if r.pos == len(r.line) {
		r.tag = tag
		r.fail("missing command")
	}
	r.pos++
	return tag
}

package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"postfach/internal/sessions"
)

// conn is the connection go-smtp reads and writes. It sits between
// go-smtp and the socket, on the plaintext stream:
//
//   - It owns TLS. Implicit TLS (465) is up before go-smtp greets, and
//     STARTTLS is answered here, so that everything above sees plaintext
//     even after the upgrade. It advertises STARTTLS and REQUIRETLS in
//     the EHLO reply accordingly (go-smtp knows only TLS it started).
//   - It hands go-smtp one command line per Read, at most
//     MaxCommandLength octets: a longer line is skipped and replaced by
//     one go-smtp refuses, and its refusal is rewritten to "500 5.5.2
//     Line too long". go-smtp itself would close the session.
//   - It follows the stream: after "354" the message data, up to the
//     CRLF.CRLF that ends it (the same state machine as go-smtp's data
//     reader), and after a BDAT command its chunk, pass through
//     unbounded and untouched.
//   - It sets the read deadline before every read from the socket, so
//     that Timeout bounds each wait, not a whole message; and at shutdown
//     it ends a session that waits for a command between transactions
//     with 421.
//
// Read runs in go-smtp's connection goroutine (or, for LMTP message data,
// in the goroutine go-smtp starts for it, strictly after the other);
// Write too, except shutdown's and revocation's direct closes.
type conn struct {
	srv    *Server
	kind   Listener
	ctx    context.Context
	log    *slog.Logger
	id     uint64
	raw    net.Conn
	remote netip.Addr // zero for a unix socket
	limit  int        // MaxCommandLength

	rmu       sync.Mutex // Read
	br        *bufio.Reader
	out       []byte // part of a line not yet handed to go-smtp
	mode      readMode
	dot       dotState
	chunkLeft int64

	wmu  sync.Mutex // Write, and the swap to TLS
	cur  net.Conn   // raw, or TLS over it
	wbuf []byte     // replies held back while pipelined commands wait

	moreInput atomic.Bool // after the last Read, input was buffered

	tlsState  atomic.Pointer[tls.ConnectionState]
	enterData atomic.Bool // "354" was sent: message data follows
	rewrite   atomic.Bool // the line just handed up replaced a long one
	needHello atomic.Bool // TLS started; EHLO must come again
	plainHelo atomic.Bool // the client said HELO, not EHLO or LHLO
	busy      atomic.Bool // a mail transaction is open
	closing   atomic.Bool // shutdown asked the session to end
	authed    atomic.Bool // login done (no more login timeout)
	started   time.Time

	sessMu sync.Mutex
	sess   *session // set by NewSession

	closeOnce sync.Once
	done      chan struct{}
}

type readMode uint8

const (
	modeCommand readMode = iota
	modeData             // DATA: until CRLF.CRLF
	modeChunk            // BDAT: chunkLeft octets
)

// tooLongLine replaces a command line over the limit. go-smtp refuses it
// with "501 5.5.2 Bad command", which Write rewrites.
const tooLongLine = "LINE-TOO-LONG\r\n"

func newConn(ctx context.Context, s *Server, nc net.Conn, kind Listener) *conn {
	c := &conn{
		srv:     s,
		kind:    kind,
		ctx:     ctx,
		id:      s.nextID.Add(1),
		raw:     nc,
		cur:     nc,
		limit:   s.limits.MaxCommandLength,
		done:    make(chan struct{}),
		started: time.Now(),
	}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.remote = ap.Addr().Unmap()
	}
	c.br = bufio.NewReaderSize(readerFunc(c.readRaw), max(c.limit+1, 4096))
	remote := c.remote.String()
	if !c.remote.IsValid() {
		remote = "unix"
	}
	c.log = s.log.With("proto", kind.String(), "session", c.id, "remote", remote)
	return c
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// readRaw reads from the socket (TLS or not) with a fresh deadline.
// Replies held back for pipelining go out first: the client may be
// waiting for them before it sends more.
func (c *conn) readRaw(p []byte) (int, error) {
	c.wmu.Lock()
	cur := c.cur
	err := c.flushLocked()
	c.wmu.Unlock()
	if err != nil {
		return 0, err
	}
	c.setReadDeadline()
	return cur.Read(p)
}

// flushLocked writes the replies held back. The caller holds wmu.
func (c *conn) flushLocked() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	c.raw.SetWriteDeadline(time.Now().Add(c.srv.limits.WriteTimeout))
	_, err := c.cur.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// setReadDeadline bounds the next wait by Timeout, by the login deadline
// on submission, and makes it immediate once shutdown wants an idle
// session gone. The deadline is set before the closing flag is looked at,
// and Interrupt sets the flag before its own deadline: one of the two
// always wins.
func (c *conn) setReadDeadline() {
	d := time.Now().Add(c.srv.limits.Timeout)
	if c.kind.submission() && !c.authed.Load() {
		if ld := c.started.Add(c.srv.limits.LoginTimeout); ld.Before(d) {
			d = ld
		}
	}
	c.raw.SetReadDeadline(d)
	if c.closing.Load() && c.idle() {
		c.raw.SetReadDeadline(time.Now())
	}
}

// idle reports whether the session is outside a mail transaction (its
// message data included).
func (c *conn) idle() bool { return !c.busy.Load() }

// Read implements net.Conn for go-smtp.
func (c *conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n, err := c.read(p)
	// RFC 2920 section 3.1: the replies to pipelined commands may go
	// out together; Write holds them back while more input waits.
	c.moreInput.Store(len(c.out) > 0 || c.br.Buffered() > 0)
	return n, err
}

func (c *conn) read(p []byte) (int, error) {
	if c.enterData.Swap(false) {
		c.mode, c.dot = modeData, dotBeginLine
	}
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		switch c.mode {
		case modeData:
			return c.readData(p)
		case modeChunk:
			return c.readChunk(p)
		}
		if err := c.nextCommand(); err != nil {
			return 0, err
		}
	}
}

// readData hands up message data, stopping right after the line that
// ends it.
func (c *conn) readData(p []byte) (int, error) {
	if err := c.fill(); err != nil {
		return 0, err
	}
	buf, _ := c.br.Peek(min(c.br.Buffered(), len(p)))
	n := c.dot.scan(buf)
	copy(p, buf[:n])
	c.br.Discard(n)
	if c.dot == dotEOF {
		c.mode = modeCommand
	}
	return n, nil
}

// readChunk hands up a BDAT chunk.
func (c *conn) readChunk(p []byte) (int, error) {
	if err := c.fill(); err != nil {
		return 0, err
	}
	n := int(min(int64(c.br.Buffered()), int64(len(p)), c.chunkLeft))
	c.br.Read(p[:n])
	if c.chunkLeft -= int64(n); c.chunkLeft == 0 {
		c.mode = modeCommand
	}
	return n, nil
}

// fill waits until some input is buffered.
func (c *conn) fill() error {
	if c.br.Buffered() > 0 {
		return nil
	}
	_, err := c.br.Peek(1)
	return c.readErr(err)
}

// readErr turns a failed read into what go-smtp should see. A read cut
// short by shutdown says 421 here and ends the session quietly; a timeout
// goes up as such, and go-smtp answers "421 4.4.2 Idle timeout".
func (c *conn) readErr(err error) error {
	if err == nil {
		return nil
	}
	if c.closing.Load() && c.idle() {
		c.reply("421 4.3.2 Service shutting down, try again later")
		return io.EOF
	}
	return err
}

// nextCommand reads the next command line into c.out, handling the
// commands that concern the connection itself (STARTTLS).
func (c *conn) nextCommand() error {
	if c.closing.Load() && c.idle() && c.br.Buffered() == 0 {
		c.reply("421 4.3.2 Service shutting down, try again later")
		return io.EOF
	}
	line, tooLong, err := c.readLine()
	if err != nil && len(line) == 0 {
		return c.readErr(err)
	}
	if tooLong {
		c.log.Info("command line too long", "limit", c.limit)
		c.rewrite.Store(true)
		c.out = []byte(tooLongLine)
		return nil
	}
	verb := commandVerb(line)
	switch verb {
	case "STARTTLS":
		if handled, err := c.startTLS(line); handled || err != nil {
			return err
		}
	case "EHLO", "HELO", "LHLO":
		c.needHello.Store(false)
		c.plainHelo.Store(verb == "HELO")
	case "BDAT":
		if n, ok := bdatChunk(line); ok && n > 0 {
			c.mode, c.chunkLeft = modeChunk, n
		}
	}
	c.out = line
	return nil
}

// readLine reads one line, through its LF, of at most c.limit octets. A
// longer line is consumed whole and reported with tooLong. At the end of
// input a last line without LF is returned with the error.
func (c *conn) readLine() (line []byte, tooLong bool, err error) {
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			if i+1 > c.limit {
				c.br.Discard(i + 1)
				return nil, true, nil
			}
			line = append([]byte(nil), buf[:i+1]...)
			c.br.Discard(i + 1)
			return line, false, nil
		}
		if len(buf) >= c.limit {
			return nil, true, c.skipLine()
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			buf, _ = c.br.Peek(c.br.Buffered())
			line = append([]byte(nil), buf...)
			c.br.Discard(len(buf))
			return line, false, err
		}
	}
}

// skipLine discards input through the next LF.
func (c *conn) skipLine() error {
	for {
		_, err := c.br.ReadSlice('\n')
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// commandVerb returns the command word of a line as go-smtp sees it
// (parseCmd): any line starting with STARTTLS is STARTTLS; otherwise the
// first four characters, upper case, when they are the whole line or
// followed by a space.
func commandVerb(line []byte) string {
	l := strings.TrimRight(string(line), "\r\n")
	if len(l) >= 8 && strings.EqualFold(l[:8], "STARTTLS") {
		return "STARTTLS"
	}
	if len(l) == 4 || len(l) > 5 && l[4] == ' ' {
		return strings.ToUpper(l[:4])
	}
	return ""
}

// bdatChunk returns the chunk size of a BDAT command line that go-smtp
// will read a chunk for (handleBdat: one or two arguments, a 32-bit size,
// LAST as the second).
func bdatChunk(line []byte) (int64, bool) {
	l := strings.TrimRight(string(line), "\r\n")
	if len(l) <= 5 {
		return 0, false
	}
	args := strings.Fields(strings.TrimSpace(l[5:]))
	if len(args) == 0 || len(args) > 2 || len(args) == 2 && !strings.EqualFold(args[1], "LAST") {
		return 0, false
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0, false
	}
	return int64(n), true
}

// startTLS answers STARTTLS (RFC 3207). handled is false when the line
// goes up to go-smtp (TLS not offered here: 502).
func (c *conn) startTLS(line []byte) (handled bool, err error) {
	switch {
	case c.tlsState.Load() != nil:
		c.reply("503 5.5.1 TLS is already active")
		return true, nil
	case !c.offersTLS():
		return false, nil
	case !strings.EqualFold(strings.TrimSpace(string(line)), "STARTTLS"):
		// RFC 3207 section 4: no parameters.
		c.reply("501 5.5.4 STARTTLS takes no parameters")
		return true, nil
	case c.authed.Load():
		c.reply("503 5.5.1 Already authenticated")
		return true, nil
	case c.br.Buffered() > 0:
		// Commands pipelined after STARTTLS would be taken as sent
		// over TLS (the CVE-2011-0411 class): refuse and close.
		c.log.Warn("plaintext data after STARTTLS; closing")
		c.reply("554 5.5.1 Commands pipelined after STARTTLS; closing")
		return true, io.EOF
	}
	c.reply("220 2.0.0 Ready to start TLS")
	if !c.upgrade() {
		return true, io.EOF
	}
	// RFC 3207 section 4.2: the client must start over with EHLO, and
	// the server forgets what it learnt before.
	c.needHello.Store(true)
	if s := c.session(); s != nil {
		s.tlsStarted()
	}
	return true, nil
}

// offersTLS reports whether STARTTLS is offered on this connection.
func (c *conn) offersTLS() bool {
	return c.srv.TLS != nil && (c.kind == MX || c.kind == Submission)
}

// handshake runs implicit TLS before the greeting (port 465).
func (c *conn) handshake() bool {
	if c.srv.TLS == nil {
		c.log.Error("implicit TLS listener without a TLS configuration")
		c.Abort()
		return false
	}
	return c.upgrade()
}

// upgrade runs a TLS handshake over the socket and makes it the stream.
func (c *conn) upgrade() bool {
	tc := tls.Server(c.raw, c.srv.TLS)
	c.raw.SetDeadline(time.Now().Add(handshakeTimeout))
	err := tc.HandshakeContext(c.ctx)
	c.raw.SetDeadline(time.Time{})
	if err != nil {
		c.log.Debug("TLS handshake failed", "err", err)
		c.Abort()
		return false
	}
	st := tc.ConnectionState()
	c.wmu.Lock()
	c.cur = tc
	c.wmu.Unlock()
	c.br.Reset(readerFunc(c.readRaw))
	c.tlsState.Store(&st)
	return true
}

// Write implements net.Conn for go-smtp. It notices the 354 that starts
// message data, rewrites go-smtp's refusal of a replaced long line, adds
// STARTTLS and REQUIRETLS to the EHLO reply, and keeps control characters
// that go-smtp echoes from the client (a command word, a HELO argument)
// out of reply lines.
func (c *conn) Write(p []byte) (int, error) {
	out := cleanReply(p)
	if c.rewrite.Swap(false) && bytes.HasPrefix(p, []byte("501 5.5.2 ")) {
		out = []byte("500 5.5.2 Line too long\r\n")
	}
	if bytes.HasPrefix(p, []byte("354")) {
		c.enterData.Store(true)
	}
	if bytes.HasPrefix(p, []byte("250-Hello ")) {
		out = append(append([]byte(nil), out...), c.extraCapabilities()...)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = append(c.wbuf, out...)
	if c.moreInput.Load() && len(c.wbuf) < maxHeldReplies {
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// maxHeldReplies bounds the replies held back for a client that pipelines
// without reading.
const maxHeldReplies = 16 << 10

// cleanReply returns reply lines with every control character but the
// CRLF that ends each line replaced by "?": a CR inside a line would end
// it early for some clients (RFC 5321 section 4.2: a reply line is text
// up to CRLF).
func cleanReply(p []byte) []byte {
	var out []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= ' ' && c != 0x7f || c == '\t' || c == '\r' && i+1 < len(p) && p[i+1] == '\n' || c == '\n' && i > 0 && p[i-1] == '\r' {
			continue
		}
		if out == nil {
			out = append([]byte(nil), p...)
		}
		out[i] = '?'
	}
	if out == nil {
		return p
	}
	return out
}

// extraCapabilities are the EHLO keywords go-smtp cannot know of: it did
// not start TLS itself.
func (c *conn) extraCapabilities() []byte {
	var b []byte
	tlsUp := c.tlsState.Load() != nil
	if c.offersTLS() && !tlsUp {
		b = append(b, "250-STARTTLS\r\n"...)
	}
	if tlsUp && c.kind != LMTP {
		// RFC 8689 section 4: only over TLS.
		b = append(b, "250-REQUIRETLS\r\n"...)
	}
	return b
}

// reply writes one reply line of our own.
func (c *conn) reply(line string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = append(c.wbuf, line+"\r\n"...)
	c.flushLocked()
}

// refuse answers a connection that gets no service, and closes it.
func (c *conn) refuse(line string) {
	c.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c.raw, line+"\r\n")
	c.Abort()
}

// trusted reports whether the client may use LMTP.
func (c *conn) trusted() bool {
	if _, ok := c.raw.LocalAddr().(*net.UnixAddr); ok {
		return true
	}
	for _, p := range c.srv.TrustedNetworks {
		if p.Contains(c.remote) {
			return true
		}
	}
	return false
}

var _ sessions.Session = (*conn)(nil)

// Interrupt asks the session to end at its next wait for a command
// outside a transaction (Server.Shutdown); it then gets 421.
func (c *conn) Interrupt() {
	c.closing.Store(true)
	if c.idle() {
		c.raw.SetReadDeadline(time.Now())
	}
}

// Abort closes the socket at once (revocation, refusal, forced
// shutdown); go-smtp then ends the session, and closes the conn (done)
// when it has.
func (c *conn) Abort() {
	c.raw.Close()
}

// Close implements net.Conn; go-smtp calls it when the session ends.
func (c *conn) Close() error {
	c.wmu.Lock()
	cur := c.cur
	c.flushLocked()
	c.wmu.Unlock()
	var err error
	if tc, ok := cur.(*tls.Conn); ok {
		c.raw.SetWriteDeadline(time.Now().Add(time.Second))
		err = tc.Close()
	} else {
		err = c.raw.Close()
	}
	c.closeOnce.Do(func() { close(c.done) })
	if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	return err
}

func (c *conn) LocalAddr() net.Addr                { return c.raw.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr               { return c.raw.RemoteAddr() }
func (c *conn) SetDeadline(t time.Time) error      { return nil }
func (c *conn) SetReadDeadline(t time.Time) error  { return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { return nil }

// session returns the go-smtp session of the connection, once EHLO made
// it.
func (c *conn) session() *session {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.sess
}

func (c *conn) setSession(s *session) {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	c.sess = s
}

// dotState follows message data to the line that ends it, exactly as
// go-smtp's data reader does (it decides where the data ends; we only
// must agree): "." CR LF at the start of a line, a line starting after
// CR LF.
type dotState uint8

const (
	dotBeginLine dotState = iota
	dotDot                // "." at the start of a line
	dotDotCR              // "." CR
	dotCR                 // CR
	dotData               // within a line
	dotEOF                // past the end-of-data line
)

// scan advances over b and returns how many octets belong to the data:
// all of b, or up to and including the LF that ends it.
func (d *dotState) scan(b []byte) int {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch *d {
		case dotBeginLine:
			switch c {
			case '.':
				*d = dotDot
			case '\r':
				*d = dotCR
			default:
				*d = dotData
			}
		case dotDot:
			if c == '\r' {
				*d = dotDotCR
			} else {
				*d = dotData
			}
		case dotDotCR:
			if c == '\n' {
				*d = dotEOF
				return i + 1
			}
			*d = dotData
		case dotCR:
			if c == '\n' {
				*d = dotBeginLine
			} else {
				*d = dotData
			}
		case dotData:
			// Skip to the next CR, the only octet that matters here.
			j := bytes.IndexByte(b[i:], '\r')
			if j < 0 {
				return len(b)
			}
			i += j
			*d = dotCR
		}
	}
	return len(b)
}

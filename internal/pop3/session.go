package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"postfach/internal/auth"
	"postfach/internal/sessions"
	"postfach/internal/store"
)

// state is a session state of RFC 1939 section 3. UPDATE is not a state
// a command can run in: QUIT runs it and ends the session.
type state uint8

const (
	stateAuthorization state = 1 << iota
	stateTransaction
	stateDone
)

// session is one client connection.
type session struct {
	srv    *Server
	limits Limits
	raw    net.Conn // the TCP connection: deadlines and Close go here
	conn   net.Conn // raw, or the TLS connection over it
	br     *bufio.Reader
	bw     *bufio.Writer
	log    *slog.Logger
	remote netip.AddrPort
	tls    bool
	// tlsState is the TLS connection state once TLS is up, and serverCert
	// the certificate the handshake presented: channel bindings of
	// SCRAM-SHA-256-PLUS (tls-exporter, tls-server-end-point).
	tlsState   *tls.ConnectionState
	serverCert *x509.Certificate
	// utf8 is set by the UTF8 command (RFC 6856).
	utf8 bool

	state state
	// user is the name USER gave, waiting for PASS.
	user string
	acct store.Account
	// authSess is the auth layer's session once logged in; it is closed
	// when the session ends, to stop the revocation watch.
	authSess auth.Session
	mail     store.Mail
	drop     *maildrop
	// locked is set while the session holds acct's maildrop lock.
	locked bool

	// line is the buffer of the command line being read.
	line []byte
	// bad counts commands refused in a row as unknown, malformed or out of
	// state; authFailures counts failed logins.
	bad, authFailures int

	interrupted atomic.Bool // the server shuts down
	revoked     atomic.Bool // the credential was revoked
	done        chan struct{}
}

func newSession(srv *Server, conn net.Conn) *session {
	limits := srv.Limits.withDefaults()
	c := &session{
		srv:    srv,
		limits: limits,
		raw:    conn,
		// A client that stops reading is dropped after WriteTimeout;
		// one that is merely slow can take as long as a large RETR
		// needs.
		conn:  sessions.DeadlineConn{Conn: conn, WriteTimeout: limits.WriteTimeout},
		state: stateAuthorization,
		done:  make(chan struct{}),
	}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		c.remote = ap
	}
	c.log = srv.logger().With("proto", "pop3", "session", srv.nextID.Add(1), "remote", c.remote.String())
	c.br = bufio.NewReaderSize(c.conn, 4096)
	c.bw = bufio.NewWriterSize(c.conn, 16<<10)
	return c
}

var _ sessions.Session = (*session)(nil)

// Interrupt asks the session to end (Server.Shutdown): a blocked read
// returns at once, and the session closes without UPDATE. The flag is set
// before the deadline, and the session sets its own deadline before it
// checks the flag, so one of the two always wins.
func (c *session) Interrupt() {
	c.interrupted.Store(true)
	c.raw.SetReadDeadline(time.Now())
}

// Abort closes the TCP connection when Shutdown stops waiting: a RETR
// blocked on a client that stopped reading fails at once. Not the TLS
// connection: its Close would wait for that write to send close_notify.
func (c *session) Abort() {
	c.raw.Close()
}

// watchRevoked ends the session when the credential it logged in with is
// revoked (auth.Session.Revoked): at the next command, or at once if it
// waits for one. Nothing of the session is applied.
func (c *session) watchRevoked(revoked <-chan struct{}) {
	if revoked == nil {
		return
	}
	go func() {
		select {
		case <-revoked:
			c.revoked.Store(true)
			c.raw.SetReadDeadline(time.Now())
		case <-c.done:
		}
	}()
}

func (c *session) run(ctx context.Context, implicitTLS bool) {
	defer c.close()
	if implicitTLS {
		if c.srv.TLS == nil {
			c.log.Error("implicit TLS listener without a TLS configuration")
			return
		}
		if err := c.startTLS(); err != nil {
			c.log.Debug("TLS handshake failed", "err", err)
			return
		}
	}
	c.log.Debug("connected", "tls", c.tls)
	// RFC 1939 section 4; no APOP timestamp, as APOP is not offered.
	c.ok("postfach POP3 server ready")
	for c.state != stateDone && c.serveOne(ctx) {
	}
	// The last answer (QUIT's, or the reason for closing).
	c.bw.Flush()
}

// serveOne reads and runs one command; it reports false when the
// connection must end.
func (c *session) serveOne(ctx context.Context) bool {
	// PIPELINING (RFC 2449 section 6.6): answers to commands that are
	// already here go out together, with the next flush.
	if !c.commandBuffered() {
		if c.bw.Flush() != nil {
			return false
		}
	}
	timeout := c.limits.IdleTimeout
	if c.state == stateAuthorization {
		timeout = c.limits.LoginTimeout
	}
	c.raw.SetReadDeadline(time.Now().Add(timeout))
	if c.stopping() {
		return false
	}
	line, err := c.readLine()
	switch {
	case errors.Is(err, errLineTooLong):
		return c.refuse("", "Line too long")
	case err != nil:
		if c.stopping() {
			return false
		}
		switch {
		case errors.Is(err, errLineEndless):
			c.err("", "Line too long; closing")
		case isTimeout(err):
			// RFC 1939 section 3: the autologout timer closes the
			// connection without entering UPDATE.
			c.err("", "Autologout; idle for too long")
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		default:
			c.log.Debug("read failed", "err", err)
		}
		c.bw.Flush()
		return false
	}
	cmd, err := parseCommand(line)
	if err != nil {
		return c.refuse("", err.Error())
	}
	return c.execute(ctx, &cmd)
}

// stopping ends the session, with a last word, when the server shuts down
// or the credential was revoked; it reports whether it did.
func (c *session) stopping() bool {
	switch {
	case c.interrupted.Load():
		c.err("SYS/TEMP", "Server shutting down; nothing was changed")
	case c.revoked.Load():
		c.log.Info("credential revoked; closing")
		c.err("AUTH", "The credential of this session was revoked; nothing was changed")
	default:
		return false
	}
	c.bw.Flush()
	return true
}

// refuse answers a command that was unknown, malformed or out of state,
// counts it, and reports whether the session may go on (RFC 1939 leaves
// the limit to the server).
func (c *session) refuse(code, text string) bool {
	c.bad++
	if c.bad >= c.limits.MaxBadCommands {
		c.err(code, text+"; too many invalid commands, closing")
		c.bw.Flush()
		return false
	}
	c.err(code, text)
	return true
}

// commandBuffered reports whether a whole command line is already read
// from the connection (pipelined behind the one just answered).
func (c *session) commandBuffered() bool {
	n := c.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := c.br.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

var (
	// errLineTooLong: a line exceeded MaxLineLength; it was read to its
	// end, so the next line can be read.
	errLineTooLong = errors.New("pop3: line too long")
	// errLineEndless: a line went on far beyond the limit without an end;
	// the connection cannot be trusted to resynchronise.
	errLineEndless = errors.New("pop3: line without end")
)

// readLine reads one line, without its CRLF (a bare LF ends a line too).
// The returned slice is valid until the next call.
func (c *session) readLine() ([]byte, error) {
	max := c.limits.MaxLineLength + 2
	c.line = c.line[:0]
	for {
		frag, err := c.br.ReadSlice('\n')
		if len(c.line)+len(frag) > max {
			return nil, c.discardLine(err, len(c.line)+len(frag))
		}
		c.line = append(c.line, frag...)
		switch {
		case err == nil:
			line := bytes.TrimSuffix(c.line[:len(c.line)-1], []byte{'\r'})
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

// discardLine reads the rest of an overlong line, up to a bound.
func (c *session) discardLine(err error, seen int) error {
	limit := 64 * c.limits.MaxLineLength
	for errors.Is(err, bufio.ErrBufferFull) {
		if seen > limit {
			return errLineEndless
		}
		var frag []byte
		frag, err = c.br.ReadSlice('\n')
		seen += len(frag)
	}
	if err != nil {
		return err
	}
	return errLineTooLong
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// ok writes a positive single-line response.
func (c *session) ok(text string) {
	c.bw.WriteString("+OK")
	if text != "" {
		c.bw.WriteByte(' ')
		c.bw.WriteString(sanitizeText(text))
	}
	c.bw.WriteString("\r\n")
}

// err writes a negative response, with an extended response code (RFC
// 2449 section 8) when code is set.
func (c *session) err(code, text string) {
	c.bw.WriteString("-ERR ")
	if code != "" {
		c.bw.WriteByte('[')
		c.bw.WriteString(code)
		c.bw.WriteString("] ")
	}
	c.bw.WriteString(sanitizeText(text))
	c.bw.WriteString("\r\n")
}

// maxText keeps a response line within RFC 2449 section 4's 512 octets.
const maxText = 400

// sanitizeText keeps response text on one line of printable characters.
// A text that begins with "[" would read as a response code: RESP-CODES
// promises it is one (RFC 2449 section 6.4).
func sanitizeText(s string) string {
	if len(s) > maxText {
		s = strings.ToValidUTF8(s[:maxText], "")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	if strings.HasPrefix(s, "[") {
		s = " " + s
	}
	return s
}

// startTLS turns the connection into a TLS one (implicit TLS, or STLS
// after its +OK).
func (c *session) startTLS() error {
	conf, presented := auth.CaptureCertificate(c.srv.TLS)
	tc := tls.Server(c.conn, conf)
	c.raw.SetDeadline(time.Now().Add(c.limits.LoginTimeout))
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.serverCert = presented()
	c.raw.SetDeadline(time.Time{})
	c.conn = tc
	c.tls = true
	st := tc.ConnectionState()
	c.tlsState = &st
	c.br.Reset(tc)
	c.bw.Reset(tc)
	return nil
}

// release gives up the maildrop lock.
func (c *session) release() {
	if c.locked {
		c.srv.unlock(c.acct.ID)
		c.locked = false
	}
}

func (c *session) close() {
	c.release()
	close(c.done)
	c.authSess.Close()
	c.linger()
	c.raw.Close()
	c.log.Debug("disconnected")
}

// Lingering close: closing a socket that still has unread input makes the
// kernel answer with a reset, which can destroy the last response (QUIT's
// +OK, the reason for closing) before the client reads it. A client that
// pipelines, or sends its TLS close_notify right behind QUIT, would lose
// it. So the session half-closes, reads what is still coming for a
// moment, and only then closes.
const (
	lingerTime = time.Second
	lingerMax  = 64 << 10
)

func (c *session) linger() {
	var err error
	if tc, ok := c.conn.(*tls.Conn); ok {
		err = tc.CloseWrite()
	} else if hc, ok := c.raw.(interface{ CloseWrite() error }); ok {
		err = hc.CloseWrite()
	}
	if err != nil {
		return // broken already
	}
	c.raw.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, io.LimitReader(c.raw, lingerMax))
}

// authConn describes the connection to the auth layer.
func (c *session) authConn() auth.Conn {
	return auth.Conn{Protocol: "pop3", Remote: c.remote.Addr(), TLS: c.tlsState, ServerCertificate: c.serverCert}
}

// secure reports whether passwords may cross this connection.
func (c *session) secure() bool {
	return c.srv.Auth.Secure(c.authConn())
}

package imap

import (
	"bufio"
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
	"postfach/internal/imap/wire"
	"postfach/internal/notify"
	"postfach/internal/sessions"
	"postfach/internal/store"
)

type state uint8

const (
	stateNotAuthenticated state = 1 << iota
	stateAuthenticated
	stateSelected
	stateLogout
)

// session is one client connection.
type session struct {
	srv    *Server
	limits Limits
	raw    net.Conn // the TCP connection: deadlines and Close go here
	conn   net.Conn // raw, or the TLS connection over it
	// br and bw are the buffers of a compressed session; others borrow
	// theirs (newSession).
	br     *bufio.Reader
	bw     *bufio.Writer
	r      *wire.Reader
	w      *wire.Writer
	log    *slog.Logger
	remote netip.AddrPort
	tls    bool
	// compressed is set once COMPRESS DEFLATE is active (RFC 4978).
	compressed bool
	// condstore is set by the first CONDSTORE enabling command, qresync
	// by ENABLE QRESYNC (RFC 7162 sections 3.1 and 3.2.3).
	condstore, qresync bool
	// uidOnly is set by ENABLE UIDONLY (RFC 9586, see uidonly.go).
	uidOnly bool
	// searchModSeq is set while a SEARCH uses the MODSEQ key.
	searchModSeq bool
	// notify holds the NOTIFY settings (RFC 5465); nil without.
	notify *notifySpec
	// searchCtx is the context of the search command being compiled,
	// for keys that need the store (EMAILID, THREADID).
	searchCtx context.Context
	// tlsState is the TLS connection state once TLS is up (channel
	// binding for SCRAM-SHA-256-PLUS).
	tlsState *tls.ConnectionState
	// serverCert is the certificate the handshake presented
	// (tls-server-end-point channel binding).
	serverCert *x509.Certificate

	// authSess is the auth layer's session while authenticated. revoked is
	// set when its credential is revoked (auth.Session.Revoked); the
	// session then ends like on shutdown (watchLogin).
	authSess  auth.Session
	revoked   atomic.Bool
	stopWatch func()

	state state
	acct  store.Account
	mail  store.Mail
	sub   *notify.Subscription
	// rev2 is set once the client ENABLEd IMAP4rev2: mailbox names are
	// UTF-8, SEARCH answers with ESEARCH, \Recent and RECENT are gone.
	rev2 bool
	sel  *selected

	// okCode is the response code of the tagged OK a handler asks for.
	okCode string
	// idle is shared with the pushes during IDLE (idle.go).
	idle idleState
	// done carries the result of workFunc, which workRun runs on a
	// worker, to run (work).
	done     chan bool
	workFunc func() bool
	workRun  func()
	// aheadErr is set when readAhead met the end of the stream: the next
	// read must not wait for the socket.
	aheadErr bool
	// byeSent is set once the session said BYE (bye): the command in
	// progress is its last (complete). Only the holder of the session
	// sets it: its goroutine, or a push under idle.mu.
	byeSent bool

	interrupted atomic.Bool
}

func newSession(srv *Server, conn net.Conn) *session {
	limits := srv.Limits.withDefaults()
	c := &session{
		srv:    srv,
		limits: limits,
		raw:    conn,
		// A client that stops reading is dropped after WriteTimeout;
		// one that is merely slow can take as long as a large FETCH
		// needs.
		conn:  sessions.DeadlineConn{Conn: conn, WriteTimeout: limits.WriteTimeout},
		state: stateNotAuthenticated,
	}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		c.remote = ap
	}
	c.log = srv.logger().With("proto", "imap", "session", srv.nextID.Add(1), "remote", c.remote.String())
	// Buffers are lent by the server while a command is read or a
	// response written: a session that waits for its client holds none.
	c.r = wire.NewPooledReader(c.conn, &srv.readBufs, srv.wireOptions(), c.continuation)
	c.w = wire.NewPooledWriter(c.conn, &srv.writeBufs)
	return c
}

// continuation answers a synchronizing literal (RFC 9051 section 7.6).
func (c *session) continuation(text string) error {
	c.w.Raw("+ ")
	c.w.Raw(text)
	c.w.CRLF()
	return c.w.Flush()
}

var _ sessions.Session = (*session)(nil)

// Interrupt asks the session to end (Server.Shutdown): a blocked read
// returns at once, IDLE included, and the session says BYE. The flag is
// set before the deadline, and the session sets its own deadline before it
// checks the flag, so one of the two always wins.
func (c *session) Interrupt() {
	c.interrupted.Store(true)
	c.raw.SetReadDeadline(time.Now())
}

// Abort closes the TCP connection when Shutdown stops waiting: a write
// blocked on a client that stopped reading fails at once. Not the TLS
// connection: its Close would wait for that write to send close_notify.
func (c *session) Abort() {
	c.raw.Close()
}

// run serves the connection to its end.
//
// The goroutine that runs it only waits: for the next command, with no
// buffer (the pooled reader) and, where the platform allows, on a stack of
// a few frames (waitReadable). The work of each command runs on one of
// the server's workers (work): TLS, the parser and the store grow a
// goroutine's stack to tens of kilobytes, and Go shrinks a stack only at
// garbage collection, by half, and only while most of it is unused.
// Parked after such work, every idle connection would keep 8 KB of stack;
// parked here, it keeps the smallest stack Go has, 2 or 4 KB.
func (c *session) run(ctx context.Context, implicitTLS bool) {
	defer c.close()
	c.done = make(chan bool, 1)
	if !c.work(func() bool { return c.open(implicitTLS) }) {
		return
	}
	serve := func() bool { return c.serveOne(ctx) }
	for c.state != stateLogout {
		c.waitInput()
		if !c.work(serve) {
			return
		}
	}
}

// work runs f on a worker of the server (workerPool) and returns its
// result (see run). A compressed session runs f here: its decompressor may
// hold input that a wait on the socket cannot see, so its commands wait in
// the reader.
func (c *session) work(f func() bool) bool {
	if c.compressed {
		return f()
	}
	if c.workRun == nil {
		c.workRun = func() { c.done <- c.workFunc() }
	}
	c.workFunc = f
	c.srv.workers.do(c.workRun)
	return <-c.done
}

// open starts the session: TLS on an implicit TLS port, then the greeting.
func (c *session) open(implicitTLS bool) bool {
	if implicitTLS {
		if c.srv.TLS == nil {
			c.log.Error("implicit TLS listener without a TLS configuration")
			return false
		}
		if err := c.startTLS(); err != nil {
			c.log.Debug("TLS handshake failed", "err", err)
			return false
		}
	}
	c.log.Debug("connected", "tls", c.tls)
	c.w.Raw("* OK [CAPABILITY ")
	c.writeCapabilities()
	c.w.Raw("] postfach ready")
	c.w.CRLF()
	if c.w.Flush() != nil {
		return false
	}
	c.readAhead()
	return true
}

// waitInput starts the autologout timer and waits until the client sent
// something, or until the wait must end (shutdown, a revoked credential,
// the timer); serveOne then finds out which.
func (c *session) waitInput() {
	timeout := c.limits.IdleTimeout
	if c.state == stateNotAuthenticated {
		timeout = c.limits.LoginTimeout
	}
	// Interrupt and the revocation watch set their flag before the
	// deadline; this side sets the deadline before it checks the flag:
	// one of the two wins.
	c.raw.SetReadDeadline(time.Now().Add(timeout))
	if c.interrupted.Load() || c.revoked.Load() || c.compressed || c.r.Buffered() > 0 || c.aheadErr {
		return
	}
	waitReadable(c.raw)
}

// readAhead takes, without waiting, the first octet of the next command
// if the TLS layer already holds it: records that arrived with the last
// command and that no buffer above shows, where waitReadable, which
// watches the socket, would not see them. The work of each command ends
// with it.
func (c *session) readAhead() {
	if !c.tls || c.compressed || c.r.Buffered() > 0 {
		return
	}
	c.raw.SetReadDeadline(aLongTimeAgo)
	// A timeout means nothing is there yet; any other error ends the
	// stream and comes again with the next read, which must not wait.
	err := c.r.Await()
	c.aheadErr = err != nil && !isTimeout(err)
}

// aLongTimeAgo is a deadline that has passed: a read returns what is
// buffered, or a timeout at once.
var aLongTimeAgo = time.Unix(1, 0)

// serveOne reads and runs one command, or ends IDLE; it reports false when
// the connection must end.
func (c *session) serveOne(ctx context.Context) bool {
	if c.interrupted.Load() || c.revoked.Load() {
		if c.idleEnd() {
			return false // a push ended the session already
		}
		if c.interrupted.Load() {
			c.bye("Server shutting down")
		} else {
			c.bye(revokedText)
		}
		return false
	}
	if c.idle.tag != "" {
		if !c.finishIdle(ctx) {
			return false
		}
		c.readAhead()
		return true
	}
	cmd, err := c.r.ReadCommand()
	if err != nil {
		var werr *wire.Error
		switch {
		case errors.As(err, &werr):
			c.refused(werr)
			if werr.Fatal {
				c.bye("Cannot resynchronise the command stream")
				return false
			}
			if c.w.Flush() != nil {
				return false
			}
			c.readAhead()
			return true
		case c.interrupted.Load():
			c.bye("Server shutting down")
		case c.revoked.Load():
			c.bye(revokedText)
		case isTimeout(err):
			c.bye("Autologout; idle for too long")
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		default:
			c.log.Debug("read failed", "err", err)
		}
		return false
	}
	c.execute(ctx, cmd)
	if c.w.Flush() != nil || c.state == stateLogout {
		return false
	}
	if c.idle.tag != "" {
		// IDLE answered with its continuation: changes are pushed from
		// now on, and DONE comes as the next input.
		c.idleBegin(ctx)
	}
	c.readAhead()
	return true
}

// refused answers a command the parser rejected.
func (c *session) refused(e *wire.Error) {
	status := "BAD"
	if e.No {
		status = "NO"
	}
	tag := e.Tag
	if tag == "" {
		tag = "*"
	}
	c.statusLine(tag, status, e.Code, e.Text)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func (c *session) bye(text string) {
	c.byeSent = true
	c.statusLine("*", "BYE", "", text)
	c.w.Flush()
}

// statusLine writes "tag STATUS [code] text".
func (c *session) statusLine(tag, status, code, text string) {
	c.w.Raw(tag)
	c.w.SP()
	c.w.Raw(status)
	c.w.SP()
	if code != "" {
		c.w.Byte('[')
		c.w.Raw(code)
		c.w.Raw("] ")
	}
	c.w.Raw(sanitizeText(text))
	c.w.CRLF()
}

// sanitizeText keeps response text on one line of printable characters.
func sanitizeText(s string) string {
	if s == "" {
		return "."
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// startTLS turns the connection into a TLS one (implicit TLS, or
// STARTTLS after its OK).
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
	c.r.ResetPooled(tc, &c.srv.readBufs)
	c.w.ResetPooled(tc, &c.srv.writeBufs)
	return nil
}

func (c *session) close() {
	c.idleEnd()
	if c.sel != nil {
		c.sel = nil
	}
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
	c.endLogin()
	c.raw.Close()
	c.log.Debug("disconnected")
}

// revokedText ends a session whose credential was revoked.
const revokedText = "Credentials revoked; log in again"

// watchLogin keeps the auth layer's session and, when its credential is
// revoked (an app password revoked, the password changed, two-factor
// login turned on), ends this session: the read in progress, a command
// or IDLE, returns at once, and the session says BYE. The server watches
// the sessions of one credential together (revoke.go).
func (c *session) watchLogin(sess auth.Session) {
	c.endLogin()
	c.authSess = sess
	if sess.Revoked == nil {
		return
	}
	c.stopWatch = c.srv.revocations.add(sess.Revoked, c)
}

// endLogin stops watching the login and tells the auth layer it ended.
func (c *session) endLogin() {
	if c.stopWatch != nil {
		c.stopWatch()
		c.stopWatch = nil
	}
	c.authSess.Close()
	c.authSess = auth.Session{}
}

// authConn describes the connection to the auth layer.
func (c *session) authConn() auth.Conn {
	return auth.Conn{Protocol: "imap", Remote: c.remote.Addr(), TLS: c.tlsState, ServerCertificate: c.serverCert}
}

// secure reports whether passwords may cross this connection.
func (c *session) secure() bool {
	return c.srv.Auth.Secure(c.authConn())
}

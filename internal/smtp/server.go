// Package smtp serves SMTP and LMTP over github.com/emersion/go-smtp: the
// MX (port 25), message submission (587 with STARTTLS, 465 with implicit
// TLS) and LMTP for an MTA in front of postfach.
//
// go-smtp parses commands and runs the state machine of RFC 5321; this
// package owns what go-smtp leaves to a server: who may send what to
// whom, where mail goes, and when a message counts as received. Below
// go-smtp, conn (conn.go) owns the connection itself: TLS, both implicit
// and STARTTLS, so that it can bound command lines on the plaintext
// stream; refreshing timeouts while message data flows; and ending idle
// sessions at shutdown.
//
// Invariants:
//   - A 250 to DATA (or BDAT LAST), and each LMTP per-recipient 250, is
//     sent only after the message is durable for every recipient it
//     covers: stored in the mailbox (deliver.Deliverer, the store's
//     fsynced group commit) or in the outbound queue (Queue.Enqueue
//     returns after fsync).
//   - Message data is spooled (spool.go): at most spoolMemory octets in
//     memory, the rest in an unlinked file under SpoolDir; it is never
//     loaded whole.
//   - Every refusal carries an enhanced status code (RFC 2034, RFC 3463),
//     and malformed input (long lines, bare CR or LF in data, bad
//     addresses, commands out of sequence) ends the transaction, never
//     the session; go-smtp itself closes a session after repeated syntax
//     errors.
//   - Credentials are accepted only on submission listeners, only over
//     TLS (or plaintext loopback when the operator allowed it), and only
//     through the shared auth.Authenticator; a session ends when its
//     credential is revoked.
//   - Submission sends only as addresses the account owns (envelope and
//     From header field), at most at the configured rate.
//   - The package holds no mutable package-level state.
package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/auth"
	"postfach/internal/deliver"
	"postfach/internal/mailauth"
	"postfach/internal/sessions"
)

// Listener is the kind of service a connection gets.
type Listener int

const (
	// MX receives mail from the internet for local recipients (port 25):
	// STARTTLS offered, no authentication, no relaying.
	MX Listener = iota
	// Submission takes mail from authenticated users (port 587): AUTH
	// only after STARTTLS, and MAIL only after AUTH (RFC 6409).
	Submission
	// Submissions is Submission over implicit TLS (port 465, RFC 8314).
	Submissions
	// LMTP delivers for an MTA in front of postfach (RFC 2033), from
	// trusted networks or a unix socket, with a reply per recipient.
	LMTP
)

func (l Listener) String() string {
	switch l {
	case MX:
		return "smtp"
	case Submission:
		return "submission"
	case Submissions:
		return "submissions"
	case LMTP:
		return "lmtp"
	}
	return "unknown"
}

// submission reports whether l takes mail from authenticated users.
func (l Listener) submission() bool { return l == Submission || l == Submissions }

// Verifier checks SPF, DKIM and DMARC of mail received on the MX
// (*mailauth.Verifier).
type Verifier interface {
	Verify(ctx context.Context, in mailauth.Input) mailauth.Result
}

// Signer returns DKIM-Signature header fields for a message from domain
// (*mailauth.Signer); an error wrapping mailauth.ErrNoKeys means the
// domain has no keys and the message goes unsigned.
type Signer interface {
	Sign(ctx context.Context, domain string, msg io.ReaderAt, size int64) (header string, err error)
}

// Queue takes messages for remote delivery. Enqueue returns only once the
// message and its envelope are durable (fsync); the queue then owns
// delivery, retries and delivery status notifications.
type Queue interface {
	Enqueue(ctx context.Context, env Envelope, msg io.ReaderAt, size int64) (id string, err error)
}

// Envelope is a message's SMTP envelope as the queue needs it.
type Envelope struct {
	// From is the reverse path (RFC 5321 Mailbox form, no angle
	// brackets); "" is the null reverse path.
	From string
	// To are the recipients, in RFC 5321 Mailbox form.
	To []string
	// DSN parameters (RFC 3461 section 4): Return is "FULL", "HDRS" or
	// "" (not given); EnvID is ENVID, decoded. Notify[i] (NEVER, or some
	// of SUCCESS, FAILURE, DELAY; nil when not given) and ORcpt[i]
	// ("rfc822;addr" or "utf-8;addr", "" when not given) belong to To[i].
	Return string
	EnvID  string
	Notify [][]string
	ORcpt  []string
	// RequireTLS is the REQUIRETLS parameter (RFC 8689): deliver only
	// over verified TLS, or bounce.
	RequireTLS bool
	// UTF8 is set when the envelope or header needs SMTPUTF8 (RFC 6531).
	UTF8 bool
	// Account is the submitting account's address; "" for mail the
	// server received and forwards (aliases).
	Account string
}

// Limits bound what one connection may do. Zero fields take defaults.
type Limits struct {
	// MaxMessageSize bounds a message (SIZE, DATA, BDAT). Default 64 MiB.
	MaxMessageSize int64
	// MaxRecipients bounds RCPT TO per message. Default 100.
	MaxRecipients int
	// MaxCommandLength bounds a command line, CRLF included. Default
	// 4096.
	MaxCommandLength int
	// Timeout bounds the wait for a command or for more message data
	// (RFC 5321 section 4.5.3.2.7: at least 5 minutes). Default 5m.
	Timeout time.Duration
	// WriteTimeout bounds one write to a client that stopped reading.
	// Default 5m.
	WriteTimeout time.Duration
	// LoginTimeout ends submission connections that have not
	// authenticated in time. Default 60s.
	LoginTimeout time.Duration
	// MaxMessagesPerHour and MaxRecipientsPerHour bound what one account
	// submits in any hour; 0 means no limit.
	MaxMessagesPerHour   int
	MaxRecipientsPerHour int
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = 64 << 20
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = 100
	}
	if l.MaxCommandLength <= 0 {
		l.MaxCommandLength = 4096
	}
	l.MaxCommandLength = max(l.MaxCommandLength, 512)
	if l.Timeout <= 0 {
		l.Timeout = 5 * time.Minute
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 5 * time.Minute
	}
	if l.LoginTimeout <= 0 {
		l.LoginTimeout = time.Minute
	}
	return l
}

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 30 * time.Second

// Server holds what every SMTP and LMTP session shares. Set the fields,
// then call ServeConn for each connection.
type Server struct {
	// Hostname names the server in the greeting, in Received fields and
	// as the authserv-id of Authentication-Results.
	Hostname string
	Auth     auth.Authenticator
	// Resolver decides where mail for an address goes and which
	// addresses an account may send as.
	Resolver *deliver.Resolver
	// Deliverer stores messages for local recipients.
	Deliverer *deliver.Deliverer
	// Verifier, when set, checks SPF, DKIM and DMARC on the MX and
	// records them in an Authentication-Results field.
	Verifier Verifier
	// Signer, when set, DKIM-signs submitted messages.
	Signer Signer
	// Queue, when set, takes submitted mail for remote recipients,
	// forwarding to remote alias targets, and local deliveries that
	// failed temporarily after others of the same message succeeded.
	// Without it remote recipients are refused (451 4.3.0).
	Queue Queue
	// TLS is the server's TLS configuration; nil turns off STARTTLS and
	// implicit TLS.
	TLS *tls.Config
	// TrustedNetworks may use LMTP over TCP; unix sockets are trusted.
	TrustedNetworks []netip.Prefix
	Limits          Limits
	// SpoolDir holds message data beyond spoolMemory while it arrives.
	SpoolDir string
	Logger   *slog.Logger

	initOnce sync.Once
	limits   Limits
	log      *slog.Logger
	gosmtp   [4]*gosmtp.Server
	accept   [4]*connListener
	rate     *rateLimiter

	sessions sessions.Registry
	nextID   atomic.Uint64
}

// init builds one go-smtp server per kind of listener, each serving the
// connections ServeConn hands it.
func (s *Server) init() {
	s.initOnce.Do(func() {
		s.limits = s.Limits.withDefaults()
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		s.rate = newRateLimiter(s.limits.MaxMessagesPerHour, s.limits.MaxRecipientsPerHour, time.Now)
		for _, kind := range []Listener{MX, Submission, Submissions, LMTP} {
			gs := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
				return s.newSession(kind, c)
			}))
			gs.Domain = s.Hostname
			gs.LMTP = kind == LMTP
			gs.MaxRecipients = s.limits.MaxRecipients
			gs.MaxMessageBytes = s.limits.MaxMessageSize
			// conn bounds lines and owns TLS and timeouts: go-smtp
			// would close the session on a long line, and cannot bound
			// lines under TLS it did not start itself.
			gs.MaxLineLength = 0
			gs.ReadTimeout, gs.WriteTimeout = 0, 0
			gs.TLSConfig = nil
			// The session decides (auth.Authenticator.Secure): AUTH
			// is offered only where credentials may be used.
			gs.AllowInsecureAuth = true
			gs.EnableSMTPUTF8 = true
			gs.EnableDSN = true
			// conn advertises REQUIRETLS once TLS is up (go-smtp only
			// would on TLS it started); the parameter is checked in
			// Mail.
			gs.EnableREQUIRETLS = kind != LMTP
			gs.ErrorLog = errorLog{s.log.With("proto", kind.String())}
			l := newConnListener()
			s.gosmtp[kind], s.accept[kind] = gs, l
			go gs.Serve(l)
		}
	})
}

// ServeConn runs one connection of the given kind to its end.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn, kind Listener) {
	s.init()
	c := newConn(ctx, s, nc, kind)
	// Tracked before the TLS handshake, so that a forced shutdown ends a
	// handshake that hangs too.
	untrack, ok := s.sessions.Track(c)
	if !ok {
		c.refuse("421 4.3.2 Service shutting down, try again later")
		return
	}
	defer untrack()
	if kind == LMTP && !c.trusted() {
		// RFC 5321 section 3.1: 554 as the greeting refuses service.
		c.log.Warn("LMTP connection from an untrusted address refused")
		c.refuse("554 5.7.1 LMTP is only for trusted networks")
		return
	}
	if kind == Submissions && !c.handshake() {
		return
	}
	if !s.accept[kind].hand(c) {
		c.Close()
		return
	}
	// go-smtp closes the connection when its session has ended, the
	// message in progress included: the store stays open until then.
	<-c.done
}

// Shutdown ends every session: one waiting for a command gets 421 at
// once; one in a mail transaction finishes it first. It returns when all
// sessions ended or ctx is done; then it closes the remaining
// connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	for _, l := range s.accept {
		l.Close()
	}
	return s.sessions.Shutdown(ctx)
}

// Sessions reports the number of open connections.
func (s *Server) Sessions() int {
	return s.sessions.Count()
}

// connListener hands connections accepted by the server package to a
// go-smtp server's Serve loop.
type connListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// hand gives c to Serve; false when the listener is closed.
func (l *connListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "postfach" }

// errorLog takes go-smtp's internal error reports (panics in a session,
// connection errors) into our log.
type errorLog struct{ log *slog.Logger }

// They are mostly clients that went away, hence debug; a panic in a
// session also comes this way, and it is logged with its stack.
func (e errorLog) Printf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "panic") {
		e.log.Error("go-smtp: " + msg)
		return
	}
	e.log.Debug("go-smtp: " + msg)
}

func (e errorLog) Println(v ...any) { e.Printf("%s", fmt.Sprint(v...)) }

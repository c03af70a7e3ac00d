package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/auth"
	"postfach/internal/deliver"
	"postfach/internal/mailauth"
	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
	"postfach/internal/tlsutil"
)

const (
	testHost     = "mail.example.org"
	testPassword = "secret"
)

// testEnv is a Server over a real store, on real sockets.
type testEnv struct {
	t        testing.TB
	srv      *Server
	st       *sqlite.Store
	hub      *notify.Hub
	addr     map[Listener]string
	queue    *fakeQueue
	verifier *fakeVerifier
	signer   *fakeSigner
	tlsConf  *tls.Config
	unixSock string
}

type envOptions struct {
	limits  Limits
	trusted []netip.Prefix
	noQueue bool
	unix    bool // LMTP also on a unix socket
	auth    func(auth.Authenticator) auth.Authenticator
	// verifier and signer replace the fakes (real mailauth ones).
	verifier Verifier
	signer   Signer
}

func newEnv(t testing.TB, opts envOptions) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	hub := notify.NewHub()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true, Hub: hub})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"example.org", "example.net"} {
		if _, err := st.AddDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	params := auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}
	for _, a := range []string{"alice@example.org", "bob@example.org", "carol@example.net", "postmaster@example.org"} {
		h, err := auth.Hash(testPassword, params)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddAccount(ctx, a, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddAlias(ctx, "sales@example.org", []string{"alice@example.org", "friend@remote.test"}); err != nil {
		t.Fatal(err)
	}
	svc, err := auth.NewService(st, auth.Options{Params: params, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	var authn auth.Authenticator = svc
	if opts.auth != nil {
		authn = opts.auth(svc)
	}
	certFile, keyFile, err := tlsutil.SelfSigned(dir, testHost)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("POSTFACH_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	spool := filepath.Join(dir, "tmp")
	os.MkdirAll(spool, 0o700)
	e := &testEnv{t: t, st: st, hub: hub, addr: map[Listener]string{}, verifier: &fakeVerifier{}, signer: &fakeSigner{}}
	if !opts.noQueue {
		e.queue = &fakeQueue{}
	}
	e.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	trusted := opts.trusted
	if trusted == nil {
		trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	e.srv = &Server{
		Hostname:        testHost,
		Auth:            authn,
		Resolver:        deliver.NewResolver(st, deliver.ResolverOptions{SubaddressDelimiters: "+", Postmaster: "postmaster@example.org"}),
		Deliverer:       deliver.New(st, deliver.Options{}),
		Verifier:        e.verifier,
		Signer:          e.signer,
		TLS:             e.tlsConf,
		TrustedNetworks: trusted,
		Limits:          opts.limits,
		SpoolDir:        spool,
		Logger:          logger,
	}
	if e.queue != nil {
		e.srv.Queue = e.queue
	}
	if opts.verifier != nil {
		e.srv.Verifier = opts.verifier
	}
	if opts.signer != nil {
		e.srv.Signer = opts.signer
	}
	sessions, endSessions := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var listeners []net.Listener
	serve := func(ln net.Listener, kind Listener) {
		listeners = append(listeners, ln)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.srv.ServeConn(sessions, c, kind)
				}()
			}
		}()
	}
	for _, kind := range []Listener{MX, Submission, Submissions, LMTP} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.addr[kind] = ln.Addr().String()
		serve(ln, kind)
	}
	if opts.unix {
		e.unixSock = filepath.Join(dir, "lmtp.sock")
		ln, err := net.Listen("unix", e.unixSock)
		if err != nil {
			t.Fatal(err)
		}
		serve(ln, LMTP)
	}
	t.Cleanup(func() {
		for _, ln := range listeners {
			ln.Close()
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		endSessions()
		wg.Wait()
		st.Close()
	})
	return e
}

func (e *testEnv) account(addr string) store.Account {
	e.t.Helper()
	a, err := e.st.AccountByAddress(context.Background(), addr)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// mailbox returns the messages stored in an account's mailbox.
func (e *testEnv) mailbox(addr, name string) []string {
	e.t.Helper()
	ctx := context.Background()
	mail := e.st.Mail(e.account(addr).ID)
	mb, err := mail.Mailbox(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	snap, err := mail.Snapshot(ctx, mb.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(snap.UIDs) == 0 {
		return nil
	}
	msgs, err := mail.Messages(ctx, mb.ID, store.UIDSetOf(snap.UIDs...), store.FetchOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := range msgs {
		b, err := mail.OpenBody(ctx, &msgs[i])
		if err != nil {
			e.t.Fatal(err)
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

// client is a raw SMTP client whose tests read like transcripts.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func (e *testEnv) dial(kind Listener) *client {
	e.t.Helper()
	var c net.Conn
	var err error
	if kind == Submissions {
		c, err = tls.Dial("tcp", e.addr[kind], &tls.Config{InsecureSkipVerify: true, ServerName: testHost})
	} else {
		c, err = net.Dial("tcp", e.addr[kind])
	}
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, conn: c, br: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	cl.conn.SetDeadline(time.Now().Add(30 * time.Second))
	return cl
}

// reply reads one reply, all its lines, and returns it.
func (c *client) reply() string {
	c.t.Helper()
	var b strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading reply: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			return b.String()
		}
	}
}

// expect reads a reply and checks that its last line starts with want.
func (c *client) expect(want string) string {
	c.t.Helper()
	r := c.reply()
	lines := strings.Split(strings.TrimRight(r, "\r\n"), "\r\n")
	if !strings.HasPrefix(lines[len(lines)-1], want) {
		c.t.Fatalf("reply %q, want %q", r, want)
	}
	return r
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// do sends a command line and expects a reply.
func (c *client) do(cmd, want string) string {
	c.t.Helper()
	c.send(cmd + "\r\n")
	return c.expect(want)
}

// startTLS upgrades the connection.
func (c *client) startTLS() {
	c.t.Helper()
	c.do("STARTTLS", "220 2.0.0")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: testHost})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
}

// data sends DATA, the message (dot-stuffed) and the final dot.
func (c *client) data(msg, want string) string {
	c.t.Helper()
	c.do("DATA", "354")
	c.send(dotStuff(msg) + ".\r\n")
	return c.expect(want)
}

func dotStuff(msg string) string {
	if !strings.HasSuffix(msg, "\r\n") {
		msg += "\r\n"
	}
	lines := strings.SplitAfter(msg, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = "." + l
		}
	}
	return strings.Join(lines, "")
}

func (c *client) close() { c.conn.Close() }

func testMessage(from, to, subject string) string {
	return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%d@test>\r\n\r\nHello.\r\n", from, to, subject, time.Now().UnixNano())
}

// fakeQueue keeps what is queued, in memory.
type fakeQueue struct {
	mu   sync.Mutex
	fail error
	msgs []queued
}

type queued struct {
	env  Envelope
	body string
}

func (q *fakeQueue) Enqueue(ctx context.Context, env Envelope, msg io.ReaderAt, size int64) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return "", q.fail
	}
	b, err := io.ReadAll(io.NewSectionReader(msg, 0, size))
	if err != nil {
		return "", err
	}
	q.msgs = append(q.msgs, queued{env: env, body: string(b)})
	return fmt.Sprintf("Q%d", len(q.msgs)), nil
}

func (q *fakeQueue) all() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queued(nil), q.msgs...)
}

// fakeVerifier decides by the MAIL FROM domain: reject.test is refused,
// quarantine.test goes to Junk, defer.test is deferred.
type fakeVerifier struct {
	mu    sync.Mutex
	calls []mailauth.Input
}

func (v *fakeVerifier) Verify(ctx context.Context, in mailauth.Input) mailauth.Result {
	v.mu.Lock()
	v.calls = append(v.calls, in)
	v.mu.Unlock()
	res := mailauth.Result{Header: "Authentication-Results: " + testHost + "; spf=pass smtp.mailfrom=" + in.MailFrom + "\r\n"}
	switch {
	case strings.HasSuffix(in.MailFrom, "@reject.test"):
		res.Action, res.Reason = mailauth.Reject, "DMARC policy of reject.test says reject"
	case strings.HasSuffix(in.MailFrom, "@quarantine.test"):
		res.Action = mailauth.Quarantine
	case strings.HasSuffix(in.MailFrom, "@defer.test"):
		res.Action = mailauth.Defer
	}
	return res
}

// fakeSigner signs for example.org only, with a field that records the
// signed message's size.
type fakeSigner struct {
	mu     sync.Mutex
	signed []string
}

func (s *fakeSigner) Sign(ctx context.Context, domain string, msg io.ReaderAt, size int64) (string, error) {
	if domain != "example.org" {
		return "", fmt.Errorf("signing %s: %w", domain, mailauth.ErrNoKeys)
	}
	b, err := io.ReadAll(io.NewSectionReader(msg, 0, size))
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.signed = append(s.signed, string(b))
	s.mu.Unlock()
	return fmt.Sprintf("DKIM-Signature: v=1; a=ed25519-sha256; d=%s; s=test;\r\n\tb=%d\r\n", domain, size), nil
}

// revocableAuth hands out sessions whose Revoked channel the test closes.
type revocableAuth struct {
	auth.Authenticator
	revoked chan struct{}
}

func (r *revocableAuth) Start(conn auth.Conn, mech string) (auth.Exchange, error) {
	ex, err := r.Authenticator.Start(conn, mech)
	if err != nil {
		return nil, err
	}
	return &revocableExchange{Exchange: ex, revoked: r.revoked}, nil
}

type revocableExchange struct {
	auth.Exchange
	revoked chan struct{}
}

func (x *revocableExchange) Session() auth.Session {
	s := x.Exchange.Session()
	s.Revoked = x.revoked
	return s
}

// nopConn is a socket that is never there: deadlines and closes do
// nothing (the fuzz tests drive conn's reading alone).
type nopConn struct{ net.Conn }

func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
func (nopConn) SetDeadline(time.Time) error      { return nil }
func (nopConn) Close() error                     { return nil }

// readConn reads from r and discards writes.
type readConn struct{ r io.Reader }

func (c readConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (readConn) Write(p []byte) (int, error)      { return len(p), nil }
func (readConn) Close() error                     { return nil }
func (readConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (readConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (readConn) SetDeadline(time.Time) error      { return nil }
func (readConn) SetReadDeadline(time.Time) error  { return nil }
func (readConn) SetWriteDeadline(time.Time) error { return nil }

// newTestReader is the buffered reader newConn gives a conn.
func newTestReader(c *conn) *bufio.Reader {
	return bufio.NewReaderSize(readerFunc(c.readRaw), max(c.limit+1, 4096))
}

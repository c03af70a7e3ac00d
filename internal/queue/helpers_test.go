package queue

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/dns/dnstest"
)

// testCA issues certificates that the queue under test trusts.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "postfach queue test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a TLS certificate for names.
func (ca *testCA) issue(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// received is one message a remote took.
type received struct {
	from     string
	to       []string
	mailOpts gosmtp.MailOptions
	rcptOpts []gosmtp.RcptOptions
	data     []byte
	tls      bool
	helo     string
}

// remoteMX is an SMTP server playing a remote domain's MX, built on
// go-smtp's server: an independent implementation of the other side.
type remoteMX struct {
	t    testing.TB
	srv  *gosmtp.Server
	ln   net.Listener
	port int

	mu   sync.Mutex
	msgs []received
	// rcptReply decides each RCPT: nil accepts; it may return a
	// *gosmtp.SMTPError.
	rcptReply func(to string) error
	// dataReply decides the end of data: nil accepts.
	dataReply func() error
	sessions  int // go-smtp starts one per connection and one after STARTTLS
	conns     int
}

// countingListener counts the connections a remote accepts.
type countingListener struct {
	net.Listener
	r *remoteMX
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.r.mu.Lock()
		l.r.conns++
		l.r.mu.Unlock()
	}
	return c, err
}

type remoteOptions struct {
	tlsConfig  *tls.Config // nil: no STARTTLS
	dsn        bool
	smtputf8   bool
	requireTLS bool
	maxSize    int64
	addr       string // default 127.0.0.1:0
}

func startRemote(t testing.TB, o remoteOptions) *remoteMX {
	t.Helper()
	r := &remoteMX{t: t}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		r.mu.Lock()
		r.sessions++
		r.mu.Unlock()
		return &remoteSession{r: r, c: c}, nil
	}))
	srv.Domain = "mx.remote.test"
	srv.TLSConfig = o.tlsConfig
	srv.EnableDSN = o.dsn
	srv.EnableSMTPUTF8 = o.smtputf8
	srv.EnableREQUIRETLS = o.requireTLS
	srv.MaxMessageBytes = o.maxSize
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = testLogger{t}
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.srv, r.ln = srv, ln
	r.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(countingListener{ln, r})
	t.Cleanup(func() { srv.Close() })
	return r
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, v ...any) { l.t.Logf("remote: "+format, v...) }
func (l testLogger) Println(v ...any)               { l.t.Log(append([]any{"remote:"}, v...)...) }

func (r *remoteMX) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

func (r *remoteMX) setRcptReply(f func(to string) error) {
	r.mu.Lock()
	r.rcptReply = f
	r.mu.Unlock()
}

func (r *remoteMX) setDataReply(f func() error) {
	r.mu.Lock()
	r.dataReply = f
	r.mu.Unlock()
}

type remoteSession struct {
	r   *remoteMX
	c   *gosmtp.Conn
	cur received
}

func (s *remoteSession) Reset()        { s.cur = received{} }
func (s *remoteSession) Logout() error { return nil }

func (s *remoteSession) Mail(from string, opts *gosmtp.MailOptions) error {
	s.cur = received{from: from, helo: s.c.Hostname()}
	if opts != nil {
		s.cur.mailOpts = *opts
	}
	_, s.cur.tls = s.c.TLSConnectionState()
	return nil
}

func (s *remoteSession) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	s.r.mu.Lock()
	f := s.r.rcptReply
	s.r.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.cur.to = append(s.cur.to, to)
	if opts != nil {
		s.cur.rcptOpts = append(s.cur.rcptOpts, *opts)
	} else {
		s.cur.rcptOpts = append(s.cur.rcptOpts, gosmtp.RcptOptions{})
	}
	return nil
}

func (s *remoteSession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	f := s.r.dataReply
	s.r.mu.Unlock()
	if f != nil {
		if err := f(); err != nil {
			return err
		}
	}
	s.cur.data = b
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.cur)
	s.r.mu.Unlock()
	return nil
}

// clock is a controllable time source: tests move it and Kick the queue.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// localBox is a LocalDeliverer for tests: it hosts domains and keeps what
// it is given.
type localBox struct {
	mu      sync.Mutex
	domains map[string]bool
	got     map[string][][]byte
	paths   map[string][]string // return paths, by recipient
	fail    error
}

func newLocalBox(domains ...string) *localBox {
	b := &localBox{domains: map[string]bool{}, got: map[string][][]byte{}, paths: map[string][]string{}}
	for _, d := range domains {
		b.domains[d] = true
	}
	return b
}

func (b *localBox) DeliverLocal(ctx context.Context, returnPath, to string, msg io.ReaderAt, size int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.domains[domainOf(to)] {
		return ErrNotLocal
	}
	if b.fail != nil {
		return b.fail
	}
	data := make([]byte, size)
	if _, err := msg.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	b.got[to] = append(b.got[to], data)
	b.paths[to] = append(b.paths[to], returnPath)
	return nil
}

func (b *localBox) setFail(err error) {
	b.mu.Lock()
	b.fail = err
	b.mu.Unlock()
}

func (b *localBox) returnPaths(to string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.paths[to]...)
}

func (b *localBox) messages(to string) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.got[to]...)
}

// env is a queue under test with its world: resolver, remote, clock.
type env struct {
	t      testing.TB
	dir    string
	q      *Queue
	clock  *clock
	local  *localBox
	ca     *testCA
	remote *remoteMX
	opts   Options
}

// testZone routes remote.test to 127.0.0.1 (where the remote listens),
// local.test is ours.
const testZone = `
remote.test.      MX 10 mx.remote.test.
mx.remote.test.   A  127.0.0.1
`

type envOptions struct {
	ca     *testCA // default: a new one
	zone   string
	remote remoteOptions
	noTLS  bool // the remote offers no STARTTLS
	opts   func(*Options)
}

func newEnv(t testing.TB, eo envOptions) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "queue"), clock: newClock(), local: newLocalBox("local.test"), ca: eo.ca}
	if e.ca == nil {
		e.ca = newTestCA(t)
	}
	if !eo.noTLS && eo.remote.tlsConfig == nil {
		cert := e.ca.issue(t, "mx.remote.test")
		eo.remote.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	e.remote = startRemote(t, eo.remote)
	zone := eo.zone
	if zone == "" {
		zone = testZone
	}
	e.opts = Options{
		Resolver:       dnstest.Resolver(t, zone),
		Hostname:       "mail.local.test",
		Local:          e.local,
		RootCAs:        e.ca.pool,
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SMTPPort:       e.remote.port,
		Now:            e.clock.Now,
		NoSync:         true,
		ConnectTimeout: 5 * time.Second,
		PollInterval:   50 * time.Millisecond,
	}
	if eo.opts != nil {
		eo.opts(&e.opts)
	}
	e.open()
	return e
}

// open opens and starts the queue on e.dir.
func (e *env) open() {
	e.t.Helper()
	q, err := Open(e.dir, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.q = q
	e.t.Cleanup(func() { q.Close() })
}

// restart stops the queue cleanly and opens it again.
func (e *env) restart() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.q.Stop(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := e.q.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// enqueue queues a small message from sender to rcpts.
func (e *env) enqueue(from string, rcpts ...string) string {
	e.t.Helper()
	var to []Recipient
	for _, r := range rcpts {
		to = append(to, Recipient{Addr: r})
	}
	return e.enqueueEnv(Envelope{From: from, To: to}, testMessage(from, rcpts[0], "hello"))
}

func (e *env) enqueueEnv(envl Envelope, msg []byte) string {
	e.t.Helper()
	id, err := e.q.Enqueue(context.Background(), envl, bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		e.t.Fatalf("Enqueue: %v", err)
	}
	return id
}

func testMessage(from, to, subject string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject + "\r\nMessage-ID: <" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@local.test>\r\n\r\nHello there.\r\n.leading dot\r\n")
}

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// list returns the queue listing.
func (e *env) list() []MessageInfo {
	e.t.Helper()
	l, err := e.q.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// waitAttempts waits until message id's recipients have been tried n
// times in total.
func (e *env) waitAttempts(id string, n int) MessageInfo {
	e.t.Helper()
	var mi MessageInfo
	waitFor(e.t, fmt.Sprintf("%d attempts of %s", n, id), func() bool {
		for _, m := range e.list() {
			if m.ID == id {
				total := 0
				for _, r := range m.Recipients {
					total += r.Attempts
				}
				mi = m
				return total >= n
			}
		}
		return false
	})
	return mi
}

// waitGone waits until message id left the queue.
func (e *env) waitGone(id string) {
	e.t.Helper()
	waitFor(e.t, id+" to leave the queue", func() bool {
		for _, m := range e.list() {
			if m.ID == id {
				return false
			}
		}
		return true
	})
}

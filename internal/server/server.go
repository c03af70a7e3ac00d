// Package server runs postfach: it opens the store, prepares TLS, binds
// the configured listeners, hands connections to the protocol servers and
// shuts everything down in order.
//
// Invariants:
//   - Only one server runs on a data directory (an exclusive lock), so
//     that garbage collection of unreferenced blobs at start can never
//     race with a writer. Admin commands share the directory without it.
//   - Connection limits (total and per client address) are enforced
//     before a protocol sees the connection.
//   - Shutdown stops accepting, lets sessions finish the command they
//     run, says BYE to the rest, and closes the store last.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"postfach/internal/auth"
	"postfach/internal/config"
	"postfach/internal/guard"
	"postfach/internal/imap"
	"postfach/internal/mailauth"
	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
	"postfach/internal/tlsutil"
)

// Run serves until ctx is cancelled (SIGTERM, SIGINT), then shuts down
// gracefully. It prints the client settings to standard output.
func Run(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	srv, err := New(cfg, Options{Logger: logger, Out: os.Stdout})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		srv.Close()
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// Options tune a Server beyond its configuration.
type Options struct {
	Logger *slog.Logger
	// Out receives the human-readable start-up summary (client settings,
	// the first postmaster password). nil discards it.
	Out io.Writer
	// NoSync turns off fsync in the store: tests and benchmarks only.
	NoSync bool
}

// spareBlobs is how many blob files the store keeps created ahead of
// APPENDs: enough for a few group commits of many sessions at once.
const spareBlobs = 64

// Server is a running postfach instance.
type Server struct {
	cfg   *config.Config
	opts  Options
	log   *slog.Logger
	lock  *sqlite.DirLock
	Store *sqlite.Store
	Hub   *notify.Hub
	Auth  *auth.Service
	IMAP  *imap.Server
	// Guard is the login guard (bans, throttling) behind Auth.
	Guard *guard.Guard

	// handlers serve connections by listener name; shutdowns end each
	// protocol's sessions. Protocol files fill both in New.
	handlers  map[string]func(ctx context.Context, conn net.Conn)
	shutdowns []func(ctx context.Context) error
	TLS       *tls.Config
	certFP    string // SHA-256 of the certificate, shown for self-signed ones
	acme      *tlsutil.ACME

	// stopGuard and stopACME end the background work Start began.
	stopGuard, stopACME func()

	limiter *connLimiter
	// sessions is the context of every connection. It is not the context
	// Start got: SIGTERM cancels that one, while sessions must still
	// finish the command they run. Shutdown ends it last.
	sessions    context.Context
	endSessions context.CancelFunc

	mu        sync.Mutex
	listeners map[string]net.Listener
	wg        sync.WaitGroup
}

// New opens the data directory and the store and prepares TLS; it binds
// nothing yet.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	s := &Server{cfg: cfg, opts: opts, log: opts.Logger, Hub: notify.NewHub(), listeners: map[string]net.Listener{}, handlers: map[string]func(context.Context, net.Conn){}}
	s.sessions, s.endSessions = context.WithCancel(context.Background())
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	lock, err := sqlite.LockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: cfg.DataDir, Hub: s.Hub, Logger: s.log, NoSync: opts.NoSync, SpareBlobs: spareBlobs})
	if err != nil {
		s.lock.Close()
		return nil, err
	}
	s.Store = st
	if err := s.setupTLS(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.setupGuard(); err != nil {
		s.Close()
		return nil, err
	}
	authSvc, err := auth.NewService(st, auth.Options{
		Limiter:                s.Guard,
		Params:                 s.hashParams(),
		Logger:                 s.log,
		AllowPlaintextLoopback: cfg.Auth.AllowPlaintextLoopback,
		SCRAMIterations:        cfg.Auth.SCRAMIterations,
		MinPasswordLength:      cfg.Auth.MinPasswordLength,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Auth = authSvc
	// Each protocol file (imap.go, pop3.go, ...) registers the handlers
	// of its listeners and its shutdown.
	for _, setup := range []func() error{s.setupIMAP, s.setupPOP3, s.setupSMTP, s.setupHTTP} {
		if err := setup(); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.limiter = newConnLimiter(cfg.Limits.MaxConnections, cfg.Limits.MaxConnectionsPerIP)
	return s, nil
}

// Start creates the first account if there is none, collects garbage
// left by a crash, and binds every configured listener.
func (s *Server) Start(ctx context.Context) error {
	stats, err := s.Store.CollectGarbage(ctx, s.lock, sqlite.GCOptions{})
	if err != nil {
		return fmt.Errorf("collecting garbage: %w", err)
	}
	s.log.Debug("garbage collected", "stats", fmt.Sprintf("%+v", stats))
	if err := s.ensurePostmaster(ctx); err != nil {
		return err
	}
	for _, w := range s.cfg.Warnings() {
		s.log.Warn(w)
	}
	s.startGuard()
	if err := s.startACME(); err != nil {
		return err
	}
	for _, l := range s.cfg.Listen.Served() {
		ln, err := s.listen(l) // TCP, or a unix socket for LMTP (smtp.go)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("listen.%s: %w", l.Name, err)
		}
		s.mu.Lock()
		s.listeners[l.Name] = ln
		s.mu.Unlock()
		s.log.Info("listening", "listener", l.Name, "addr", ln.Addr().String(), "implicit_tls", l.ImplicitTLS)
		s.wg.Add(1)
		go s.accept(l, ln)
	}
	s.printSettings()
	return nil
}

// Addr returns the bound address of a listener ("imap", "imaps"), or nil.
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ln := s.listeners[name]; ln != nil {
		return ln.Addr()
	}
	return nil
}

func (s *Server) accept(l config.Listener, ln net.Listener) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "listener", l.Name, "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if guardedListener(l.Name) && s.Guard.Banned(remoteAddr(conn)) {
			s.refuseBanned(l, conn)
			continue
		}
		release, ok := s.limiter.acquire(conn.RemoteAddr())
		if !ok {
			s.log.Warn("connection refused: limit reached", "listener", l.Name, "remote", conn.RemoteAddr().String())
			if !l.ImplicitTLS {
				conn.SetWriteDeadline(time.Now().Add(time.Second))
				io.WriteString(conn, tooManyConnections(l.Name))
			}
			conn.Close()
			continue
		}
		go func() {
			defer release()
			if h := s.handlers[l.Name]; h != nil {
				h(s.sessions, conn)
			} else {
				conn.Close()
			}
		}()
	}
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.listeners {
		ln.Close()
	}
}

// Shutdown stops accepting, ends the sessions (BYE), and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	s.wg.Wait()
	// Protocols shut down side by side: each lets its sessions finish
	// the command they run.
	errs := make(chan error, len(s.shutdowns))
	for _, shutdown := range s.shutdowns {
		go func() { errs <- shutdown(ctx) }()
	}
	var err error
	for range s.shutdowns {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	s.endSessions()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the store and the data directory lock.
func (s *Server) Close() error {
	s.endSessions()
	if s.stopACME != nil {
		s.stopACME()
		s.stopACME = nil
	}
	if s.stopGuard != nil {
		// The guard writes its last bans before the store closes.
		s.stopGuard()
		s.stopGuard = nil
	}
	var err error
	if s.Store != nil {
		err = s.Store.Close()
		s.Store = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}

// ensurePostmaster creates postmaster@<domain> with a random password
// when the store has no account at all, and prints the password once.
func (s *Server) ensurePostmaster(ctx context.Context) error {
	accts, err := s.Store.Accounts(ctx, "")
	if err != nil {
		return err
	}
	if len(accts) > 0 {
		return nil
	}
	domain := s.cfg.Domain()
	if _, err := s.Store.AddDomain(ctx, domain); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("adding domain %s: %w", domain, err)
	}
	if keys, err := mailauth.LoadKeys(s.cfg.DataDir, domain); err == nil && len(keys) == 0 {
		// The first domain signs its mail from the start.
		if _, err := mailauth.GenerateKeys(s.cfg.DataDir, domain, time.Now()); err != nil {
			s.log.Warn("making DKIM keys failed; retry with: postfach dkim generate "+domain, "err", err)
		} else {
			fmt.Fprintf(s.opts.Out, "\nMade DKIM keys for %s; the DNS records to publish: postfach dkim %s\n", domain, domain)
		}
	}
	pass := randomPassword()
	hash, err := auth.Hash(pass, s.hashParams())
	if err != nil {
		return err
	}
	addr := "postmaster@" + domain
	if _, err := s.Store.AddAccount(ctx, addr, hash); err != nil {
		return fmt.Errorf("creating %s: %w", addr, err)
	}
	s.log.Info("created the first account", "address", addr)
	fmt.Fprintf(s.opts.Out, "\nCreated the first account:\n  address:  %s\n  password: %s\n(shown only now; change it with: postfach user passwd %s)\n", addr, pass, addr)
	return nil
}

// randomPassword returns 20 characters from an alphabet without look-alikes
// (about 110 bits).
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// printSettings tells a human what to type into a mail client.
func (s *Server) printSettings() {
	w := s.opts.Out
	fmt.Fprintf(w, "\npostfach is running. Mail client settings:\n")
	fmt.Fprintf(w, "  Server:     %s\n", s.cfg.Hostname)
	fmt.Fprintf(w, "  User name:  the full email address, e.g. postmaster@%s\n", s.cfg.Domain())
	fmt.Fprintf(w, "  Password:   the account's password\n")
	for _, row := range []struct{ listener, proto, security string }{
		{"imaps", "IMAP", "SSL/TLS (implicit TLS)   recommended"},
		{"imap", "IMAP", "STARTTLS"},
		{"pop3s", "POP3", "SSL/TLS (implicit TLS)   recommended"},
		{"pop3", "POP3", "STARTTLS"},
		{"submissions", "SMTP", "SSL/TLS (implicit TLS)   recommended"},
		{"submission", "SMTP", "STARTTLS"},
	} {
		addr := s.Addr(row.listener)
		if addr == nil {
			continue
		}
		_, port, _ := net.SplitHostPort(addr.String())
		fmt.Fprintf(w, "  %-11s port %-5s %s\n", row.proto, port, row.security)
	}
	if addr := s.Addr("smtp"); addr != nil {
		_, port, _ := net.SplitHostPort(addr.String())
		fmt.Fprintf(w, "  Other mail servers deliver to port %s (MX record: %s).\n", port, s.cfg.Hostname)
	}
	s.printAutoconfig(w)
	for _, warning := range s.cfg.Warnings() {
		fmt.Fprintf(w, "  Not available: %s\n", warning)
	}
	if s.certFP != "" {
		fmt.Fprintf(w, "  Certificate: self-signed for %s; clients will ask you to accept it.\n", s.cfg.Hostname)
		fmt.Fprintf(w, "    SHA-256 fingerprint: %s\n", s.certFP)
		fmt.Fprintf(w, "    Set [tls] cert and key in the config to use a CA-signed certificate.\n")
	}
	fmt.Fprintln(w)
}

func (s *Server) hashParams() auth.Params {
	return auth.Params{Time: s.cfg.Auth.Time, MemoryKiB: s.cfg.Auth.MemoryKiB, Threads: s.cfg.Auth.Threads}
}

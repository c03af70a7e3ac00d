package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"postfach/internal/config"
	"postfach/internal/deliver"
	"postfach/internal/dns"
	"postfach/internal/mailauth"
	"postfach/internal/queue"
	"postfach/internal/smtp"
)

// setupSMTP prepares SMTP for the smtp (MX), submission, submissions and
// lmtp listeners, and the outbound queue. The queue starts delivering at
// once: it may hold mail from an earlier run, whatever listeners are
// configured now.
func (s *Server) setupSMTP() error {
	cfg := s.cfg
	resolver, err := dns.NewWithOptions(cfg.DNS, dns.Options{Logger: s.log})
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	spool := filepath.Join(cfg.DataDir, "tmp")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return err
	}
	addresses := deliver.NewResolver(s.Store, deliver.ResolverOptions{
		SubaddressDelimiters: cfg.SMTP.SubaddressDelimiter,
		Postmaster:           "postmaster@" + cfg.Domain(),
		Logger:               s.log,
	})
	deliverer := deliver.New(s.Store, deliver.Options{Logger: s.log})
	verifier, err := mailauth.NewVerifier(mailauth.VerifierOptions{Resolver: resolver, AuthServID: cfg.Hostname, Logger: s.log})
	if err != nil {
		return err
	}

	qopts, err := queue.ConfigOptions(cfg)
	if err != nil {
		return err
	}
	signer := mailauth.NewSigner(cfg.DataDir)
	qopts.Resolver = resolver
	qopts.Local = localDelivery{deliverer: deliverer, resolver: addresses}
	qopts.Signer = signer // DSNs going out are signed too
	qopts.Logger = s.log.With("proto", "queue")
	qopts.NoSync = s.opts.NoSync
	q, err := queue.Open(queue.DataDirQueue(cfg.DataDir), qopts)
	if err != nil {
		return err
	}
	if err := q.Start(context.Background()); err != nil {
		q.Close()
		return err
	}
	// Shutdown stops the queue in order (below); a server closed without
	// it (a failed start) must not leave it running.
	go func() {
		<-s.sessions.Done()
		q.Close()
	}()

	srv := &smtp.Server{
		Hostname:        cfg.Hostname,
		Auth:            s.Auth,
		Resolver:        addresses,
		Deliverer:       deliverer,
		Verifier:        verifier,
		Signer:          signer,
		Queue:           queueAdapter{q},
		TLS:             s.TLS,
		TrustedNetworks: cfg.SMTP.TrustedNetworks(),
		Limits: smtp.Limits{
			MaxMessageSize:       int64(cfg.Limits.MaxMessageSize),
			MaxRecipients:        cfg.SMTP.MaxRecipients,
			MaxCommandLength:     int(cfg.SMTP.MaxCommandLength),
			Timeout:              cfg.SMTP.Timeout,
			WriteTimeout:         cfg.Limits.WriteTimeout,
			LoginTimeout:         cfg.Limits.LoginTimeout,
			MaxMessagesPerHour:   cfg.SMTP.MaxMessagesPerHour,
			MaxRecipientsPerHour: cfg.SMTP.MaxRecipientsPerHour,
		},
		SpoolDir: spool,
		Logger:   s.log,
	}
	for name, kind := range map[string]smtp.Listener{"smtp": smtp.MX, "submission": smtp.Submission, "submissions": smtp.Submissions, "lmtp": smtp.LMTP} {
		s.handlers[name] = func(ctx context.Context, conn net.Conn) { srv.ServeConn(ctx, conn, kind) }
	}
	s.shutdowns = append(s.shutdowns, func(ctx context.Context) error {
		// Sessions first: they may still queue mail. Then the queue
		// lets its attempts in flight record their outcome.
		err := srv.Shutdown(ctx)
		if qerr := q.Stop(ctx); err == nil && !errors.Is(qerr, context.Canceled) {
			err = qerr
		}
		if cerr := q.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return nil
}

// listen binds a configured listener: TCP, or for "unix:/path" (LMTP) a
// unix socket with the configured mode. A socket file a crashed run left
// behind is replaced; one another process still listens on is not.
func (s *Server) listen(l config.Listener) (net.Listener, error) {
	network, addr := l.Network()
	if network != "unix" {
		return net.Listen(network, addr)
	}
	if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", addr, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another process listens on this socket", addr)
		}
		os.Remove(addr)
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(addr, os.FileMode(s.cfg.SMTP.SocketMode())); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// queueAdapter gives the SMTP server the outbound queue.
type queueAdapter struct{ q *queue.Queue }

func (a queueAdapter) Enqueue(ctx context.Context, env smtp.Envelope, msg io.ReaderAt, size int64) (string, error) {
	qe := queue.Envelope{
		From:       env.From,
		RET:        env.Return,
		ENVID:      env.EnvID,
		RequireTLS: env.RequireTLS,
		SMTPUTF8:   env.UTF8,
		Account:    env.Account,
	}
	for i, to := range env.To {
		r := queue.Recipient{Addr: to}
		if i < len(env.Notify) && len(env.Notify[i]) > 0 {
			n, err := queue.ParseNotify(env.Notify[i]...)
			if err != nil {
				return "", err
			}
			r.Notify = n
		}
		if i < len(env.ORcpt) && env.ORcpt[i] != "" {
			t, addr, _ := cutType(env.ORcpt[i])
			r.ORCPTType, r.ORCPT = t, addr
		}
		qe.To = append(qe.To, r)
	}
	return a.q.Enqueue(ctx, qe, msg, size)
}

// cutType splits "rfc822;addr".
func cutType(s string) (typ, addr string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ';' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

// localDelivery delivers what the queue holds for local addresses: its DSNs
// to local senders, and local copies the SMTP server deferred.
type localDelivery struct {
	deliverer *deliver.Deliverer
	resolver  *deliver.Resolver
}

func (l localDelivery) DeliverLocal(ctx context.Context, returnPath, to string, msg io.ReaderAt, size int64) error {
	err := l.deliverer.DeliverTo(ctx, l.resolver, to, returnPath, msg, size)
	var de *deliver.Error
	switch {
	case errors.Is(err, deliver.ErrNotLocal):
		return queue.ErrNotLocal
	case errors.As(err, &de):
		// The reply the failure calls for, as the DSN reports it.
		return &queue.Error{Code: de.Code, Enhanced: de.Enhanced, Text: de.Text}
	}
	return err
}

// tooManyConnections is the line that turns a connection away when a
// connection limit is reached, in the listener's protocol.
func tooManyConnections(listener string) string {
	const text = "Too many connections, try again later\r\n"
	switch listener {
	case "pop3":
		// RFC 3206 section 4: SYS/TEMP, a temporary problem.
		return "-ERR [SYS/TEMP] " + text
	case "smtp", "submission", "lmtp":
		// RFC 5321 section 3.8: 421 closes the channel.
		return "421 4.7.0 " + text
	}
	return "* BYE " + text
}

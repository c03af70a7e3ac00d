// Package imap serves IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) over
// the mail store.
//
// Each connection runs through a small state machine (not authenticated,
// authenticated, selected, logout) on one goroutine that waits for the
// client, and each command on a worker goroutine shared by all sessions
// (session.run, workerPool); commands dispatch from a table (commands.go).
// Handlers return errors; one place (respond.go) turns them into BAD or NO
// and logs server faults.
//
// Invariants:
//   - Never write to the connection while a store call is in progress: the
//     store hands back data, the session writes it. A slow client stalls
//     only itself.
//   - Message sequence numbers live here, in the selected state, and change
//     only when the session reports EXPUNGE or EXISTS. EXPUNGE is never sent
//     while answering FETCH, STORE or SEARCH (RFC 9051 section 7.5.1), so
//     the client's numbering and ours always agree.
//   - Changes made by other sessions arrive as notify wake-ups; the session
//     reads them from the store (store.Mail.Changes), so nothing is missed
//     even when wake-ups coalesce.
//   - No password is accepted on a connection without TLS (LOGINDISABLED,
//     RFC 9051 section 6.2.3), unless the operator allowed it for loopback.
package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"postfach/internal/auth"
	"postfach/internal/imap/wire"
	"postfach/internal/notify"
	"postfach/internal/sessions"
	"postfach/internal/store"
)

// Limits bound what one connection may do. Zero fields take defaults.
type Limits struct {
	MaxLineLength  int
	MaxLiteralSize int64
	MaxMessageSize int64
	// IdleTimeout is the autologout timer for authenticated connections,
	// IDLE included; RFC 9051 section 5.4 and RFC 2177 ask for at least 30
	// minutes.
	IdleTimeout time.Duration
	// LoginTimeout ends connections that do not authenticate in time.
	LoginTimeout time.Duration
	// WriteTimeout bounds one flush to a client that stopped reading.
	WriteTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = 64 << 10
	}
	if l.MaxLiteralSize <= 0 {
		l.MaxLiteralSize = 64 << 10
	}
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = 64 << 20
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 30 * time.Minute
	}
	if l.LoginTimeout <= 0 {
		l.LoginTimeout = time.Minute
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 5 * time.Minute
	}
	return l
}

// Server holds what every IMAP session shares.
type Server struct {
	Store  store.Store
	Auth   auth.Authenticator
	Hub    *notify.Hub
	TLS    *tls.Config // nil: no STARTTLS, and no implicit TLS
	Logger *slog.Logger
	Limits Limits
	// SpoolDir holds large APPEND literals while they arrive.
	SpoolDir string

	sessions sessions.Registry
	nextID   atomic.Uint64
	changes  changeMemo // reads of changes shared by woken sessions
	pushes   pushQueue  // IDLE pushes
	workers  workerPool // the work of sessions
	// revocations ends the sessions of revoked credentials.
	revocations revokeWatch
	// readBufs and writeBufs lend sessions their buffers.
	readBufs  wire.ReaderPool
	writeBufs wire.WriterPool
}

// ServeConn runs one IMAP connection to its end. With implicitTLS the
// connection is wrapped in TLS before the greeting (port 993).
func (s *Server) ServeConn(ctx context.Context, conn net.Conn, implicitTLS bool) {
	sess := newSession(s, conn)
	untrack, ok := s.sessions.Track(sess)
	if !ok {
		conn.Close() // shutting down
		return
	}
	defer untrack()
	sess.run(ctx, implicitTLS)
}

// Shutdown tells every session to finish: a session waiting for a command
// or in IDLE gets BYE at once; one running a command finishes it first.
// Shutdown returns when all sessions ended or ctx is done; then it closes
// the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.sessions.Shutdown(ctx)
}

// Sessions reports the number of open sessions.
func (s *Server) Sessions() int {
	return s.sessions.Count()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

var errShutdown = errors.New("imap: server shutting down")

// wireOptions maps the limits onto the parser's.
func (s *Server) wireOptions() wire.Options {
	l := s.Limits.withDefaults()
	return wire.Options{
		MaxLineLength:  l.MaxLineLength,
		MaxLiteralSize: l.MaxLiteralSize,
		MaxMessageSize: l.MaxMessageSize,
		SpoolDir:       s.SpoolDir,
	}
}

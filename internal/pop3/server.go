// Package pop3 serves POP3 (RFC 1939) over the mail store: the account's
// INBOX is the maildrop, so that a client that downloads mail and one that
// syncs it over IMAP see the same messages.
//
// With CAPA (RFC 2449), STLS (RFC 2595), AUTH (RFC 5034) through the
// shared auth layer, extended response codes (RFC 2449 section 8, RFC
// 3206) and UTF8 (RFC 6856). APOP is not offered: it rests on MD5 and on
// a password the server can read.
//
// One goroutine runs each connection through the states of RFC 1939:
// AUTHORIZATION, TRANSACTION and, after QUIT, UPDATE. Commands dispatch
// from a table (commands.go); handlers return errors, and one place
// (failed) turns them into -ERR with a response code and logs server
// faults.
//
// Invariants:
//   - The maildrop is a snapshot of INBOX taken at login, numbered 1..n
//     in UID order; the numbers never change within a session. Sizes are
//     the exact octets RETR sends (store.POP3Message.Size).
//   - DELE only marks. Only QUIT in the TRANSACTION state changes the
//     store, with one store call (store.Mail.POP3Update) that applies
//     every deletion or none; a session that ends any other way (dropped
//     connection, timeout, shutdown, revoked credential) changes nothing.
//   - One POP3 session at a time per maildrop (RFC 1939 section 8's
//     exclusive-access lock); a second one gets -ERR [IN-USE]. The lock is
//     POP3's alone: IMAP sessions never wait for it. It is released after
//     UPDATE and before the final +OK, so a client that reconnects at once
//     finds the maildrop free.
//   - RETR and TOP stream from the blob in fixed-size chunks; no message
//     is held in memory whole. Never write to the connection while a store
//     call is in progress: a slow client stalls only itself.
//   - No password crosses a connection without TLS (USER, PASS and AUTH
//     are refused before STLS), unless the operator allowed plaintext on
//     loopback.
//
// Deviation: outside UTF-8 mode RFC 6856 section 2.1 asks a server not to
// send UTF-8 header fields as they are. The server never rewrites stored
// messages, for IMAP neither; refusing them instead would leave legacy
// downloaders (which never send UTF8) stuck on such a message for good.
// So messages go out as stored, in either mode.
package pop3

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"postfach/internal/auth"
	"postfach/internal/sessions"
	"postfach/internal/store"
)

// Limits bound what one connection may do. Zero fields take defaults.
type Limits struct {
	// MaxLineLength bounds a command line or a SASL response line, CRLF
	// excluded. RFC 2449 section 4 asks for at least 255 octets; SASL
	// responses (OAUTHBEARER tokens) need more. Default 8192.
	MaxLineLength int
	// IdleTimeout is the autologout timer once authenticated; RFC 1939
	// section 3: at least 10 minutes. Default 10 minutes.
	IdleTimeout time.Duration
	// LoginTimeout ends connections that do not authenticate in time.
	// Default one minute.
	LoginTimeout time.Duration
	// WriteTimeout bounds one write to a client that stopped reading.
	// Default 5 minutes.
	WriteTimeout time.Duration
	// MaxBadCommands ends a session after that many commands in a row
	// that were unknown, malformed or out of state. Default 20.
	MaxBadCommands int
	// MaxAuthFailures ends a session after that many failed logins.
	// Default 3.
	MaxAuthFailures int
}

func (l Limits) withDefaults() Limits {
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = 8192
	}
	// RFC 2449 section 4: commands of 255 octets, CRLF included.
	l.MaxLineLength = max(l.MaxLineLength, 253)
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 10 * time.Minute
	}
	if l.LoginTimeout <= 0 {
		l.LoginTimeout = time.Minute
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 5 * time.Minute
	}
	if l.MaxBadCommands <= 0 {
		l.MaxBadCommands = 20
	}
	if l.MaxAuthFailures <= 0 {
		l.MaxAuthFailures = 3
	}
	return l
}

// Server holds what every POP3 session shares. Set the exported fields
// before the first ServeConn and leave them.
type Server struct {
	Store  store.Store
	Auth   auth.Authenticator
	TLS    *tls.Config // nil: no STLS, and no implicit TLS
	Logger *slog.Logger
	Limits Limits
	// DeletePolicy is what becomes of the messages a session deleted, for
	// accounts without a policy of their own; "" means store.POP3Expunge.
	DeletePolicy store.POP3Policy
	// MarkSeen flags the messages a session retrieved with RETR as \Seen
	// at QUIT, so that IMAP clients show them read.
	MarkSeen bool

	sessions sessions.Registry
	nextID   atomic.Uint64

	mu sync.Mutex
	// locked holds the accounts whose maildrop a session has open.
	locked map[store.AccountID]struct{}
	// chunks recycles the buffers RETR and TOP read blobs with.
	chunks sync.Pool
}

// chunkSize is how much of a blob one read takes while streaming.
const chunkSize = 64 << 10

// ServeConn runs one POP3 connection to its end. With implicitTLS the
// connection is wrapped in TLS before the greeting (port 995, RFC 8314).
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
// gets -ERR [SYS/TEMP] and is closed without UPDATE (RFC 1939 section 6:
// deletions apply only after QUIT); one running a command finishes it
// first, so a QUIT whose UPDATE has begun completes. Shutdown returns when
// all sessions ended or ctx is done; then it closes the remaining
// connections.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.sessions.Shutdown(ctx)
}

// Sessions reports the number of open sessions.
func (s *Server) Sessions() int {
	return s.sessions.Count()
}

// lock takes the exclusive-access lock on an account's maildrop (RFC 1939
// section 8); false when another session holds it.
func (s *Server) lock(acct store.AccountID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.locked[acct]; held {
		return false
	}
	if s.locked == nil {
		s.locked = make(map[store.AccountID]struct{})
	}
	s.locked[acct] = struct{}{}
	return true
}

func (s *Server) unlock(acct store.AccountID) {
	s.mu.Lock()
	delete(s.locked, acct)
	s.mu.Unlock()
}

func (s *Server) policy() store.POP3Policy {
	if s.DeletePolicy == "" {
		return store.POP3Expunge
	}
	return s.DeletePolicy
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) getChunk() *[]byte {
	if b, ok := s.chunks.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, chunkSize)
	return &b
}

func (s *Server) putChunk(b *[]byte) { s.chunks.Put(b) }

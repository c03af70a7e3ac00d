// Package sessions owns what the protocol servers (IMAP, POP3, SMTP) share
// about the life of their connections: the registry of open sessions that
// a graceful shutdown walks, and a connection whose write deadline follows
// every write.
//
// What a session says when it is asked to end (IMAP's BYE, POP3's -ERR
// without UPDATE, SMTP's 421) and when it may end (after the command or
// mail transaction in progress) is the protocol's business, behind
// Session.Interrupt; this package only decides when to ask and when to stop
// waiting.
//
// Invariants:
//   - Every session that Track accepted is interrupted by Shutdown: Track
//     and Shutdown take the same lock, so a session is either tracked before
//     Shutdown walks the registry or refused.
//   - Shutdown returns only when every tracked session has ended, even
//     after ctx is done: the sessions then get their connections closed,
//     and the caller may close what they use (the store) once Shutdown
//     returned.
//   - No package-level state: each server has its own Registry.
package sessions

import (
	"context"
	"sync"
)

// A Session is one connection a Registry tracks. It must be comparable (a
// pointer). Both methods are called with the registry locked, so they must
// not block nor call back into the registry.
type Session interface {
	// Interrupt asks the session to end at its next wait for a command,
	// with the last word its protocol has for that; a command in progress
	// finishes first. A session asked twice ends once.
	Interrupt()
	// Abort closes the session's connection, so that whatever the session
	// waits for on it fails at once: the read of a command, or the write to
	// a client that stopped reading.
	Abort()
}

// Registry tracks the open sessions of one server. The zero value is
// ready to use.
type Registry struct {
	mu       sync.Mutex
	sessions map[Session]struct{}
	closing  bool
	// wg counts the tracked sessions. Add runs only before closing is
	// set and Wait only after, both under mu or ordered by it, as
	// sync.WaitGroup asks.
	wg sync.WaitGroup
}

// Track adds a session that is about to run. It reports false once
// Shutdown has begun: the caller then turns the connection away. Otherwise
// the caller must call untrack when the session has ended, its connection
// closed; calling it again does nothing.
func (r *Registry) Track(s Session) (untrack func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return nil, false
	}
	if _, dup := r.sessions[s]; dup {
		panic("sessions: a session tracked twice")
	}
	if r.sessions == nil {
		r.sessions = make(map[Session]struct{})
	}
	r.sessions[s] = struct{}{}
	r.wg.Add(1)
	return func() { r.untrack(s) }, true
}

func (r *Registry) untrack(s Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[s]; !ok {
		return
	}
	delete(r.sessions, s)
	r.wg.Done()
}

// Count reports the number of sessions tracked now.
func (r *Registry) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Shutdown refuses new sessions from now on, interrupts every tracked one
// and waits for them to end. When ctx is done first, it aborts the sessions
// still open, waits for them to end and returns ctx's error. Calling it
// again, or concurrently, interrupts whatever is still open and waits
// again.
func (r *Registry) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	for s := range r.sessions {
		s.Interrupt()
	}
	r.mu.Unlock()

	ended := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
	}
	r.mu.Lock()
	for s := range r.sessions {
		s.Abort()
	}
	r.mu.Unlock()
	<-ended
	return ctx.Err()
}

package imap

import (
	"sync"
	"time"
)

// revokeWatch ends sessions whose credential is revoked
// (auth.Session.Revoked) with one goroutine per credential in use, not one
// per session: the auth layer gives every session logged in with the same
// credential the same channel. With thousands of idle connections of a few
// hundred users, a goroutine per connection would cost more than the rest
// of an idle session.
type revokeWatch struct {
	mu     sync.Mutex
	groups map[<-chan struct{}]*revokeGroup
}

// revokeGroup is the sessions waiting on one channel.
type revokeGroup struct {
	sessions map[*session]struct{}
	// stop ends the group's goroutine when its last session left.
	stop chan struct{}
}

// add watches revoked for c until remove; when it closes, c ends as on
// shutdown: the read in progress, a command or IDLE, returns at once and
// the session says BYE (watchLogin).
func (w *revokeWatch) add(revoked <-chan struct{}, c *session) (remove func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.groups == nil {
		w.groups = make(map[<-chan struct{}]*revokeGroup)
	}
	g := w.groups[revoked]
	if g == nil {
		g = &revokeGroup{sessions: make(map[*session]struct{}), stop: make(chan struct{})}
		w.groups[revoked] = g
		go w.wait(revoked, g)
	}
	g.sessions[c] = struct{}{}
	return func() { w.remove(revoked, g, c) }
}

func (w *revokeWatch) remove(revoked <-chan struct{}, g *revokeGroup, c *session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := g.sessions[c]; !ok {
		return // removed, or revoked, already
	}
	delete(g.sessions, c)
	if len(g.sessions) == 0 && w.groups[revoked] == g {
		delete(w.groups, revoked)
		close(g.stop)
	}
}

// wait is the goroutine of one channel.
func (w *revokeWatch) wait(revoked <-chan struct{}, g *revokeGroup) {
	select {
	case <-revoked:
	case <-g.stop:
		return
	}
	w.mu.Lock()
	if w.groups[revoked] == g {
		delete(w.groups, revoked)
	}
	sessions := g.sessions
	g.sessions = nil
	w.mu.Unlock()
	for c := range sessions {
		// As with Interrupt, the flag is set before the deadline and
		// the reader sets its deadline before it checks the flag.
		c.revoked.Store(true)
		c.raw.SetReadDeadline(time.Now())
	}
}

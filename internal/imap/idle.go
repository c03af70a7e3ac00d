package imap

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"postfach/internal/imap/wire"
)

// idleState is what the session shares, during IDLE, with the goroutine
// that pushes changes.
//
// An idle session holds no goroutine of its own besides the one that waits
// for DONE: the subscription starts idlePush when events are pending
// (notify.Subscription.WakeFunc), and idlePush writes the updates and arms
// itself again. Thousands of idle connections then cost one parked
// goroutine each, not two, and the pushes run only while there is
// something to push.
//
// Invariant: while on is set, the session's goroutine does nothing but
// read the client's line; everything else of the session (selected state,
// writer, subscription) belongs to whoever holds mu. Reading and writing a
// connection at once is safe (net.Conn, tls.Conn), and the reader and the
// writer of a session have separate buffers.
type idleState struct {
	mu  sync.Mutex
	on  bool
	ctx context.Context
	// ended is set when a push ended the session (BYE sent, or the
	// client stopped reading); the push closed the connection.
	ended bool
	// push is idlePush as a func value, made once per session.
	push func()
}

// cmdIdle runs IDLE (RFC 2177, RFC 9051 section 6.3.13): changes made by
// any session of the account are pushed as they commit, until the client
// sends DONE. The autologout timer (at least 30 minutes) keeps running.
func (c *session) cmdIdle(ctx context.Context, cmd *wire.Command) error {
	if err := c.syncSelected(ctx, true, false); err != nil {
		return err
	}
	if err := c.continuation("idling"); err != nil {
		return errBye
	}
	c.raw.SetReadDeadline(time.Now().Add(c.limits.IdleTimeout))
	if c.interrupted.Load() || c.revoked.Load() {
		c.raw.SetReadDeadline(time.Now())
	}
	c.idleBegin(ctx)
	line, err := c.r.ReadLine()
	if c.idleEnd() {
		return errBye
	}
	switch {
	case err == nil && strings.EqualFold(string(line), "DONE"):
		return nil
	case err == nil:
		return errBad("", "Expected DONE")
	case c.interrupted.Load():
		c.bye("Server shutting down")
	case c.revoked.Load():
		c.bye(revokedText)
	case isTimeout(err):
		c.bye("Autologout; idle for too long")
	default:
		var werr *wire.Error
		if errors.As(err, &werr) {
			return errBad("", werr.Text)
		}
	}
	return errBye
}

// idleBegin hands the session to the pushes until idleEnd.
func (c *session) idleBegin(ctx context.Context) {
	st := &c.idle
	if st.push == nil {
		st.push = c.idlePush
	}
	st.mu.Lock()
	st.on, st.ctx, st.ended = true, ctx, false
	c.sub.WakeFunc(st.push)
	st.mu.Unlock()
}

// idleEnd takes the session back from the pushes: a push in progress
// finishes first, a later one finds IDLE over and does nothing. It
// reports whether a push ended the session.
func (c *session) idleEnd() (ended bool) {
	st := &c.idle
	st.mu.Lock()
	defer st.mu.Unlock()
	st.on, st.ctx = false, nil
	c.sub.StopWake()
	return st.ended
}

// idlePush writes what changed, in a goroutine the subscription started,
// and waits for the next change.
func (c *session) idlePush() {
	st := &c.idle
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.on {
		return // DONE came first; the session reports at its next command
	}
	if err := c.syncSelected(st.ctx, true, false); err != nil {
		if errors.Is(err, errBye) {
			c.idleAbort()
			return
		}
		c.log.Error("IDLE update failed", "err", err)
	}
	if err := c.w.Flush(); err != nil {
		c.idleAbort()
		return
	}
	c.sub.WakeFunc(st.push)
}

// idleAbort ends an idle session from a push: closing the connection
// makes the wait for DONE return. c.idle.mu is held.
func (c *session) idleAbort() {
	c.idle.on, c.idle.ended = false, true
	c.raw.Close()
}

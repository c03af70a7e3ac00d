package imap

import (
	"context"
	"errors"
	"strings"
	"sync"

	"postfach/internal/imap/wire"
)

// idleState is what the session shares, during IDLE, with the goroutine
// that pushes changes.
//
// An idle session holds no goroutine of its own besides the one that waits
// for DONE (session.run): when events are pending, the subscription queues
// the session's push (notify.Subscription.WakeFunc, pushQueue), and
// idlePush writes the updates and arms the wake-up again. Thousands of
// idle connections then cost one parked goroutine each, not two, and the
// pushes run only while there is something to push.
//
// Invariant: while on is set, the session's goroutines do nothing but
// wait for and read the client's line; everything else of the session
// (selected state, writer, subscription) belongs to whoever holds mu.
// Reading and writing a connection at once is safe (net.Conn, tls.Conn),
// and the reader and the writer of a session have separate buffers.
type idleState struct {
	mu  sync.Mutex
	on  bool
	ctx context.Context
	// ended is set when a push ended the session (BYE sent, or the
	// client stopped reading); the push closed the connection.
	ended bool
	// push queues this session's next push (pushQueue), as a func value
	// made once per session.
	push func()
	// tag is the tag of an IDLE in progress: set by cmdIdle, cleared by
	// finishIdle. Only the session's own goroutines use it.
	tag string
}

// cmdIdle runs IDLE (RFC 2177, RFC 9051 section 6.3.13): changes made by
// any session of the account are pushed as they commit, until the client
// sends DONE. The autologout timer (at least 30 minutes) keeps running.
//
// The command ends with its continuation request: the session then waits
// for DONE as it waits for a command (session.run), the pushes start
// (idleBegin, once this command's own report of changes is written), and
// finishIdle sends the tagged response.
func (c *session) cmdIdle(ctx context.Context, cmd *wire.Command) error {
	if err := c.syncSelected(ctx, true, false); err != nil {
		return err
	}
	if err := c.continuation("idling"); err != nil {
		return errBye
	}
	c.idle.tag = cmd.Tag
	return errAnswered // by finishIdle, after DONE
}

// idleBegin hands the session to the pushes until idleEnd.
func (c *session) idleBegin(ctx context.Context) {
	st := &c.idle
	if st.push == nil {
		run := c.idlePush
		st.push = func() { c.srv.pushes.add(run) }
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
	if c.sub != nil {
		c.sub.StopWake()
	}
	ended, st.ended = st.ended, false
	return ended
}

// finishIdle reads the line that ends IDLE and answers the command.
func (c *session) finishIdle(ctx context.Context) bool {
	tag := c.idle.tag
	c.idle.tag = ""
	line, err := c.r.ReadLine()
	if c.idleEnd() {
		return false
	}
	var res error
	switch {
	case err == nil && strings.EqualFold(string(line), "DONE"):
	case err == nil:
		res = errBad("", "Expected DONE")
	case c.interrupted.Load():
		c.bye("Server shutting down")
		return false
	case c.revoked.Load():
		c.bye(revokedText)
		return false
	case isTimeout(err):
		c.bye("Autologout; idle for too long")
		return false
	default:
		var werr *wire.Error
		if !errors.As(err, &werr) {
			return false // the connection failed
		}
		res = errBad("", werr.Text)
	}
	// As any command, IDLE ends with the report of what changed and
	// its tagged response, or with the BYE of that report.
	c.okCode = ""
	c.complete(ctx, tag, "IDLE", true, res)
	return c.w.Flush() == nil && c.state != stateLogout
}

// idlePush writes what changed, on a goroutine of the push queue, and
// arms the wake-up for the next change.
func (c *session) idlePush() {
	st := &c.idle
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.on {
		return // DONE came first; the session reports at its next command
	}
	if err := c.syncSelected(st.ctx, true, false); err != nil {
		if c.ending(err) {
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

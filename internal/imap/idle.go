package imap

import (
	"context"
	"errors"
	"strings"
	"time"

	"postfach/internal/imap/wire"
)

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
	type lineResult struct {
		line []byte
		err  error
	}
	// A reader goroutine waits for DONE while this one pushes changes;
	// reading and writing a connection at once is safe.
	done := make(chan lineResult, 1)
	c.raw.SetReadDeadline(time.Now().Add(c.limits.IdleTimeout))
	if c.interrupted.Load() || c.revoked.Load() {
		c.raw.SetReadDeadline(time.Now())
	}
	go func() {
		line, err := c.r.ReadLine()
		done <- lineResult{line, err}
	}()
	for {
		select {
		case res := <-done:
			switch {
			case res.err == nil && strings.EqualFold(string(res.line), "DONE"):
				return nil
			case res.err == nil:
				return errBad("", "Expected DONE")
			case c.interrupted.Load():
				c.bye("Server shutting down")
			case c.revoked.Load():
				c.bye(revokedText)
			case isTimeout(res.err):
				c.bye("Autologout; idle for too long")
			default:
				var werr *wire.Error
				if errors.As(res.err, &werr) {
					return errBad("", werr.Text)
				}
			}
			return errBye
		case <-c.sub.C():
			if err := c.syncSelected(ctx, true, false); err != nil {
				if errors.Is(err, errBye) {
					c.raw.Close()
					<-done
					return errBye
				}
				c.log.Error("IDLE update failed", "err", err)
			}
			if err := c.w.Flush(); err != nil {
				c.raw.Close()
				<-done
				return errBye
			}
		}
	}
}

package queue

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"
)

// backoff is the wait after the n-th failed attempt (n >= 1): the initial
// wait doubled n-1 times, capped, with up to 10% jitter either way so
// that messages deferred together by one outage do not all return at
// the same instant.
func (q *Queue) backoff(n int) time.Duration {
	d := q.opts.BackoffInitial
	for i := 1; i < n && d < q.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, q.opts.BackoffMax)
	jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return d + jitter
}

// record applies the outcomes of an attempt: delivered and failed
// recipients leave the queue, deferred ones get their next attempt, and
// a DSN is queued (in the same transaction) for whatever the sender asked
// to hear about. When the last recipient leaves, the message goes too.
//
// A failure to record is logged and retried a few times; if it persists
// the recipients stay queued as they were, and a later attempt may send
// again what was delivered now.
func (q *Queue) record(m *message, outs []outcome) {
	now := q.now()
	expiry := m.created.Add(q.opts.Expiry)
	type change struct {
		id     int64
		remove bool
		next   time.Time
		err    *Error
		remote string
		delay  bool // mark delay_notified
	}
	var (
		changes []change
		reports []dsnEntry
	)
	notify := m.sender != "" && !m.dsn
	for _, o := range outs {
		r := o.rcpt
		log := q.log.With("qid", m.qid, "rcpt", r.addr, "mx", o.remoteMTA)
		switch {
		case o.delivered:
			log.Info("delivered")
			changes = append(changes, change{id: r.id, remove: true})
			if notify && r.notify.wants(NotifySuccess) && !o.remoteDSN {
				// RFC 3461 section 5.2.2: the next hop does not do DSN,
				// so we report "relayed" ourselves.
				reports = append(reports, dsnEntry{rcpt: r, action: "relayed", status: "2.0.0", remoteMTA: o.remoteMTA, last: now})
			}
		case !o.err.Temporary():
			log.Warn("bounced", "err", o.err.Error())
			changes = append(changes, change{id: r.id, remove: true})
			if notify && r.notify.wants(NotifyFailure) {
				reports = append(reports, dsnEntry{rcpt: r, action: "failed", status: o.err.status(), diag: o.err.Error(), remoteMTA: o.remoteMTA, last: now})
			}
		case !now.Before(expiry):
			// RFC 3463 4.4.7: delivery time expired; the last error
			// tells why.
			log.Warn("expired", "err", o.err.Error(), "queued", m.created)
			changes = append(changes, change{id: r.id, remove: true})
			if notify && r.notify.wants(NotifyFailure) {
				reports = append(reports, dsnEntry{rcpt: r, action: "failed", status: "4.4.7", diag: o.err.Error(), remoteMTA: o.remoteMTA, last: now, expired: true})
			}
		default:
			next := now.Add(q.backoff(r.attempts + 1))
			if warnAt := m.created.Add(q.opts.DelayWarning); notify && !r.delayNotified && q.opts.DelayWarning > 0 &&
				r.notify.wants(NotifyDelay) && warnAt.After(now) && next.After(warnAt) {
				// An attempt when the delay warning is due, so that it
				// goes then, not at the next attempt after.
				next = warnAt
			}
			if next.After(expiry) {
				// One last attempt at the expiry time.
				next = expiry
			}
			c := change{id: r.id, next: next, err: o.err, remote: o.remoteMTA}
			log.Info("deferred", "err", o.err.Error(), "attempts", r.attempts+1, "next", next)
			if notify && !r.delayNotified && q.opts.DelayWarning > 0 && now.Sub(m.created) >= q.opts.DelayWarning && r.notify.wants(NotifyDelay) {
				c.delay = true
				reports = append(reports, dsnEntry{rcpt: r, action: "delayed", status: o.err.status(), diag: o.err.Error(), remoteMTA: o.remoteMTA, last: now, retryUntil: expiry})
			}
			changes = append(changes, c)
		}
	}

	var (
		dsnMsg   *message
		dsnRcpts []recipient
	)
	if len(reports) > 0 {
		var err error
		dsnMsg, dsnRcpts, err = q.buildDSN(context.Background(), m, reports)
		if err != nil {
			// Without its DSN the outcome is still recorded: losing the
			// notice is better than delivering twice.
			q.log.Error("queue: composing DSN", "qid", m.qid, "err", err)
			dsnMsg = nil
		}
	}
	var spool []string
	if dsnMsg != nil {
		spool = []string{dsnMsg.spool}
	}
	dsnQueued := false
	apply := func(t *wtx) error {
		dsnQueued = false
		touched := false
		for _, c := range changes {
			var res sql.Result
			var err error
			if c.remove {
				res, err = t.exec("DELETE FROM recipients WHERE id = ?", c.id)
			} else {
				res, err = t.exec(`UPDATE recipients SET attempts = attempts + 1, next_attempt = ?, last_attempt = ?, last_error = ?, last_status = ?, remote_mta = ?,
					delay_notified = delay_notified OR ? WHERE id = ?`,
					ms(c.next), ms(now), c.err.Error(), c.err.status(), c.remote, c.delay, c.id)
			}
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				touched = true
			}
		}
		if !touched {
			return nil // dropped meanwhile (postfach queue drop)
		}
		if dsnMsg != nil {
			if err := insertMessage(t, dsnMsg, dsnRcpts); err != nil {
				return err
			}
		}
		var left int
		if err := t.queryRow("SELECT COUNT(*) FROM recipients WHERE message_id = ?", m.id).Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			if _, err := t.exec("DELETE FROM messages WHERE id = ?", m.id); err != nil {
				return err
			}
			t.trash = append(t.trash, m.spool)
		}
		dsnQueued = dsnMsg != nil
		return nil
	}
	var err error
	for try := 0; try < 3; try++ {
		if err = q.w.do(context.Background(), spool, apply); err == nil || errors.Is(err, ErrClosed) || errors.Is(err, errUncertain) {
			break
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	if err != nil {
		q.log.Error("queue: recording delivery outcome", "qid", m.qid, "err", err)
		dsnQueued = false
	}
	if dsnMsg != nil && !dsnQueued && !errors.Is(err, errUncertain) {
		q.spool.Delete(bg, dsnMsg.spool)
	}
	if dsnQueued {
		q.log.Info("queued DSN", "qid", dsnMsg.qid, "for", m.qid, "to", m.sender)
		q.Kick()
	}
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

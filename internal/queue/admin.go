package queue

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MessageInfo describes a queued message for `postfach queue list`.
type MessageInfo struct {
	ID      string
	From    string // "" for the null sender (our DSNs)
	Account string
	Size    int64
	Queued  time.Time
	// DSN marks a delivery status notification we generated.
	DSN        bool
	RequireTLS bool
	Recipients []RecipientInfo
}

// RecipientInfo is one queued recipient.
type RecipientInfo struct {
	Addr        string
	Attempts    int
	NextAttempt time.Time
	// LastAttempt is zero before the first attempt; LastError and
	// RemoteMTA describe its failure.
	LastAttempt time.Time
	LastError   string
	RemoteMTA   string
}

// List returns the queued messages, oldest first. It reads what the
// server committed, from any process.
func (q *Queue) List(ctx context.Context) ([]MessageInfo, error) {
	tx, err := q.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT m.id, m.qid, m.sender, m.account, m.size, m.created, m.dsn, m.requiretls,
		r.addr, r.attempts, r.next_attempt, r.last_attempt, r.last_error, r.remote_mta
		FROM messages m JOIN recipients r ON r.message_id = m.id ORDER BY m.created, m.id, r.id`)
	if err != nil {
		return nil, fmt.Errorf("queue: listing: %w", err)
	}
	defer rows.Close()
	var out []MessageInfo
	lastID := int64(-1)
	for rows.Next() {
		var (
			id                     int64
			mi                     MessageInfo
			ri                     RecipientInfo
			created, next, lastAtt int64
		)
		if err := rows.Scan(&id, &mi.ID, &mi.From, &mi.Account, &mi.Size, &created, &mi.DSN, &mi.RequireTLS,
			&ri.Addr, &ri.Attempts, &next, &lastAtt, &ri.LastError, &ri.RemoteMTA); err != nil {
			return nil, err
		}
		ri.NextAttempt = fromMS(next)
		if lastAtt != 0 {
			ri.LastAttempt = fromMS(lastAtt)
		}
		if id != lastID {
			mi.Queued = fromMS(created)
			out = append(out, mi)
			lastID = id
		}
		cur := &out[len(out)-1]
		cur.Recipients = append(cur.Recipients, ri)
	}
	return out, rows.Err()
}

// Retry makes every queued recipient of message id due now. A running
// server (this process or another) picks it up within PollInterval.
func (q *Queue) Retry(ctx context.Context, id string) error {
	id = strings.ToLower(strings.TrimSpace(id))
	if !validQID(id) {
		return fmt.Errorf("%w: %q is not a queue ID", ErrNotFound, id)
	}
	err := q.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec("UPDATE recipients SET next_attempt = 0 WHERE message_id = (SELECT id FROM messages WHERE qid = ?)", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil
	})
	if err == nil {
		q.log.Info("queue: retry requested", "qid", id)
		q.Kick()
	}
	return err
}

// Drop removes message id from the queue without notifying anyone. An
// attempt already in flight for it may still deliver it; its outcome is
// then not recorded.
func (q *Queue) Drop(ctx context.Context, id string) error {
	id = strings.ToLower(strings.TrimSpace(id))
	if !validQID(id) {
		return fmt.Errorf("%w: %q is not a queue ID", ErrNotFound, id)
	}
	err := q.w.do(ctx, nil, func(t *wtx) error {
		var mid int64
		var spool string
		if err := t.queryRow("SELECT id, spool FROM messages WHERE qid = ?", id).Scan(&mid, &spool); err != nil {
			if isNoRows(err) {
				return fmt.Errorf("%w: %s", ErrNotFound, id)
			}
			return err
		}
		if _, err := t.exec("DELETE FROM messages WHERE id = ?", mid); err != nil {
			return err
		}
		t.trash = append(t.trash, spool)
		return nil
	})
	if err == nil {
		q.log.Info("queue: dropped", "qid", id)
	}
	return err
}

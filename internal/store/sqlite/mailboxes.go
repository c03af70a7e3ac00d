package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"postfach/internal/notify"
	"postfach/internal/store"
)

// mailboxRow is a mailboxes row.
type mailboxRow struct {
	store.Mailbox
	recentUID                 store.UID
	messages, unseen, deleted uint32
	size                      int64
}

const mailboxCols = `m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.highestmodseq, m.recent_uid, m.special_use, m.created, m.messages, m.unseen, m.deleted, m.size,
	EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name)
	FROM mailboxes m`

func scanMailbox(sc interface{ Scan(...any) error }) (mailboxRow, error) {
	var r mailboxRow
	var use string
	var created int64
	err := sc.Scan(&r.ID, &r.Account, &r.Name, &r.UIDValidity, &r.UIDNext, &r.HighestModSeq, &r.recentUID, &use, &created,
		&r.messages, &r.unseen, &r.deleted, &r.size, &r.Subscribed)
	if use != "" {
		r.SpecialUse = strings.Split(use, " ")
	}
	r.Created = unixTime(created, 0)
	return r, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (m *mail) mailboxByID(ctx context.Context, q querier, id store.MailboxID) (mailboxRow, error) {
	r, err := scanMailbox(q.QueryRowContext(ctx, `SELECT `+mailboxCols+` WHERE m.id = ? AND m.account_id = ?`, id, m.acct))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: mailbox %d", store.ErrNotFound, id)
	}
	return r, err
}

// mailbox loads a mailbox of the account inside a write operation.
func (t *wtx) mailbox(acct store.AccountID, id store.MailboxID) (mailboxRow, error) {
	r, err := scanMailbox(t.queryRow(`SELECT `+mailboxCols+` WHERE m.id = ? AND m.account_id = ?`, id, acct))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: mailbox %d", store.ErrNotFound, id)
	}
	return r, err
}

func (t *wtx) mailboxByName(acct store.AccountID, name string) (mailboxRow, error) {
	r, err := scanMailbox(t.queryRow(`SELECT `+mailboxCols+` WHERE m.account_id = ? AND m.name = ?`, acct, name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: mailbox %s", store.ErrNotFound, name)
	}
	return r, err
}

// nextUIDValidity hands out UIDVALIDITY values: increasing, and never
// below the current time in seconds, so that a mailbox recreated under an
// old name (even in a store restored from backup or made anew) gets a value
// its clients have not cached (RFC 9051 section 2.3.1.1).
func (t *wtx) nextUIDValidity(now time.Time) (uint32, error) {
	var next int64
	err := t.queryRow(`SELECT value FROM meta WHERE key = 'next_uidvalidity'`).Scan(&next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	v := max(next, now.Unix(), 1)
	if v > 1<<32-1 {
		return 0, errors.New("sqlite: UIDVALIDITY space exhausted")
	}
	_, err = t.exec(`INSERT INTO meta (key, value) VALUES ('next_uidvalidity', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, v+1)
	return uint32(v), err
}

// createMailbox inserts a mailbox; name must be clean.
func (t *wtx) createMailbox(acct store.AccountID, name string, specialUse []string, now time.Time) (store.Mailbox, error) {
	uv, err := t.nextUIDValidity(now)
	if err != nil {
		return store.Mailbox{}, err
	}
	mb := store.Mailbox{Account: acct, Name: name, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1, SpecialUse: specialUse, Created: now.UTC().Truncate(time.Second)}
	res, err := t.exec(`INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highestmodseq, recent_uid, special_use, created) VALUES (?, ?, ?, 1, 1, 1, ?, ?)`,
		acct, name, uv, strings.Join(specialUse, " "), mb.Created.Unix())
	if isUnique(err) {
		return store.Mailbox{}, fmt.Errorf("%w: mailbox %s", store.ErrExists, name)
	} else if err != nil {
		return store.Mailbox{}, err
	}
	id, err := res.LastInsertId()
	mb.ID = store.MailboxID(id)
	return mb, err
}

// deleteReturningBlobs runs a DELETE ... RETURNING blob_id.
func (t *wtx) deleteReturningBlobs(query string, args ...any) ([]int64, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// releaseBlobs deletes the blobs rows among ids that no message refers to
// any more, and queues their files for removal after the commit.
func (t *wtx) releaseBlobs(ids []int64) error {
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var name string
		err := t.queryRow(`DELETE FROM blobs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = ?) RETURNING name`, id, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue // still referenced
		} else if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT OR IGNORE INTO blob_trash (name) VALUES (?)`, name); err != nil {
			return err
		}
		t.trash = append(t.trash, name)
	}
	return nil
}

func (m *mail) event(id store.MailboxID, modseq store.ModSeq) notify.Event {
	return notify.Event{Account: int64(m.acct), Kind: notify.MailboxChanged, Mailbox: int64(id), ModSeq: uint64(modseq)}
}

func (m *mail) mailboxesEvent() notify.Event {
	return notify.Event{Account: int64(m.acct), Kind: notify.MailboxesChanged}
}

// Mailboxes implements store.Mail.
func (m *mail) Mailboxes(ctx context.Context) ([]store.Mailbox, error) {
	rows, err := m.s.rd().QueryContext(ctx, `SELECT `+mailboxCols+` WHERE m.account_id = ? ORDER BY m.name`, m.acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		r, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r.Mailbox)
	}
	return out, rows.Err()
}

// Mailbox implements store.Mail.
func (m *mail) Mailbox(ctx context.Context, name string) (store.Mailbox, error) {
	clean, err := store.CleanMailboxName(name)
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	r, err := scanMailbox(m.s.rd().QueryRowContext(ctx, `SELECT `+mailboxCols+` WHERE m.account_id = ? AND m.name = ?`, m.acct, clean))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Mailbox{}, fmt.Errorf("%w: mailbox %s", store.ErrNotFound, clean)
	}
	return r.Mailbox, err
}

// MailboxByID implements store.Mail.
func (m *mail) MailboxByID(ctx context.Context, id store.MailboxID) (store.Mailbox, error) {
	r, err := m.mailboxByID(ctx, m.s.rd(), id)
	return r.Mailbox, err
}

// CreateMailbox implements store.Mail.
func (m *mail) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) (store.Mailbox, error) {
	clean, err := store.CleanMailboxName(name)
	if err != nil {
		return store.Mailbox{}, err
	}
	use, err := store.CleanSpecialUse(opts.SpecialUse)
	if err != nil {
		return store.Mailbox{}, err
	}
	var mb store.Mailbox
	err = m.s.w.do(ctx, nil, func(t *wtx) error {
		if err := t.accountExists(m.acct); err != nil {
			return err
		}
		var err error
		mb, err = t.createMailbox(m.acct, clean, use, m.s.now())
		if err != nil {
			return err
		}
		var sub bool
		if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM subscriptions WHERE account_id = ? AND name = ?)`, m.acct, clean).Scan(&sub); err != nil {
			return err
		}
		mb.Subscribed = sub
		t.publish(m.mailboxesEvent())
		return nil
	})
	return mb, err
}

func (t *wtx) accountExists(acct store.AccountID) error {
	var ok bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, acct).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: account %d", store.ErrNotFound, acct)
	}
	return nil
}

// DeleteMailbox implements store.Mail. The mailbox's messages go with it;
// its subscription stays (RFC 9051 section 6.3.9: subscriptions are not
// removed when a mailbox goes).
func (m *mail) DeleteMailbox(ctx context.Context, name string) error {
	clean, err := store.CleanMailboxName(name)
	if err != nil {
		return fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	if store.IsInbox(clean) {
		return fmt.Errorf("%w: INBOX cannot be deleted", store.ErrNotAllowed)
	}
	return m.s.w.do(ctx, nil, func(t *wtx) error {
		mb, err := t.mailboxByName(m.acct, clean)
		if err != nil {
			return err
		}
		ids, err := t.deleteReturningBlobs(`DELETE FROM messages WHERE mailbox_id = ? RETURNING blob_id`, mb.ID)
		if err != nil {
			return err
		}
		if err := t.releaseBlobs(ids); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM mailboxes WHERE id = ?`, mb.ID); err != nil {
			return err
		}
		t.publish(m.mailboxesEvent())
		// Sessions that have it selected learn through a change event that
		// it is gone.
		t.publish(m.event(mb.ID, mb.HighestModSeq+1))
		return nil
	})
}

// RenameMailbox implements store.Mail. Subscriptions are not renamed (RFC
// 9051 section 6.3.6).
func (m *mail) RenameMailbox(ctx context.Context, from, to string) error {
	src, err := store.CleanMailboxName(from)
	if err != nil {
		return fmt.Errorf("%w: mailbox %q", store.ErrNotFound, from)
	}
	dst, err := store.CleanMailboxName(to)
	if err != nil {
		return err
	}
	if src == dst {
		return fmt.Errorf("%w: mailbox %s", store.ErrExists, dst)
	}
	if strings.HasPrefix(dst, src+"/") {
		return fmt.Errorf("%w: cannot rename %s into itself", store.ErrNotAllowed, src)
	}
	return m.s.w.do(ctx, nil, func(t *wtx) error {
		mb, err := t.mailboxByName(m.acct, src)
		if err != nil {
			return err
		}
		if _, err := t.mailboxByName(m.acct, dst); err == nil {
			return fmt.Errorf("%w: mailbox %s", store.ErrExists, dst)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if store.IsInbox(src) {
			return m.renameInbox(t, mb, dst)
		}
		// The mailbox and its inferiors, keeping ids and UIDVALIDITY.
		rows, err := t.query(`SELECT id, name FROM mailboxes WHERE account_id = ? AND (name = ? OR (name > ? AND name < ?)) ORDER BY name`,
			m.acct, src, src+"/", src+"0") // '0' follows '/'
		if err != nil {
			return err
		}
		type ren struct {
			id   int64
			name string
		}
		var list []ren
		for rows.Next() {
			var r ren
			if err := rows.Scan(&r.id, &r.name); err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Move them out of the way first, so that renaming "a" to "a2"
		// with "a/x" and "a2/x"... cannot collide with itself midway.
		for _, r := range list {
			if _, err := t.exec(`UPDATE mailboxes SET name = ? WHERE id = ?`, fmt.Sprintf("\x00rename/%d", r.id), r.id); err != nil {
				return err
			}
		}
		for _, r := range list {
			newName, err := store.CleanMailboxName(dst + r.name[len(src):])
			if err != nil {
				return err
			}
			_, err = t.exec(`UPDATE mailboxes SET name = ? WHERE id = ?`, newName, r.id)
			if isUnique(err) {
				return fmt.Errorf("%w: mailbox %s", store.ErrExists, newName)
			} else if err != nil {
				return err
			}
		}
		t.publish(m.mailboxesEvent())
		return nil
	})
}

// renameInbox moves INBOX's messages to a new mailbox named dst and leaves
// INBOX empty (RFC 9051 section 6.3.6). Inferiors of INBOX stay. Sessions
// with INBOX selected see the messages expunged.
func (m *mail) renameInbox(t *wtx, inbox mailboxRow, dst string) error {
	now := m.s.now()
	nb, err := t.createMailbox(m.acct, dst, nil, now)
	if err != nil {
		return err
	}
	if _, err := m.copyMessages(t, inbox.ID, store.AllUIDs(), nb.ID, true); err != nil {
		return err
	}
	t.publish(m.mailboxesEvent())
	return nil
}

// Subscribe implements store.Mail.
func (m *mail) Subscribe(ctx context.Context, name string, subscribed bool) error {
	clean, err := store.CleanMailboxName(name)
	if err != nil {
		return err
	}
	return m.s.w.do(ctx, nil, func(t *wtx) error {
		if err := t.accountExists(m.acct); err != nil {
			return err
		}
		q := `INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)`
		if !subscribed {
			q = `DELETE FROM subscriptions WHERE account_id = ? AND name = ?`
		}
		res, err := t.exec(q, m.acct, clean)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			t.publish(m.mailboxesEvent())
		}
		return nil
	})
}

// Subscriptions implements store.Mail.
func (m *mail) Subscriptions(ctx context.Context) ([]string, error) {
	rows, err := m.s.rd().QueryContext(ctx, `SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name`, m.acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Status implements store.Mail: the counters kept in the mailbox row, and
// the count of unclaimed recent messages (an index range).
func (m *mail) Status(ctx context.Context, id store.MailboxID) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		st = store.MailboxStatus{
			Messages: mb.messages, Unseen: mb.unseen, Deleted: mb.deleted, Size: mb.size,
			UIDNext: mb.UIDNext, UIDValidity: mb.UIDValidity, HighestModSeq: mb.HighestModSeq,
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE mailbox_id = ? AND uid >= ?`, id, m.s.recent.watermark(mb)).Scan(&st.Recent)
	})
	return st, err
}

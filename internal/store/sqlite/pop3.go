package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"postfach/internal/blob"
	"postfach/internal/store"
)

// pop3Migration adds what POP3 needs beyond messages.pop3_hidden:
//   - accounts.pop3_policy: the account's own deletion policy, empty for
//     the server's.
//   - pop3_blob_ends: whether a blob ends with CRLF. RETR must end the
//     last line with CRLF before the terminating ".", so a message stored
//     without a final CRLF is sent two octets longer than it is stored,
//     and LIST must say so (RFC 1939 section 11: exact sizes). Blobs are
//     immutable, so the fact is read once from the file's last two octets
//     and kept here; the row goes with its blobs row (ON DELETE CASCADE).
const pop3Migration = `
ALTER TABLE accounts ADD COLUMN pop3_policy TEXT NOT NULL DEFAULT '';

CREATE TABLE pop3_blob_ends (
	blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	crlf    INTEGER NOT NULL
);
`

// pop3Index adds messages_pop3, which covers what a POP3 login
// reads of each message of INBOX (maildropQuery), so that reading a large
// maildrop walks one index and seeks no table row. Partial: messages
// hidden from POP3 are not in it. Flag changes do not touch it.
const pop3Index = `
CREATE INDEX messages_pop3 ON messages(mailbox_id, uid, size, blob_id) WHERE pop3_hidden = 0;
`

// POP3Maildrop implements store.Mail: INBOX's messages not hidden from
// POP3, read in one transaction. Blobs whose ending is not known yet are
// read after it (their last two octets) and the finding is kept for next
// time by a write nobody waits for.
func (m *mail) POP3Maildrop(ctx context.Context) (store.POP3Maildrop, error) {
	var md store.POP3Maildrop
	type unknown struct {
		i      int // index in md.Messages
		blobID int64
		name   string
	}
	var todo []unknown
	err := m.s.readTx(ctx, func(tx reader) error {
		var policy string
		err := tx.QueryRowContext(ctx, `SELECT pop3_policy FROM accounts WHERE id = ?`, m.acct).Scan(&policy)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, m.acct)
		} else if err != nil {
			return err
		}
		md.Policy = store.POP3Policy(policy)
		mb, err := scanMailbox(tx.QueryRowContext(ctx, `SELECT `+mailboxCols+` WHERE m.account_id = ? AND m.name = 'INBOX'`, m.acct))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: INBOX", store.ErrNotFound)
		} else if err != nil {
			return err
		}
		md.Mailbox = mb.Mailbox
		var uids, sizes, blobs, ends sql.NullString
		if err := tx.QueryRowContext(ctx, maildropQuery, mb.ID).Scan(&uids, &sizes, &blobs, &ends); err != nil {
			return err
		}
		if md.Messages, err = parseMaildrop(uids.String, sizes.String, blobs.String, ends.String, mb.messages); err != nil {
			return err
		}
		for i := range md.Messages {
			msg := &md.Messages[i]
			if msg.Size >= 0 {
				continue
			}
			// The ending of this blob is not known yet: the size was
			// stored negated (parseMaildrop).
			msg.Size = -msg.Size - 1
			blobID, _ := strconv.ParseInt(msg.Blob, 10, 64)
			var name string
			err := tx.QueryRowContext(ctx, `SELECT name FROM blobs WHERE id = ?`, blobID).Scan(&name)
			if err != nil {
				return fmt.Errorf("sqlite: blob %d of message %d: %w", blobID, msg.UID, err)
			}
			todo = append(todo, unknown{i, blobID, name})
		}
		return nil
	})
	if err != nil || len(todo) == 0 {
		return md, err
	}
	found := make(map[int64]bool, len(todo))
	gone := false
	for _, u := range todo {
		msg := &md.Messages[u.i]
		crlf, ok := found[u.blobID]
		if !ok {
			crlf, err = m.s.blobEndsCRLF(ctx, u.name, msg.Size)
			if errors.Is(err, blob.ErrNotFound) {
				// Expunged and removed since the read: not in the
				// maildrop.
				msg.UID = 0
				gone = true
				continue
			} else if err != nil {
				return store.POP3Maildrop{}, err
			}
			found[u.blobID] = crlf
		}
		msg.Size += pop3Extra(msg.Size, crlf)
	}
	if gone {
		kept := md.Messages[:0]
		for _, msg := range md.Messages {
			if msg.UID != 0 {
				kept = append(kept, msg)
			}
		}
		md.Messages = kept
	}
	m.s.w.doAsync(func(t *wtx) error {
		for id, crlf := range found {
			// The blob may have gone meanwhile; then there is nothing to
			// remember.
			if _, err := t.exec(`INSERT OR IGNORE INTO pop3_blob_ends (blob_id, crlf) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM blobs WHERE id = ?)`, id, crlf, id); err != nil {
				return err
			}
		}
		return nil
	})
	return md, nil
}

// maildropQuery reads a maildrop in one row: the UIDs, sizes, blob ids
// and endings (1: CRLF, 0: not, 2: not known yet) of the messages, each a
// comma-separated list in UID order. One row instead of one per message,
// and messages_pop3 covers the messages' part: reading 10,000 messages
// takes a few milliseconds, where 10,000 rows through database/sql took
// several times that. group_concat follows the subquery's order.
const maildropQuery = `SELECT group_concat(uid), group_concat(size), group_concat(blob_id), group_concat(crlf) FROM (
	SELECT m.uid AS uid, m.size AS size, m.blob_id AS blob_id, coalesce(e.crlf, 2) AS crlf
	FROM messages m INDEXED BY messages_pop3 LEFT JOIN pop3_blob_ends e ON e.blob_id = m.blob_id
	WHERE m.mailbox_id = ? AND m.pop3_hidden = 0 ORDER BY m.uid)`

// parseMaildrop parses maildropQuery's lists. Messages whose blob's
// ending is unknown get their size as -size-1, for the caller to resolve.
func parseMaildrop(uids, sizes, blobs, ends string, hint uint32) ([]store.POP3Message, error) {
	if uids == "" {
		return nil, nil
	}
	out := make([]store.POP3Message, 0, hint)
	bad := func() error { return errors.New("sqlite: malformed maildrop lists") }
	for uids != "" {
		var u, sz, b, e string
		var ok1, ok2, ok3, ok4 bool
		u, uids, ok1 = cutList(uids)
		sz, sizes, ok2 = cutList(sizes)
		b, blobs, ok3 = cutList(blobs)
		e, ends, ok4 = cutList(ends)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, bad()
		}
		uid, err1 := strconv.ParseUint(u, 10, 32)
		size, err2 := strconv.ParseInt(sz, 10, 64)
		if err1 != nil || err2 != nil || size < 0 || b == "" {
			return nil, bad()
		}
		msg := store.POP3Message{UID: store.UID(uid), Size: size, Blob: b}
		switch e {
		case "0", "1":
			msg.Size += pop3Extra(size, e == "1")
		case "2":
			msg.Size = -size - 1
		default:
			return nil, bad()
		}
		out = append(out, msg)
	}
	if sizes != "" || blobs != "" || ends != "" {
		return nil, bad()
	}
	// The subquery's order is SQLite's behaviour, not its promise: check.
	if !slices.IsSortedFunc(out, func(a, b store.POP3Message) int { return cmp.Compare(a.UID, b.UID) }) {
		slices.SortFunc(out, func(a, b store.POP3Message) int { return cmp.Compare(a.UID, b.UID) })
	}
	return out, nil
}

// cutList takes the first element of a comma-separated list.
func cutList(s string) (elem, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	elem, rest, _ = strings.Cut(s, ",")
	return elem, rest, elem != ""
}

// pop3Extra is what RETR adds to a stored message of size octets: the
// CRLF that ends its last line, unless it has one. An empty message has
// no line to end.
func pop3Extra(size int64, endsCRLF bool) int64 {
	if size == 0 || endsCRLF {
		return 0
	}
	return 2
}

// blobEndsCRLF reads whether the blob's last two octets are CRLF.
func (s *Store) blobEndsCRLF(ctx context.Context, name string, size int64) (bool, error) {
	if size < 2 {
		return size == 0, nil
	}
	r, err := s.blobs.Open(ctx, name)
	if err != nil {
		return false, err
	}
	defer r.Close()
	var tail [2]byte
	if _, err := r.ReadAt(tail[:], size-2); err != nil {
		return false, fmt.Errorf("sqlite: reading the end of blob %s: %w", name, err)
	}
	return tail == [2]byte{'\r', '\n'}, nil
}

// POP3Update implements store.Mail: one write operation, so the group
// commit makes all of it durable or none of it.
func (m *mail) POP3Update(ctx context.Context, id store.MailboxID, upd store.POP3Update) (store.POP3UpdateResult, error) {
	if !upd.Policy.Valid() {
		return store.POP3UpdateResult{}, fmt.Errorf("sqlite: unknown POP3 deletion policy %q", upd.Policy)
	}
	var res store.POP3UpdateResult
	err := m.s.w.do(ctx, nil, func(t *wtx) error {
		res = store.POP3UpdateResult{}
		mb, err := t.mailbox(m.acct, id)
		if err != nil {
			return err
		}
		var del []srcMessage
		if len(upd.Delete) > 0 {
			if del, err = t.selectMessages(id, store.UIDSetOf(upd.Delete...)); err != nil {
				return err
			}
		}
		var delUIDs []store.UID
		for _, s := range del {
			delUIDs = append(delUIDs, s.uid)
		}
		modseq := mb.HighestModSeq + 1
		if len(upd.Seen) > 0 {
			keep := upd.Seen
			if upd.Policy != store.POP3Hide && len(delUIDs) > 0 {
				// Leaving INBOX anyway: a flag change would be noise.
				gone := store.UIDSetOf(delUIDs...)
				keep = nil
				for _, u := range upd.Seen {
					if !gone.Contains(u) {
						keep = append(keep, u)
					}
				}
			}
			if err := m.markSeen(t, id, keep, modseq); err != nil {
				return err
			}
		}
		if len(delUIDs) == 0 {
			return nil
		}
		switch upd.Policy {
		case store.POP3Expunge:
			if _, err := t.expunge(m, id, delUIDs, modseq); err != nil {
				return err
			}
		case store.POP3Trash:
			trash, err := m.trashMailbox(t)
			if err != nil {
				return err
			}
			if trash.ID == id {
				// INBOX is the Trash: moving would only renumber the
				// messages, and POP3 would fetch them again. Hide them.
				return m.hideFromPOP3(t, id, delUIDs, &res)
			}
			if res.Moved, err = m.copyMessages(t, id, store.UIDSetOf(delUIDs...), trash.ID, true); err != nil {
				return err
			}
		case store.POP3Hide:
			return m.hideFromPOP3(t, id, delUIDs, &res)
		}
		res.Deleted = delUIDs
		return nil
	})
	if err != nil {
		return store.POP3UpdateResult{}, err
	}
	return res, nil
}

// markSeen adds \Seen to the messages of uids that lack it, with modseq.
func (m *mail) markSeen(t *wtx, id store.MailboxID, uids []store.UID, modseq store.ModSeq) error {
	if len(uids) == 0 {
		return nil
	}
	msgs, err := t.selectMessages(id, store.UIDSetOf(uids...))
	if err != nil {
		return err
	}
	var c counters
	for _, s := range msgs {
		if s.flags&store.FlagSeen != 0 {
			continue
		}
		if _, err := t.exec(`UPDATE messages SET flags = flags | ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`, store.FlagSeen, modseq, id, s.uid); err != nil {
			return err
		}
		c.unseen--
	}
	if c.unseen == 0 {
		return nil
	}
	if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = max(highestmodseq, ?), unseen = unseen + ? WHERE id = ?`, modseq, c.unseen, id); err != nil {
		return err
	}
	t.publish(m.event(id, modseq))
	return nil
}

// hideFromPOP3 sets pop3_hidden. IMAP sees no change: no MODSEQ, no event.
func (m *mail) hideFromPOP3(t *wtx, id store.MailboxID, uids []store.UID, res *store.POP3UpdateResult) error {
	for _, u := range uids {
		if _, err := t.exec(`UPDATE messages SET pop3_hidden = 1 WHERE mailbox_id = ? AND uid = ?`, id, u); err != nil {
			return err
		}
	}
	res.Deleted = uids
	return nil
}

// trashMailbox finds the account's Trash: the mailbox with the \Trash
// special use (RFC 6154), else the one named Trash; without either it
// creates Trash.
func (m *mail) trashMailbox(t *wtx) (mailboxRow, error) {
	rows, err := t.query(`SELECT id, special_use FROM mailboxes WHERE account_id = ? AND special_use != '' ORDER BY id`, m.acct)
	if err != nil {
		return mailboxRow{}, err
	}
	var found store.MailboxID
	for rows.Next() {
		var mid store.MailboxID
		var use string
		if err := rows.Scan(&mid, &use); err != nil {
			rows.Close()
			return mailboxRow{}, err
		}
		for _, u := range strings.Fields(use) {
			if strings.EqualFold(u, `\Trash`) && found == 0 {
				found = mid
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mailboxRow{}, err
	}
	if found != 0 {
		return t.mailbox(m.acct, found)
	}
	mb, err := t.mailboxByName(m.acct, "Trash")
	if !errors.Is(err, store.ErrNotFound) {
		return mb, err
	}
	if _, err := t.createMailbox(m.acct, "Trash", []string{`\Trash`}, m.s.now()); err != nil {
		return mailboxRow{}, err
	}
	t.publish(m.mailboxesEvent())
	return t.mailboxByName(m.acct, "Trash")
}

// SetPOP3Policy implements store.Mail.
func (m *mail) SetPOP3Policy(ctx context.Context, p store.POP3Policy) error {
	if p != "" && !p.Valid() {
		return fmt.Errorf("sqlite: unknown POP3 deletion policy %q", p)
	}
	return m.s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`UPDATE accounts SET pop3_policy = ? WHERE id = ?`, string(p), m.acct)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, m.acct)
		}
		return nil
	})
}

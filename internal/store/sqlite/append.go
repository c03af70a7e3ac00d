package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"postfach/internal/store"
)

// Append implements store.Mail. Each message streams into its own blob,
// parsed on the way, before anything is queued; then one write operation
// inserts all rows (MULTIAPPEND is all or nothing, RFC 3502) and the group
// commit makes blobs and rows durable with the other callers' writes.
//
// The mailbox is read and checked in that write operation only
// (appendCheck): a read before the blobs were written would cost a query on every APPEND
// (its caller has just looked the mailbox up by name) to spare a blob
// written for nothing in the rare APPEND to a mailbox deleted meanwhile.
func (m *mail) Append(ctx context.Context, id store.MailboxID, msgs []store.NewMessage) (store.AppendResult, error) {
	_, res, err := m.appendTo(ctx, msgs, func(t *wtx) (mailboxRow, error) { return t.mailbox(m.acct, id) })
	return res, err
}

// AppendByName is Append to the account's mailbox called name, which the
// write operation that stores the messages looks up: an IMAP APPEND then
// needs no read transaction of its own (a query that cost as much as a
// tenth of the server's CPU under a stream of APPENDs), and no RENAME can
// come between finding the mailbox and appending to it. It returns the
// mailbox's ID; a mailbox that is not there is store.ErrNotFound.
func (m *mail) AppendByName(ctx context.Context, name string, msgs []store.NewMessage) (store.MailboxID, store.AppendResult, error) {
	clean, err := store.CleanMailboxName(name)
	if err != nil {
		return 0, store.AppendResult{}, fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	return m.appendTo(ctx, msgs, func(t *wtx) (mailboxRow, error) { return t.mailboxByName(m.acct, clean) })
}

// appendTo appends msgs to the mailbox that find reads in the write
// operation.
func (m *mail) appendTo(ctx context.Context, msgs []store.NewMessage, find func(*wtx) (mailboxRow, error)) (store.MailboxID, store.AppendResult, error) {
	list := make([]newRow, 0, len(msgs))
	var names []string
	cleanup := func() {
		for _, n := range names {
			m.s.blobs.Delete(context.Background(), n)
		}
	}
	now := m.s.now()
	for _, nm := range msgs {
		r, err := m.s.prepare(ctx, nm, now)
		if err != nil {
			cleanup()
			return 0, store.AppendResult{}, err
		}
		names = append(names, r.blob)
		list = append(list, r)
	}
	var (
		id  store.MailboxID
		res store.AppendResult
	)
	err := m.s.w.do(ctx, names, func(t *wtx) error {
		res.UIDs = res.UIDs[:0]
		mb, err := find(t)
		if err != nil {
			return err
		}
		if err := m.appendCheck(t, mb, list); err != nil {
			return err
		}
		id, res.UIDValidity = mb.ID, mb.UIDValidity
		res.UIDs, err = m.appendWrite(t, mb, list)
		return err
	})
	if err != nil {
		if !errors.Is(err, errUncertain) {
			cleanup()
		}
		return 0, store.AppendResult{}, err
	}
	m.s.index.kick()
	return id, res, nil
}

// newRow is a message to append: its blob, stored and parsed, and the
// rest of its messages row.
type newRow struct {
	ingested
	flags    store.Flags
	keywords []string
	date     time.Time
	// blobID is its blobs row once appendWrite inserted it, for more rows
	// that share the blob (shared.go); 0 before.
	blobID int64
}

// prepare checks nm and streams its body into a new blob.
func (s *Store) prepare(ctx context.Context, nm store.NewMessage, now time.Time) (newRow, error) {
	kws, err := store.NormalizeKeywords(nm.Keywords)
	if err != nil {
		return newRow{}, err
	}
	if nm.Body == nil {
		return newRow{}, errors.New("sqlite: message without body")
	}
	in, err := s.ingest(ctx, nm.Body)
	if err != nil {
		return newRow{}, err
	}
	date := nm.InternalDate
	if date.IsZero() {
		date = now
	}
	return newRow{ingested: in, flags: nm.Flags & allFlags, keywords: kws, date: date}, nil
}

// appendCheck checks that mailbox mb, read in this transaction, takes
// the messages of list: the account's quota, the UID space. It writes
// nothing.
func (m *mail) appendCheck(t *wtx, mb mailboxRow, list []newRow) error {
	if len(list) == 0 {
		return nil
	}
	var total int64
	for i := range list {
		total += list[i].size
	}
	if err := t.checkQuota(m.acct, total, len(list)); err != nil {
		return err
	}
	if uint64(mb.UIDNext)+uint64(len(list)) > 1<<32-1 {
		return fmt.Errorf("%w: UID space of mailbox exhausted", store.ErrNotAllowed)
	}
	return nil
}

// appendWrite inserts the rows of list into mb, read and checked
// (appendCheck) in this transaction: a blobs row for each that has none
// yet, a messages row, the mailbox's counters; and publishes the change.
func (m *mail) appendWrite(t *wtx, mb mailboxRow, list []newRow) ([]store.UID, error) {
	if len(list) == 0 {
		return nil, nil
	}
	var canon *keywordSet // read when a message has keywords
	modseq := mb.HighestModSeq + 1
	uid := mb.UIDNext
	uids := make([]store.UID, 0, len(list))
	var c counters
	saveDate := m.s.now().Unix()
	for i := range list {
		p := &list[i]
		if p.blobID == 0 {
			id, err := t.insertBlob(&p.ingested)
			if err != nil {
				return nil, err
			}
			p.blobID = id
		}
		var kws []string
		if len(p.keywords) > 0 {
			var err error
			if canon == nil {
				if canon, err = t.keywordSpelling(mb.ID); err != nil {
					return nil, err
				}
			}
			if kws, err = canon.apply(t, p.keywords); err != nil {
				return nil, err
			}
		}
		_, off := p.date.Zone()
		_, err := t.exec(`INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			mb.ID, uid, modseq, p.flags, strings.Join(kws, " "), p.date.Unix(), off, saveDate, p.size, p.blobID)
		if err != nil {
			return nil, err
		}
		c.add(p.flags, p.size, 1)
		uids = append(uids, uid)
		uid++
	}
	if _, err := t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, messages = messages + ?, unseen = unseen + ?, deleted = deleted + ?, size = size + ? WHERE id = ?`,
		uid, modseq, c.messages, c.unseen, c.deleted, c.size, mb.ID); err != nil {
		return nil, err
	}
	t.publish(m.event(mb.ID, modseq))
	return uids, nil
}

const allFlags = store.FlagSeen | store.FlagAnswered | store.FlagFlagged | store.FlagDeleted | store.FlagDraft

// counters are deltas of a mailbox row's counters.
type counters struct {
	messages, unseen, deleted int64
	size                      int64
}

// add counts a message with flags in (sign 1) or out (sign -1).
func (c *counters) add(flags store.Flags, size int64, sign int64) {
	c.messages += sign
	c.size += sign * size
	if flags&store.FlagSeen == 0 {
		c.unseen += sign
	}
	if flags&store.FlagDeleted != 0 {
		c.deleted += sign
	}
}

func (t *wtx) insertBlob(in *ingested) (int64, error) {
	var sent, tz any
	if in.sentDate != nil {
		_, off := in.sentDate.Zone()
		sent, tz = in.sentDate.Unix(), off
	}
	h := make([]any, len(in.headers))
	for i, v := range in.headers {
		if v != nil {
			h[i] = *v
		}
	}
	c := &in.sort
	res, err := t.exec(`INSERT INTO blobs (name, size, header_size, sent_date, sent_tz, h_subject, h_from, h_to, h_cc, h_bcc, h_message_id, structure,
		sort_subject, sort_from, sort_to, sort_cc, display_from, display_to, thread_id, thread_refs, thread_reply)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.blob, in.size, in.headerSize, sent, tz, h[0], h[1], h[2], h[3], h[4], h[5], in.structure,
		c.subject, c.from, c.to, c.cc, c.displayFrom, c.displayTo, c.id, c.refs, c.reply)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return id, t.insertText(id, &in.text)
}

// checkQuota fails with ErrOverQuota when adding bytes and messages would
// exceed the account's quota (0: none).
func (t *wtx) checkQuota(acct store.AccountID, bytes int64, messages int) error {
	var qb, qm int64
	if err := t.queryRow(`SELECT quota_bytes, quota_messages FROM accounts WHERE id = ?`, acct).Scan(&qb, &qm); err != nil {
		return fmt.Errorf("sqlite: reading quota: %w", err)
	}
	if qb == 0 && qm == 0 {
		return nil
	}
	var usedB, usedM int64
	if err := t.queryRow(`SELECT coalesce(sum(size), 0), coalesce(sum(messages), 0) FROM mailboxes WHERE account_id = ?`, acct).Scan(&usedB, &usedM); err != nil {
		return err
	}
	if qb > 0 && usedB+bytes > qb || qm > 0 && usedM+int64(messages) > qm {
		return store.ErrOverQuota
	}
	return nil
}

// keywordSet is a mailbox's keywords in use, for spelling new ones the
// way the mailbox already does (keywords compare case-insensitively).
type keywordSet struct {
	mbox  store.MailboxID
	known map[string]string // lower case -> spelling
}

func (t *wtx) keywordSpelling(id store.MailboxID) (*keywordSet, error) {
	ks := &keywordSet{mbox: id, known: map[string]string{}}
	rows, err := t.query(`SELECT keyword FROM mailbox_keywords WHERE mailbox_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		ks.known[strings.ToLower(k)] = k
	}
	return ks, rows.Err()
}

// apply respells kws (normalized) as the mailbox does and records new
// keywords as in use.
func (ks *keywordSet) apply(t *wtx, kws []string) ([]string, error) {
	if len(kws) == 0 {
		return nil, nil
	}
	out := make([]string, len(kws))
	for i, k := range kws {
		lk := strings.ToLower(k)
		if sp, ok := ks.known[lk]; ok {
			out[i] = sp
			continue
		}
		if _, err := t.exec(`INSERT OR IGNORE INTO mailbox_keywords (mailbox_id, keyword) VALUES (?, ?)`, ks.mbox, k); err != nil {
			return nil, err
		}
		ks.known[lk] = k
		out[i] = k
	}
	store.SortKeywords(out)
	return out, nil
}

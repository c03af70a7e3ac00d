package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"postfach/internal/blob"
	"postfach/internal/mime"
	"postfach/internal/store"
)

const messageCols = `m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.internal_tz, m.save_date, m.size, m.blob_id`

// scanMessage reads messageCols (and extra destinations after them).
func scanMessage(sc interface{ Scan(...any) error }, extra ...any) (store.Message, error) {
	return newMessageScanner(extra...).scan(sc)
}

// messageScanner reads rows of messageCols (and extra columns) into
// destinations made once for a query, not once per row.
type messageScanner struct {
	msg                       store.Message
	kw                        string
	idate, itz, sdate, blobID int64
	dest                      []any
}

func newMessageScanner(extra ...any) *messageScanner {
	ms := &messageScanner{}
	ms.dest = append([]any{&ms.msg.UID, &ms.msg.ModSeq, &ms.msg.Flags, &ms.kw, &ms.idate, &ms.itz, &ms.sdate, &ms.msg.Size, &ms.blobID}, extra...)
	return ms
}

func (ms *messageScanner) scan(sc interface{ Scan(...any) error }) (store.Message, error) {
	ms.msg = store.Message{}
	if err := sc.Scan(ms.dest...); err != nil {
		return store.Message{}, err
	}
	msg := ms.msg
	msg.Keywords = splitKeywords(ms.kw)
	msg.InternalDate = unixTime(ms.idate, ms.itz)
	msg.SaveDate = unixTime(ms.sdate, 0)
	msg.Blob = strconv.FormatInt(ms.blobID, 10)
	return msg, nil
}

func splitKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// Snapshot implements store.Mail, in one read transaction.
func (m *mail) Snapshot(ctx context.Context, id store.MailboxID) (store.Snapshot, error) {
	var snap store.Snapshot
	err := m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		snap.Mailbox = mb.Mailbox
		if snap.UIDs, err = m.s.mailboxUIDs(ctx, tx, mb); err != nil {
			return err
		}
		if snap.Keywords, err = mailboxKeywords(ctx, tx, id); err != nil {
			return err
		}
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT min(uid) FROM messages WHERE mailbox_id = ? AND flags & 1 = 0`, id).Scan(&first); err != nil {
			return err
		}
		snap.FirstUnseen = store.UID(first.Int64)
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE mailbox_id = ? AND uid >= ?`, id, m.s.recent.watermark(mb)).Scan(&snap.Recent)
	})
	return snap, err
}

// readUIDs reads a mailbox's UIDs in one go: SQLite joins them into one
// string, which costs far less than a row per UID through database/sql.
func readUIDs(ctx context.Context, tx reader, id store.MailboxID, hint uint32) ([]store.UID, error) {
	var joined sql.NullString
	// group_concat follows the order of the subquery, which walks the
	// (mailbox_id, uid) index.
	err := tx.QueryRowContext(ctx, `SELECT group_concat(uid, ',') FROM (SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid)`, id).Scan(&joined)
	if err != nil {
		return nil, err
	}
	return parseUIDList(joined.String, hint)
}

func parseUIDList(s string, hint uint32) ([]store.UID, error) {
	if s == "" {
		return nil, nil
	}
	uids := make([]store.UID, 0, hint)
	var n uint64
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if digits == 0 {
				return nil, fmt.Errorf("sqlite: bad UID list")
			}
			uids = append(uids, store.UID(n))
			n, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits > 10 {
			return nil, fmt.Errorf("sqlite: bad UID list")
		}
		n = n*10 + uint64(c-'0')
		digits++
	}
	// The subquery's order is SQLite's behaviour, not its promise: check.
	if !slices.IsSorted(uids) {
		slices.Sort(uids)
	}
	return uids, nil
}

func mailboxKeywords(ctx context.Context, tx reader, id store.MailboxID) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT keyword FROM mailbox_keywords WHERE mailbox_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	store.SortKeywords(out)
	return out, rows.Err()
}

// Changes implements store.Mail. Both queries walk a (mailbox_id, modseq)
// index: the cost is that of the changes, not of the mailbox.
func (m *mail) Changes(ctx context.Context, id store.MailboxID, since store.ModSeq) (store.ChangeSet, error) {
	var cs store.ChangeSet
	err := m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		cs.HighestModSeq = mb.HighestModSeq
		if since >= mb.HighestModSeq {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+messageCols+` FROM messages m WHERE m.mailbox_id = ? AND m.modseq > ? ORDER BY m.uid`, id, since)
		if err != nil {
			return err
		}
		sc := newMessageScanner()
		for rows.Next() {
			msg, err := sc.scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			cs.Changed = append(cs.Changed, msg)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		cs.Expunged, err = expungedSince(ctx, tx, id, since)
		return err
	})
	return cs, err
}

// scanUIDs reads a one-column result of UIDs and closes it; err is the
// query's own error, passed through.
func scanUIDs(rows *sql.Rows, err error) ([]store.UID, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.UID
	for rows.Next() {
		var u store.UID
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// maxRangeQueries bounds the per-range queries of a UID set; a set with
// more ranges is read as one span and filtered.
const maxRangeQueries = 16

// uidSpans turns a set into the UID spans to query.
func uidSpans(set store.UIDSet) (spans store.UIDSet, filter bool) {
	set = set.Normalize()
	if len(set) <= maxRangeQueries {
		return set, false
	}
	return store.UIDSet{{Start: set[0].Start, Stop: set[len(set)-1].Stop}}, true
}

// Messages implements store.Mail. A UID set of one range, as FETCH asks
// for chunk by chunk, is one query: it checks that the mailbox is the
// account's as it reads, and only when it finds nothing does a second
// query tell an empty range from a mailbox that is not there. More
// ranges are read in one read transaction.
func (m *mail) Messages(ctx context.Context, id store.MailboxID, uids store.UIDSet, opts store.FetchOptions) ([]store.Message, error) {
	spans, filter := uidSpans(uids)
	norm := uids.Normalize()
	if len(spans) == 1 && !filter {
		// A chunk of a FETCH is bounded; see boundedQuery.
		ctx := boundedQuery(ctx)
		out, err := m.messagesIn(ctx, m.s.rd(), id, spans[0], opts, nil, nil)
		if err != nil || len(out) > 0 {
			return out, err
		}
		if _, err := m.mailboxByID(ctx, m.s.rd(), id); err != nil {
			return nil, err
		}
		return nil, nil
	}
	var out []store.Message
	err := m.s.readTx(ctx, func(tx reader) error {
		if _, err := m.mailboxByID(ctx, tx, id); err != nil {
			return err
		}
		var keep store.UIDSet
		if filter {
			keep = norm
		}
		for _, r := range spans {
			var err error
			if out, err = m.messagesIn(ctx, tx, id, r, opts, keep, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// messagesIn appends to out the messages of mailbox id in the UID range
// r that keep contains (nil: all), if the mailbox is the account's.
func (m *mail) messagesIn(ctx context.Context, q reader, id store.MailboxID, r store.UIDRange, opts store.FetchOptions, keep store.UIDSet, out []store.Message) ([]store.Message, error) {
	const where = ` WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ?
		AND EXISTS (SELECT 1 FROM mailboxes x WHERE x.id = ? AND x.account_id = ?) ORDER BY m.uid`
	query := `SELECT ` + messageCols + ` FROM messages m` + where
	if opts.Structure {
		query = `SELECT ` + messageCols + `, b.structure FROM messages m JOIN blobs b ON b.id = m.blob_id` + where
	}
	// The EXISTS does not refer to the row: SQLite runs it once.
	rows, err := q.QueryContext(ctx, query, id, r.Start, r.Stop, id, m.acct)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	var structure []byte
	var extra []any
	if opts.Structure {
		extra = []any{&structure}
	}
	sc := newMessageScanner(extra...)
	for rows.Next() {
		msg, err := sc.scan(rows)
		if err != nil {
			return out, err
		}
		if keep != nil && !keep.Contains(msg.UID) {
			continue
		}
		if opts.Structure {
			msg.Part = new(mime.Part)
			if err := json.Unmarshal(structure, msg.Part); err != nil {
				return out, fmt.Errorf("sqlite: structure of message %d: %w", msg.UID, err)
			}
		}
		if out == nil {
			// Room for the whole range when it is small (a FETCH of a
			// screenful of messages) saves growing the slice row by
			// row.
			out = make([]store.Message, 0, min(uint64(r.Stop)-uint64(r.Start)+1, 64))
		}
		out = append(out, msg)
	}
	return out, rows.Err()
}

// boundedQuery is the context for a query whose cost is small and
// bounded (one FETCH chunk's rows, one lookup by key): it is not canceled
// with ctx. For a cancelable context database/sql and the driver each
// start a goroutine to watch it, for every query, which costs more than
// such a query finishing after its caller gave up.
func boundedQuery(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// bodyCheck is the condition under which a blob is the account's: a
// message of one of its mailboxes refers to it. Copies share a blob, also
// across accounts (shared.go), so the blob alone says nothing.
const bodyCheck = `EXISTS (SELECT 1 FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id WHERE m.blob_id = b.id AND x.account_id = ?)`

// OpenBody implements store.Mail. The blob must belong to a message of the
// account: a Blob value from another account is not found.
func (m *mail) OpenBody(ctx context.Context, msg *store.Message) (store.Body, error) {
	id, err := strconv.ParseInt(msg.Blob, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: blob %q", store.ErrNotFound, msg.Blob)
	}
	var name string
	err = m.s.rd().QueryRowContext(boundedQuery(ctx), `SELECT b.name FROM blobs b WHERE b.id = ? AND `+bodyCheck, id, m.acct).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: blob %s", store.ErrNotFound, msg.Blob)
	} else if err != nil {
		return nil, err
	}
	return m.openBlob(ctx, name)
}

var _ store.BodiesOpener = (*mail)(nil)

// OpenBodies implements store.BodiesOpener: one query finds the names of
// every blob of msgs that is the account's, as OpenBody checks for one.
func (m *mail) OpenBodies(ctx context.Context, msgs []store.Message) (func(*store.Message) (store.Body, error), error) {
	// The IDs go as one JSON array, so that the query's text, and its
	// prepared statement, are the same for any number of them.
	list := make([]byte, 0, 1+len(msgs)*8)
	list = append(list, '[')
	for i := range msgs {
		id, err := strconv.ParseInt(msgs[i].Blob, 10, 64)
		if err != nil {
			continue // not found when opened
		}
		if len(list) > 1 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, id, 10)
	}
	list = append(list, ']')
	names := make(map[int64]string, len(msgs))
	rows, err := m.s.rd().QueryContext(boundedQuery(ctx), `SELECT b.id, b.name FROM blobs b WHERE b.id IN (SELECT value FROM json_each(?)) AND `+bodyCheck, string(list), m.acct)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		names[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return func(msg *store.Message) (store.Body, error) {
		id, err := strconv.ParseInt(msg.Blob, 10, 64)
		name, ok := names[id]
		if err != nil || !ok {
			return nil, fmt.Errorf("%w: blob %q", store.ErrNotFound, msg.Blob)
		}
		return m.openBlob(ctx, name)
	}, nil
}

func (m *mail) openBlob(ctx context.Context, name string) (store.Body, error) {
	r, err := m.s.blobs.Open(ctx, name)
	if errors.Is(err, blob.ErrNotFound) {
		// Expunged (and removed) since the caller read the message.
		return nil, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return r, err
}

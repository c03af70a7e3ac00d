package sqlite

import (
	"context"
	"database/sql"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"postfach/internal/store"
)

// Text searches that read every message of the mailbox.
//
// A text key whose candidates the index does not find (a needle of one
// rune, or of two that most messages contain, as "th"; NOT of a text key)
// is decided by its text condition on every message. When the text
// conditions are the whole search (no other key narrows the messages, as
// in SEARCH BODY "th"), that scan is done differently from the other
// searches (scanText):
//
//   - It walks messages_mailbox_blob, which holds the blob and UID of each
//     message of the mailbox, instead of the (mailbox, UID) index and a
//     messages row per message, and reads the texts in blob order.
//   - It returns the messages whose text is complete that do not match,
//     as one group_concat value, and the answer is the mailbox's UIDs
//     (the UID cache) less those and less the incomplete ones. Returning
//     100,000 matching rows one by one through database/sql was a third
//     of the search; a scan is chosen because the needle is frequent, so
//     the messages that fail are few, and when they are many (NOT BODY
//     "th") they still come as one value.
//   - It splits the mailbox into ranges of blob IDs, scanned side by side
//     on connections of the read pool that are free (a statement runs on
//     one goroutine; the connections map the database and read its pages
//     in place, so they do not wait for each other).
//
// Snapshots. Every connection reads its own snapshot. Another
// connection's transaction is used only if it sees the mailbox row as the
// search's does: the same UIDVALIDITY, HIGHESTMODSEQ and message count.
// Every change to the messages of a mailbox (new, expunged, flags and
// keywords) gives it a new HIGHESTMODSEQ (RFC 7162 section 3.1), so both
// read the same messages rows. What else a scan reads is the same in any
// later snapshot while a message refers to it: a blob's row and its text
// are written once and deleted with the blob's last message; the index's
// candidate conditions (under an OR) hold for every message whose text
// matches in either snapshot; and a text's state only rises. A message
// whose text became complete after the search began is decided exactly
// by the scan and again by the matcher pass (Search), which agree; the
// merge keeps it once.

// Defaults of the indexer's scan settings.
const (
	// defaultScanRange is the fewest messages in a range of their own.
	// A range costs a query (planning, a transaction on another
	// connection: about 0.1 ms) and scanning 16,384 messages about 10 ms.
	defaultScanRange = 16 << 10
	// scanRangesPerWorker: ranges are claimed one at a time, so that a
	// connection that starts late, or a core busy with other work, leaves
	// at most a range's time of imbalance.
	scanRangesPerWorker = 2
	// scanSpareWait bounds how long a worker waits for a connection of
	// the pool. It does not delay the search: the search's own
	// connection scans every range no other has claimed.
	scanSpareWait = 50 * time.Millisecond
)

// scansAll reports whether f's text conditions are the whole search and
// exact, so that scanText decides the messages with complete text.
func (f *sqlFilter) scansAll() bool {
	return f.complete && f.hasText() && len(f.conds) == 0
}

// selectUIDs is searchRows without the matcher: the UIDs of the messages
// of the mailbox (args[0]) that satisfy where, from messages m and the
// tables joined to it, as one group_concat value. A text search can find
// tens of thousands: read as rows, each costs about as much as deciding
// its text (0.3 µs through database/sql).
func selectUIDs(ctx context.Context, tx reader, from, where string, args []any) ([]store.UID, error) {
	var joined sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT group_concat(uid) FROM (SELECT m.uid FROM `+from+` WHERE m.mailbox_id = ? AND `+where+` ORDER BY m.uid)`, args...).Scan(&joined)
	if err != nil {
		return nil, err
	}
	return parseUIDList(joined.String, 0)
}

// blobRange is a range of blob IDs, inclusive.
type blobRange struct{ lo, hi int64 }

// scanText returns the UIDs of the messages of the mailbox mb, as of tx,
// whose text is complete and matches f, which scansAll and was translated
// from c.
//
// Which messages a range returns: the text keys of c itself have no
// candidates because most messages contain their needles, so most
// messages match and a range returns those that do not; the answer is
// uids less those. Under NOT or OR, the share is anyone's guess, and a
// range returns the messages that match.
func (m *mail) scanText(ctx context.Context, tx reader, mb mailboxRow, f *sqlFilter, c *store.SearchCriteria) ([]store.UID, error) {
	where, fargs := f.exact()
	from := "messages m INDEXED BY messages_mailbox_blob"
	if f.blobs {
		from += " JOIN blobs b ON b.id = m.blob_id"
	}
	complement := len(c.Not) == 0 && len(c.Or) == 0
	var query string
	if complement {
		// A message without a text row is not found, as by the other
		// searches (every blob has one: they are written and deleted
		// together).
		query = `SELECT group_concat(m.uid) FROM ` + from + ` LEFT JOIN blob_text t ON t.blob_id = m.blob_id
			WHERE m.mailbox_id = ? AND m.blob_id BETWEEN ? AND ? AND (coalesce(t.state, 0) < 6 OR ` + where + ` IS NOT TRUE)`
	} else {
		query = `SELECT group_concat(m.uid) FROM ` + from + ` JOIN blob_text t ON t.blob_id = m.blob_id
			WHERE m.mailbox_id = ? AND m.blob_id BETWEEN ? AND ? AND t.state >= 6 AND ` + where
	}
	scan := func(r reader, br blobRange) ([]store.UID, error) {
		args := append([]any{mb.ID, br.lo, br.hi}, fargs...)
		var joined sql.NullString
		if err := r.QueryRowContext(ctx, query, args...).Scan(&joined); err != nil {
			return nil, err
		}
		// In blob order: parseUIDList sorts them.
		return parseUIDList(joined.String, 0)
	}
	ix := m.s.index
	workers := ix.scanWorkers
	if st := m.s.rdb.Stats(); st.MaxOpenConnections > 0 {
		// Leave a connection for the other sessions' reads.
		workers = max(1, min(workers, st.MaxOpenConnections-st.InUse))
	}
	parts := 1
	if workers > 1 {
		parts = min(int(mb.messages)/max(ix.scanRange, 1), workers*scanRangesPerWorker)
	}
	var uids []store.UID
	if complement || parts > 1 {
		var err error
		if uids, err = m.s.mailboxUIDs(ctx, tx, mb); err != nil {
			return nil, err
		}
	}
	ranges := []blobRange{{math.MinInt64, math.MaxInt64}}
	if parts > 1 {
		var err error
		if ranges, err = blobRanges(ctx, tx, mb.ID, uids, parts); err != nil {
			return nil, err
		}
	}
	found, err := scanRanges(ctx, m.s, tx, mb, ranges, min(workers, len(ranges)), scan)
	if err != nil || !complement {
		return found, err
	}
	// found is sorted and holds UIDs of the mailbox only.
	out := uids[:0]
	j := 0
	for _, u := range uids {
		for j < len(found) && found[j] < u {
			j++
		}
		if j < len(found) && found[j] == u {
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// scanSamples is how many messages blobRanges looks at.
const scanSamples = 64

// blobRanges cuts the blob IDs of the messages of the mailbox into parts
// ranges of about as many messages each, the first from the lowest int64
// and the last to the highest; uids are the mailbox's UIDs. It reads the
// blobs of scanSamples messages spread evenly over the UIDs, and cuts at
// their quantiles: exact when blobs and UIDs go up together (delivery
// order, the common case), about right otherwise (a sample of 64 puts a
// quantile within a few percent of the messages). Finding exact ones means
// walking the mailbox's part of messages_mailbox_blob, 2 ms for 100,000
// messages.
func blobRanges(ctx context.Context, tx reader, id store.MailboxID, uids []store.UID, parts int) ([]blobRange, error) {
	if len(uids) < scanSamples || parts < 2 {
		return []blobRange{{math.MinInt64, math.MaxInt64}}, nil
	}
	args := make([]any, 1, 1+scanSamples)
	args[0] = id
	for i := range scanSamples {
		args = append(args, uids[(2*i+1)*len(uids)/(2*scanSamples)])
	}
	rows, err := tx.QueryContext(ctx, `SELECT blob_id FROM messages WHERE mailbox_id = ? AND uid IN (?`+strings.Repeat(", ?", scanSamples-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sample []int64
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		sample = append(sample, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(sample)
	ranges := make([]blobRange, 0, parts)
	lo := int64(math.MinInt64)
	for i := 1; i < parts && len(sample) > 0; i++ {
		// Messages with the same blob fall in one range.
		if b := sample[i*len(sample)/parts]; b > lo {
			ranges = append(ranges, blobRange{lo, b - 1})
			lo = b
		}
	}
	return append(ranges, blobRange{lo, math.MaxInt64}), nil
}

// scanRanges runs scan over every range and returns the union of the
// results, sorted, without duplicates. tx scans ranges itself until none
// is left; up to workers-1 other connections of the pool help, each in a
// read transaction that sees mb as tx does (see above).
func scanRanges(ctx context.Context, s *Store, tx reader, mb mailboxRow, ranges []blobRange,
	workers int, scan func(reader, blobRange) ([]store.UID, error)) ([]store.UID, error) {
	var (
		mu       sync.Mutex
		next     int
		results  = make([][]store.UID, len(ranges))
		firstErr error
	)
	// claim hands out the next range, or -1 when none is left or a scan
	// failed.
	claim := func() int {
		mu.Lock()
		defer mu.Unlock()
		if next == len(ranges) || firstErr != nil {
			return -1
		}
		next++
		return next - 1
	}
	run := func(r reader) {
		for i := claim(); i >= 0; i = claim() {
			uids, err := scan(r, ranges[i])
			mu.Lock()
			results[i] = uids
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	}
	// Workers stop waiting for a connection once tx has claimed every
	// range.
	waitCtx, stopWaiting := context.WithTimeout(ctx, scanSpareWait)
	defer stopWaiting()
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(func() {
			r, done, ok := s.spareReader(ctx, waitCtx, mb)
			if !ok {
				return
			}
			defer done()
			run(r)
		})
	}
	run(tx)
	stopWaiting()
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	var out []store.UID
	for _, r := range results {
		out = append(out, r...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// spareReader begins a read transaction on a connection of the pool,
// waiting for one while waitCtx lasts, if it sees the mailbox mb as the
// caller's transaction does; done ends it. Queries run under ctx.
func (s *Store) spareReader(ctx, waitCtx context.Context, mb mailboxRow) (r reader, done func(), ok bool) {
	conn, err := s.rdb.Conn(waitCtx)
	if err != nil {
		return reader{}, nil, false
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		conn.Close()
		return reader{}, nil, false
	}
	done = func() {
		tx.Rollback()
		conn.Close()
	}
	r = reader{s: s, tx: tx}
	var uidValidity uint32
	var modseq store.ModSeq
	var messages uint32
	err = r.QueryRowContext(ctx, `SELECT uidvalidity, highestmodseq, messages FROM mailboxes WHERE id = ?`, mb.ID).
		Scan(&uidValidity, &modseq, &messages)
	if err != nil || uidValidity != mb.UIDValidity || modseq != mb.HighestModSeq || messages != mb.messages {
		done()
		return reader{}, nil, false
	}
	return r, done, true
}

// scanWorkers is the default of indexer.scanWorkers: a connection per
// core.
func scanWorkers() int { return runtime.GOMAXPROCS(0) }

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"postfach/internal/store"
)

// sortCache keeps the SORT and THREAD keys (RFC 5256, RFC 5957) of the
// messages of recently sorted or threaded mailboxes in memory, so that
// sorting a mailbox again costs a look at its row and a copy of a
// memoized order, not an ORDER BY over every message and its blob.
//
// Every key is immutable per message: computed at delivery from the blob,
// or the message row's internal date and size. Only the set of messages
// changes. An entry holds the keys of one mailbox at one HIGHESTMODSEQ
// (and UIDVALIDITY, which is never reused), in columns ascending by UID.
// A later state of the mailbox is reached from an entry as uidCache does
// it: the tombstones of the messages expunged since, the rows of the
// messages above its largest UID. The result must count as many messages
// as the mailbox row, or the keys are read afresh.
//
// Columns are read when first needed: UIDs, dates and sizes with the
// entry, each text key and the threading fields on the first command that
// uses them. Per key, the sorted order is computed once and then kept in
// step with the set of messages by merging; the result of each key list
// is memoized until the set changes (sortorder.go).
//
// An entry's message set and base columns never change once it exists;
// what is filled in later, its mutex guards. A reader whose snapshot is
// older than the cached entry builds a private entry and does not
// publish it. Lock order: an entry's mutex, then the cache's; never the
// other way.
//
// The zero value is ready to use.
type sortCache struct {
	mu      sync.Mutex
	entries map[store.MailboxID]*sortEntry
	bytes   int64 // estimated memory of the entries
	tick    uint64
	// max bounds bytes; 0 means maxSortCacheBytes.
	max int64
}

// maxSortCacheBytes bounds the cache's memory. The keys of a mailbox of
// 100,000 messages take some tens of MiB, and one entry may take at most
// half of the bound (a mailbox of some 300,000 messages): bigger ones are
// sorted from a private entry that is dropped afterwards.
const maxSortCacheBytes = 256 << 20

// sortEntry is the key table of one mailbox at one HIGHESTMODSEQ.
type sortEntry struct {
	id          store.MailboxID
	uidValidity uint32
	modseq      store.ModSeq
	cache       *sortCache // nil for a private entry
	used        uint64     // under cache.mu
	bytes       int64      // under cache.mu: what the cache counts for it

	mu sync.Mutex
	t  keyTable
	d  sortDerived
}

// keyTable holds the keys in columns, one value per message, ascending by
// UID. Text columns and thread are nil until read, then all set.
type keyTable struct {
	uids   []store.UID
	num    [numNumCols][]int64
	text   [numTextCols][]string
	thread *threadCols
}

// threadCols are the fields THREAD needs beyond dates and subjects.
type threadCols struct {
	id, refs []string // Message-ID; references separated by spaces
	reply    []bool
}

// sortCol is a column of sort keys: numeric ones first, then text.
type sortCol uint8

const (
	colArrival sortCol = iota
	colDate
	colSize
	colSubject
	colFrom
	colTo
	colCc
	colDisplayFrom
	colDisplayTo
	numCols

	numNumCols  = int(colSubject)
	numTextCols = int(numCols - colSubject)
)

// sortColOf maps a SORT key to its column.
func sortColOf(f store.SortField) (sortCol, bool) {
	switch f {
	case store.SortArrival:
		return colArrival, true
	case store.SortDate:
		return colDate, true
	case store.SortSize:
		return colSize, true
	case store.SortSubject:
		return colSubject, true
	case store.SortFrom:
		return colFrom, true
	case store.SortTo:
		return colTo, true
	case store.SortCc:
		return colCc, true
	case store.SortDisplayFrom:
		return colDisplayFrom, true
	case store.SortDisplayTo:
		return colDisplayTo, true
	}
	return 0, false
}

// sortNumExprs are the SQL expressions of the numeric columns. DATE falls
// back to the internal date when the message has no valid Date field
// (RFC 5256 section 2.2); both are seconds since the epoch, so UTC.
var sortNumExprs = [numNumCols]string{"m.internal_date", "coalesce(b.sent_date, m.internal_date)", "m.size"}

// sortTextExprs are those of the text columns, upper-cased in ASCII at
// delivery (i;ascii-casemap, sortkeys.go).
var sortTextExprs = [numTextCols]string{"coalesce(b.sort_subject, '')", "b.sort_from", "b.sort_to", "b.sort_cc", "b.display_from", "b.display_to"}

// sortThreadExprs are those of threadCols.
var sortThreadExprs = []string{"b.thread_id", "b.thread_refs", "b.thread_reply"}

// sortTextRow is the text columns and threadCols of a message as one value,
// separated by sortKeySep.
var sortTextRow = strings.Join(sortTextExprs[:], " || char(31) || ") + " || char(31) || " + strings.Join(sortThreadExprs, " || char(31) || ")

// sortKeySep separates the text values SQLite joins into one string. A
// value may contain it (a subject is any decoded text): the count of
// separators then does not match, and the values are read row by row
// instead.
const sortKeySep = "\x1f"

func (t *keyTable) len() int { return len(t.uids) }

// hasText reports whether the text columns and threadCols were read:
// they are read together.
func (t *keyTable) hasText() bool { return t.thread != nil }

// entry returns the entry of mailbox mb as of the read transaction tx:
// the cached one, one brought up to date from it, or one read afresh,
// with its text columns if withText (a caller that needs them saves a
// second walk over the blobs).
func (c *sortCache) entry(ctx context.Context, tx reader, mb mailboxRow, withText bool) (*sortEntry, error) {
	c.mu.Lock()
	e := c.entries[mb.ID]
	if e != nil && e.uidValidity == mb.UIDValidity {
		c.tick++
		e.used = c.tick
	} else {
		e = nil
	}
	c.mu.Unlock()
	switch {
	case e != nil && e.modseq == mb.HighestModSeq && e.t.len() == int(mb.messages):
		return e, nil
	case e != nil && e.modseq < mb.HighestModSeq && int(mb.messages) <= 2*e.t.len()+1000:
		// Worth catching up: not many more messages than cached.
		ne, ok, err := catchUpSort(ctx, tx, mb, e)
		if err != nil {
			return nil, err
		}
		if ok {
			c.put(ne)
			return ne, nil
		}
	}
	ne, err := loadSortEntry(ctx, tx, mb, withText)
	if err != nil {
		return nil, err
	}
	if e == nil || e.modseq <= mb.HighestModSeq {
		c.put(ne)
	}
	return ne, nil
}

func (c *sortCache) limit() int64 {
	if c.max > 0 {
		return c.max
	}
	return maxSortCacheBytes
}

// put publishes e, replacing the mailbox's entry unless that one is newer.
func (c *sortCache) put(e *sortEntry) {
	e.mu.Lock()
	size := e.size()
	e.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.limit()/2 {
		return // one huge mailbox would push everything else out
	}
	if old := c.entries[e.id]; old != nil {
		if old.uidValidity == e.uidValidity && old.modseq > e.modseq {
			return
		}
		c.drop(old)
	}
	if c.entries == nil {
		c.entries = map[store.MailboxID]*sortEntry{}
	}
	c.tick++
	e.cache, e.used, e.bytes = c, c.tick, size
	c.entries[e.id] = e
	c.bytes += size
	c.evict()
}

// drop removes e; c.mu is held.
func (c *sortCache) drop(e *sortEntry) {
	if c.entries[e.id] == e {
		delete(c.entries, e.id)
		c.bytes -= e.bytes
	}
}

// evict removes the least recently used entries while the cache is over
// its bound; c.mu is held.
func (c *sortCache) evict() {
	for c.bytes > c.limit() && len(c.entries) > 0 {
		var victim *sortEntry
		for _, v := range c.entries {
			if victim == nil || v.used < victim.used {
				victim = v
			}
		}
		c.drop(victim)
	}
}

// grew records that e, whose mutex is held, filled in something lazily.
func (e *sortEntry) grew() {
	c := e.cache
	if c == nil {
		return
	}
	size := e.size()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.id] != e {
		return
	}
	c.bytes += size - e.bytes
	e.bytes = size
	if size > c.limit()/2 {
		c.drop(e)
		return
	}
	c.evict()
}

// size estimates the memory of e; e.mu is held.
func (e *sortEntry) size() int64 {
	t := &e.t
	n := int64(t.len())
	b := 4*n + 8*n*int64(numNumCols)
	for _, col := range t.text {
		if col != nil {
			b += 16 * n
			for _, s := range col {
				b += int64(len(s))
			}
		}
	}
	if th := t.thread; th != nil {
		b += 33 * n
		for i := range th.id {
			b += int64(len(th.id[i]) + len(th.refs[i]))
		}
	}
	return b + e.d.size()
}

// loadSortEntry reads the numeric columns of mb's messages and, with
// withText, the text ones: one walk over the messages and their blobs.
func loadSortEntry(ctx context.Context, tx reader, mb mailboxRow, withText bool) (*sortEntry, error) {
	textCol, textExpr := "", ""
	if withText {
		textCol, textExpr = ", group_concat(v, char(31))", ", "+sortTextRow+" AS v"
	}
	var count int
	var joined, text sql.NullString
	dest := []any{&count, &joined}
	if withText {
		dest = append(dest, &text)
	}
	err := tx.QueryRowContext(ctx, `SELECT count(*), group_concat(uid || ',' || ad || ',' || sd || ',' || sz, ',')`+textCol+` FROM (
		SELECT m.uid AS uid, `+sortNumExprs[colArrival]+` AS ad, `+sortNumExprs[colDate]+` AS sd, `+sortNumExprs[colSize]+` AS sz`+textExpr+`
		FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = ? ORDER BY m.uid)`, mb.ID).Scan(dest...)
	if err != nil {
		return nil, err
	}
	e := &sortEntry{id: mb.ID, uidValidity: mb.UIDValidity, modseq: mb.HighestModSeq}
	t := &e.t
	t.uids = make([]store.UID, 0, count)
	for i := range t.num {
		t.num[i] = make([]int64, 0, count)
	}
	s := joined.String
	for len(s) > 0 || len(t.uids) < count {
		var v [1 + numNumCols]int64
		for i := range v {
			var ok bool
			if v[i], s, ok = nextSortInt(s); !ok {
				return nil, fmt.Errorf("sqlite: bad sort key list")
			}
		}
		if v[0] <= 0 || v[0] > 1<<32-1 || len(t.uids) > 0 && store.UID(v[0]) <= t.uids[len(t.uids)-1] {
			// The subquery's order is SQLite's behaviour, not its
			// promise: the columns must follow the UIDs.
			return nil, fmt.Errorf("sqlite: sort keys out of UID order")
		}
		t.uids = append(t.uids, store.UID(v[0]))
		for i := range t.num {
			t.num[i] = append(t.num[i], v[1+i])
		}
	}
	if len(t.uids) != count {
		return nil, fmt.Errorf("sqlite: bad sort key list")
	}
	if withText {
		if err := e.setText(ctx, tx, text.String); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// nextSortInt parses the decimal integer at the start of s, up to a comma or
// the end, and returns the rest after the comma.
func nextSortInt(s string) (int64, string, bool) {
	neg := false
	i := 0
	if i < len(s) && s[i] == '-' {
		neg, i = true, 1
	}
	var n int64
	start := i
	for ; i < len(s) && s[i] != ','; i++ {
		c := s[i]
		if c < '0' || c > '9' || i-start >= 18 {
			return 0, s, false
		}
		n = n*10 + int64(c-'0')
	}
	if i == start {
		return 0, s, false
	}
	if neg {
		n = -n
	}
	if i < len(s) {
		i++ // the comma
	}
	return n, s[i:], true
}

// loadText reads the text columns of e, whose mutex is held, from tx,
// which reads the snapshot e was made from: every text key and the
// threading fields at once, since walking the blobs costs more than
// taking more from each.
func (e *sortEntry) loadText(ctx context.Context, tx reader) error {
	if e.t.hasText() {
		return nil
	}
	var count int
	var uids, joined sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT count(*), group_concat(uid, ','), group_concat(v, char(31)) FROM (
		SELECT m.uid AS uid, `+sortTextRow+` AS v
		FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = ? ORDER BY m.uid)`, e.id).Scan(&count, &uids, &joined)
	if err != nil {
		return err
	}
	if count != e.t.len() || !sameUIDList(uids.String, e.t.uids) {
		return fmt.Errorf("sqlite: mailbox %d changed under a read transaction", e.id)
	}
	if err := e.setText(ctx, tx, joined.String); err != nil {
		return err
	}
	e.grew()
	return nil
}

// setText fills e's text columns from joined, the values of sortTextRow of
// every message joined by sortKeySep. When a value holds sortKeySep, they are read
// again row by row.
func (e *sortEntry) setText(ctx context.Context, tx reader, joined string) error {
	t := &e.t
	n := t.len()
	per := len(sortTextExprs) + len(sortThreadExprs)
	var next func() string
	if n == 0 || strings.Count(joined, sortKeySep) == n*per-1 {
		next = func() string {
			v, rest, _ := strings.Cut(joined, sortKeySep)
			joined = rest
			return v
		}
	} else {
		vals := make([]string, 0, n*per)
		exprs := append(sortTextExprs[:len(sortTextExprs):len(sortTextExprs)], sortThreadExprs...)
		err := scanKeyRows(ctx, tx, e.id, 0, exprs, func(uid store.UID, row []string) error {
			if len(vals) == n*per || t.uids[len(vals)/per] != uid {
				return fmt.Errorf("sqlite: mailbox %d changed under a read transaction", e.id)
			}
			vals = append(vals, row...)
			return nil
		})
		if err == nil && len(vals) != n*per {
			err = fmt.Errorf("sqlite: mailbox %d changed under a read transaction", e.id)
		}
		if err != nil {
			return err
		}
		next = func() string {
			v := vals[0]
			vals = vals[1:]
			return v
		}
	}
	for i := range t.text {
		t.text[i] = make([]string, n)
	}
	th := &threadCols{id: make([]string, n), refs: make([]string, n), reply: make([]bool, n)}
	for j := range n {
		for i := range t.text {
			t.text[i][j] = next()
		}
		th.id[j], th.refs[j], th.reply[j] = next(), next(), next() == "1"
	}
	t.thread = th
	return nil
}

// sameUIDList reports whether joined lists exactly uids, comma-separated.
func sameUIDList(joined string, uids []store.UID) bool {
	s := joined
	for _, u := range uids {
		v, rest, ok := nextSortInt(s)
		if !ok || v != int64(u) {
			return false
		}
		s = rest
	}
	return s == ""
}

// scanKeyRows reads exprs for the messages of mailbox id above UID after,
// row by row, ascending by UID.
func scanKeyRows(ctx context.Context, tx reader, id store.MailboxID, after store.UID, exprs []string, fn func(uid store.UID, vals []string) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT m.uid, `+strings.Join(exprs, ", ")+`
		FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = ? AND m.uid > ? ORDER BY m.uid`, id, after)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]string, len(exprs))
	dest := make([]any, 1+len(exprs))
	var uid store.UID
	dest[0] = &uid
	for i := range vals {
		dest[1+i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(uid, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// catchUpSort builds the entry of mb from the older entry old: without
// the messages expunged since, with those above its largest UID. Columns
// old has read are kept, and so are its sort orders, merged with the new
// messages' keys. ok is false when the result does not count as many
// messages as mb.
func catchUpSort(ctx context.Context, tx reader, mb mailboxRow, old *sortEntry) (*sortEntry, bool, error) {
	gone, err := expungedSince(ctx, tx, mb.ID, old.modseq)
	if err != nil {
		return nil, false, err
	}

	old.mu.Lock()
	defer old.mu.Unlock()
	ot := &old.t
	var top store.UID
	if n := ot.len(); n > 0 {
		top = ot.uids[n-1]
	}
	// The columns to read for new messages: what old has read.
	exprs := slices.Clone(sortNumExprs[:])
	withText := ot.hasText()
	if withText {
		exprs = append(append(exprs, sortTextExprs[:]...), sortThreadExprs...)
	}
	var fresh keyTable
	var texts []string
	err = scanKeyRows(ctx, tx, mb.ID, top, exprs, func(uid store.UID, vals []string) error {
		fresh.uids = append(fresh.uids, uid)
		for i := range numNumCols {
			v, err := strconv.ParseInt(vals[i], 10, 64)
			if err != nil {
				return fmt.Errorf("sqlite: bad sort key %q", vals[i])
			}
			fresh.num[i] = append(fresh.num[i], v)
		}
		texts = append(texts, vals[numNumCols:]...)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if withText {
		for i := range fresh.text {
			fresh.text[i] = make([]string, fresh.len())
		}
		fresh.thread = &threadCols{id: make([]string, fresh.len()), refs: make([]string, fresh.len()), reply: make([]bool, fresh.len())}
		per := len(sortTextExprs) + len(sortThreadExprs)
		for j := range fresh.len() {
			row := texts[j*per : (j+1)*per]
			for i := range fresh.text {
				fresh.text[i][j] = row[i]
			}
			th, k := fresh.thread, len(sortTextExprs)
			th.id[j], th.refs[j], th.reply[j] = row[k], row[k+1], row[k+2] == "1"
		}
	}

	// remap[i] is old message i's index in the new table, or -1.
	n := ot.len()
	remap := make([]int32, n)
	kept := 0
	j := 0
	for i, u := range ot.uids {
		for j < len(gone) && gone[j] < u {
			j++
		}
		if j < len(gone) && gone[j] == u {
			remap[i] = -1
			continue
		}
		remap[i] = int32(kept)
		kept++
	}
	if kept+fresh.len() != int(mb.messages) {
		return nil, false, nil
	}
	e := &sortEntry{id: mb.ID, uidValidity: mb.UIDValidity, modseq: mb.HighestModSeq}
	if kept == n && fresh.len() == 0 {
		// Only flags changed: the same messages, the same orders.
		e.t = old.t
		e.d = old.d.clone()
		return e, true, nil
	}
	e.t.uids = mergeSortColumn(ot.uids, remap, kept, fresh.uids)
	for i := range e.t.num {
		e.t.num[i] = mergeSortColumn(ot.num[i], remap, kept, fresh.num[i])
	}
	if withText {
		for i := range e.t.text {
			e.t.text[i] = mergeSortColumn(ot.text[i], remap, kept, fresh.text[i])
		}
		th := ot.thread
		e.t.thread = &threadCols{
			id:    mergeSortColumn(th.id, remap, kept, fresh.thread.id),
			refs:  mergeSortColumn(th.refs, remap, kept, fresh.thread.refs),
			reply: mergeSortColumn(th.reply, remap, kept, fresh.thread.reply),
		}
	}
	e.d = old.d.catchUp(&e.t, remap, kept)
	return e, true, nil
}

// mergeSortColumn returns the old values that remap keeps, then fresh.
func mergeSortColumn[T any](old []T, remap []int32, kept int, fresh []T) []T {
	out := make([]T, 0, kept+len(fresh))
	for i, v := range old {
		if remap[i] >= 0 {
			out = append(out, v)
		}
	}
	return append(out, fresh...)
}

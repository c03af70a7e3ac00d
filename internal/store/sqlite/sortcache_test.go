package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"postfach/internal/store"
)

// oracleExprs are the SORT keys as SQL expressions: SQLite's ORDER BY,
// which compares the stored upper-cased keys bytewise, is the reference
// the sort cache must agree with.
var oracleExprs = map[store.SortField]string{
	store.SortArrival:     "m.internal_date",
	store.SortCc:          "b.sort_cc",
	store.SortDate:        "coalesce(b.sent_date, m.internal_date)",
	store.SortFrom:        "b.sort_from",
	store.SortSize:        "m.size",
	store.SortSubject:     "coalesce(b.sort_subject, '')",
	store.SortTo:          "b.sort_to",
	store.SortDisplayFrom: "b.display_from",
	store.SortDisplayTo:   "b.display_to",
}

var allSortFields = []store.SortField{store.SortArrival, store.SortCc, store.SortDate, store.SortFrom, store.SortSize,
	store.SortSubject, store.SortTo, store.SortDisplayFrom, store.SortDisplayTo}

// oracleSort sorts mailbox id with SQLite, row by row.
func oracleSort(t *testing.T, s *Store, id store.MailboxID, keys []store.SortKey) []store.UID {
	t.Helper()
	var order []string
	for _, k := range keys {
		e := oracleExprs[k.Field]
		if k.Reverse {
			e += " DESC"
		}
		order = append(order, e)
	}
	order = append(order, "m.uid")
	rows, err := s.rdb.Query(`SELECT m.uid FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = ? ORDER BY `+strings.Join(order, ", "), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.UID
	for rows.Next() {
		var u store.UID
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// oracleThreadInfo reads the threading fields row by row.
func oracleThreadInfo(t *testing.T, s *Store, id store.MailboxID) []store.ThreadInfo {
	t.Helper()
	rows, err := s.rdb.Query(`SELECT m.uid, coalesce(b.sent_date, m.internal_date), b.thread_reply, b.thread_id, b.thread_refs, coalesce(b.sort_subject, '')
		FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = ? ORDER BY m.uid`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.ThreadInfo
	for rows.Next() {
		var ti store.ThreadInfo
		var date int64
		var refs string
		if err := rows.Scan(&ti.UID, &date, &ti.Reply, &ti.MessageID, &refs, &ti.BaseSubject); err != nil {
			t.Fatal(err)
		}
		ti.Date = unixTime(date, 0)
		if refs != "" {
			ti.References = strings.Split(refs, " ")
		}
		out = append(out, ti)
	}
	return out
}

// randomMessage returns a message whose keys tie often: few subjects,
// senders and dates, mixed case, some fields missing, some subjects that
// decode to the separator the cache joins values with.
func randomMessage(rnd *rand.Rand, n int) string {
	var b strings.Builder
	subjects := []string{"Lunch", "lunch", "Re: Lunch", "Fwd: budget", "[list] Budget", "", "=?utf-8?q?odd=1Fsubject?=", "Zebra", "ärger"}
	froms := []string{"Zed <zed@example.org>", "adam@example.org", "\"Mia\" <mia@example.org>", "", "ADAM@example.org", "=?utf-8?q?Bj=C3=B6rn?= <b@example.org>"}
	if f := froms[rnd.IntN(len(froms))]; f != "" {
		fmt.Fprintf(&b, "From: %s\r\n", f)
	}
	if f := froms[rnd.IntN(len(froms))]; f != "" {
		fmt.Fprintf(&b, "To: %s\r\n", f)
	}
	if rnd.IntN(3) == 0 {
		fmt.Fprintf(&b, "Cc: %s\r\n", froms[rnd.IntN(len(froms))])
	}
	if s := subjects[rnd.IntN(len(subjects))]; s != "" || rnd.IntN(2) == 0 {
		fmt.Fprintf(&b, "Subject: %s\r\n", s)
	}
	if rnd.IntN(5) != 0 {
		fmt.Fprintf(&b, "Date: Mon, %d Feb 2026 10:00:00 +0000\r\n", 1+rnd.IntN(4))
	}
	if rnd.IntN(6) != 0 {
		fmt.Fprintf(&b, "Message-ID: <m%d@x>\r\n", rnd.IntN(n+3))
	}
	switch rnd.IntN(3) {
	case 0:
		fmt.Fprintf(&b, "References: <m%d@x> <m%d@x>\r\n", rnd.IntN(n+3), rnd.IntN(n+3))
	case 1:
		fmt.Fprintf(&b, "In-Reply-To: <m%d@x>\r\n", rnd.IntN(n+3))
	}
	fmt.Fprintf(&b, "\r\n%s\r\n", strings.Repeat("x", rnd.IntN(50)))
	return b.String()
}

// randomKeys returns one to three sort keys.
func randomKeys(rnd *rand.Rand) []store.SortKey {
	keys := make([]store.SortKey, 1+rnd.IntN(3))
	for i := range keys {
		keys[i] = store.SortKey{Field: allSortFields[rnd.IntN(len(allSortFields))], Reverse: rnd.IntN(2) == 0}
	}
	return keys
}

// checkSorts compares every single key, both ways, and some random key
// lists with the oracle, and ThreadInfo and ThreadKeys with the rows.
func checkSorts(t *testing.T, s *Store, m store.Mail, id store.MailboxID, rnd *rand.Rand, what string) {
	t.Helper()
	ctx := context.Background()
	lists := [][]store.SortKey{}
	for _, f := range allSortFields {
		lists = append(lists, []store.SortKey{{Field: f}}, []store.SortKey{{Field: f, Reverse: true}})
	}
	for range 6 {
		lists = append(lists, randomKeys(rnd))
	}
	for _, keys := range lists {
		got, err := m.Sort(ctx, id, keys)
		if err != nil {
			t.Fatal(err)
		}
		if want := oracleSort(t, s, id, keys); !slices.Equal(got, want) {
			t.Fatalf("%s: sort %v:\n got %v\nwant %v", what, keys, got, want)
		}
		// The caller owns the result.
		for i := range got {
			got[i] = 0
		}
	}
	info, err := m.ThreadInfo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := oracleThreadInfo(t, s, id)
	if len(info) != len(want) {
		t.Fatalf("%s: ThreadInfo has %d messages, want %d", what, len(info), len(want))
	}
	for i := range info {
		g, w := info[i], want[i]
		if g.UID != w.UID || g.MessageID != w.MessageID || !slices.Equal(g.References, w.References) ||
			g.BaseSubject != w.BaseSubject || g.Reply != w.Reply || !g.Date.Equal(w.Date) {
			t.Fatalf("%s: ThreadInfo %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
	keys, err := m.ThreadKeys(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	checkThreadKeys(t, keys, want, what)
}

// checkThreadKeys: the same UIDs, dates and reply flags, and numbers
// equal exactly where the strings are.
func checkThreadKeys(t *testing.T, k *store.ThreadKeys, want []store.ThreadInfo, what string) {
	t.Helper()
	if len(k.UIDs) != len(want) || len(k.Dates) != len(want) || len(k.IDs) != len(want) || len(k.Subjects) != len(want) ||
		len(k.Reply) != len(want) || len(k.RefEnds) != len(want) {
		t.Fatalf("%s: ThreadKeys columns of unequal length", what)
	}
	// Per kind: the string a number stands for, the number of a string.
	strs, nums := map[string]map[uint32]string{}, map[string]map[string]uint32{}
	same := func(kind string, s string, n uint32) {
		if (s == "") != (n == 0) {
			t.Fatalf("%s: %s %q numbered %d", what, kind, s, n)
		}
		if s == "" {
			return
		}
		if strs[kind] == nil {
			strs[kind], nums[kind] = map[uint32]string{}, map[string]uint32{}
		}
		if prev, ok := nums[kind][s]; ok && prev != n {
			t.Fatalf("%s: %s %q numbered %d and %d", what, kind, s, prev, n)
		}
		if prev, ok := strs[kind][n]; ok && prev != s {
			t.Fatalf("%s: %s %d numbers %q and %q", what, kind, n, prev, s)
		}
		strs[kind][n], nums[kind][s] = s, n
	}
	for i, w := range want {
		if k.UIDs[i] != w.UID || k.Dates[i] != w.Date.Unix() || k.Reply[i] != w.Reply {
			t.Fatalf("%s: ThreadKeys message %d differs from %+v", what, i, w)
		}
		same("id", w.MessageID, k.IDs[i])
		refs := k.References(i)
		if len(refs) != len(w.References) {
			t.Fatalf("%s: message %d has %d references, want %d", what, i, len(refs), len(w.References))
		}
		for j, r := range refs {
			same("id", w.References[j], r)
		}
		same("subject", w.BaseSubject, k.Subjects[i])
	}
}

// TestSortCache checks SORT orders, ThreadInfo and ThreadKeys served
// from the cache against SQLite's ORDER BY and a row-by-row read, while
// the mailbox changes: appends, expunges, moves in and out, copies,
// flag changes, a delete and re-create.
func TestSortCache(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	box, err := m.CreateMailbox(ctx, "Box", store.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(5, 6))
	appendN := func(id store.MailboxID, n int) {
		msgs := make([]store.NewMessage, n)
		for i := range msgs {
			msgs[i] = store.NewMessage{Body: strings.NewReader(randomMessage(rnd, 60))}
		}
		if _, err := m.Append(ctx, id, msgs); err != nil {
			t.Fatal(err)
		}
	}
	appendN(box.ID, 40)
	appendN(inbox.ID, 20)
	var odd int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM blobs WHERE instr(sort_subject, char(31)) > 0`).Scan(&odd); err != nil || odd == 0 {
		t.Fatalf("no subject holds the separator (%v): the row-by-row read goes untested", err)
	}
	checkSorts(t, s, m, box.ID, rnd, "initial")
	uidsOf := func(id store.MailboxID) []store.UID {
		snap, err := m.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return snap.UIDs
	}
	pick := func(id store.MailboxID) store.UIDSet {
		uids := uidsOf(id)
		if len(uids) == 0 {
			return nil
		}
		u := uids[rnd.IntN(len(uids))]
		return store.UIDSet{{Start: u, Stop: u}}
	}
	for step := range 120 {
		switch op := rnd.IntN(7); op {
		case 0, 1:
			appendN(box.ID, 1+rnd.IntN(4))
		case 2:
			if set := pick(box.ID); set != nil {
				if _, err := m.StoreFlags(ctx, box.ID, set, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Expunge(ctx, box.ID, set); err != nil {
					t.Fatal(err)
				}
			}
		case 3:
			if set := pick(box.ID); set != nil {
				if _, err := m.Move(ctx, box.ID, set, inbox.ID); err != nil {
					t.Fatal(err)
				}
			}
		case 4:
			if set := pick(inbox.ID); set != nil {
				if _, err := m.Move(ctx, inbox.ID, set, box.ID); err != nil {
					t.Fatal(err)
				}
			}
		case 5:
			if set := pick(box.ID); set != nil {
				if _, err := m.StoreFlags(ctx, box.ID, set, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen}); err != nil {
					t.Fatal(err)
				}
			}
		case 6:
			if set := pick(inbox.ID); set != nil {
				if _, err := m.Copy(ctx, inbox.ID, set, box.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if step == 60 {
			if err := m.DeleteMailbox(ctx, "Box"); err != nil {
				t.Fatal(err)
			}
			if box, err = m.CreateMailbox(ctx, "Box", store.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			appendN(box.ID, 5)
		}
		checkSorts(t, s, m, box.ID, rnd, "step "+strconv.Itoa(step))
	}
}

// TestSortCacheManyNew: an entry far smaller than the mailbox is read
// afresh rather than caught up, with the same result.
func TestSortCacheManyNew(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	rnd := rand.New(rand.NewPCG(7, 8))
	add := func(n int) {
		msgs := make([]store.NewMessage, n)
		for i := range msgs {
			msgs[i] = store.NewMessage{Body: strings.NewReader(randomMessage(rnd, 2000))}
		}
		if _, err := m.Append(ctx, inbox.ID, msgs); err != nil {
			t.Fatal(err)
		}
	}
	add(3)
	checkSorts(t, s, m, inbox.ID, rnd, "3 messages")
	add(1200)
	checkSorts(t, s, m, inbox.ID, rnd, "1203 messages")
}

// TestSortCacheOlderSnapshot: a reader whose snapshot is older than the
// cached entry sorts what it sees, and leaves the newer entry cached.
func TestSortCacheOlderSnapshot(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	for i := range 3 {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %c\r\n\r\nx\r\n", 'c'-i))}}); err != nil {
			t.Fatal(err)
		}
	}
	keys := []store.SortKey{{Field: store.SortSubject}}
	err := s.readTx(ctx, func(tx reader) error {
		mb, err := m.(*mail).mailboxByID(ctx, tx, inbox.ID)
		if err != nil {
			return err
		}
		// Another session appends and sorts meanwhile.
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: a\r\n\r\nx\r\n")}}); err != nil {
			return err
		}
		if got, err := m.Sort(ctx, inbox.ID, keys); err != nil || !slices.Equal(got, []store.UID{3, 4, 2, 1}) {
			return fmt.Errorf("newer sort: %v %v", got, err)
		}
		e, err := s.sorts.entry(ctx, tx, mb, true)
		if err != nil {
			return err
		}
		got, err := e.order(ctx, tx, keys)
		if err != nil || !slices.Equal(got, []store.UID{3, 2, 1}) {
			return fmt.Errorf("older sort: %v %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.sorts.mu.Lock()
	e := s.sorts.entries[inbox.ID]
	s.sorts.mu.Unlock()
	if e == nil || e.t.len() != 4 {
		t.Errorf("the newer entry was not kept: %+v", e)
	}
}

// TestSortCacheConcurrent: sessions sort and thread while another
// changes the mailbox; every result is a correct order of some state,
// and the final one equals the oracle. Run it with -race.
func TestSortCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	rnd := rand.New(rand.NewPCG(9, 10))
	// Messages are appended with random subjects; the k-th append gets
	// UID k+1, so a correct SUBJECT order is known for any subset.
	subjects := make([]string, 200)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("S%06d", rnd.IntN(1_000_000))
	}
	appended := 0
	add := func() {
		body := fmt.Sprintf("Subject: %s\r\nMessage-ID: <%d@x>\r\n\r\nx\r\n", subjects[appended], appended)
		appended++
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(body)}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		add()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := m.Sort(ctx, inbox.ID, []store.SortKey{{Field: store.SortSubject}})
				if err != nil {
					t.Error(err)
					return
				}
				for i := 1; i < len(got); i++ {
					a, b := subjects[got[i-1]-1], subjects[got[i]-1]
					if a > b || a == b && got[i-1] > got[i] {
						t.Errorf("out of order: %d %q before %d %q", got[i-1], a, got[i], b)
						return
					}
				}
				if _, err := m.ThreadKeys(ctx, inbox.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 100 {
		if i%3 == 0 {
			snap, _ := m.Snapshot(ctx, inbox.ID)
			u := snap.UIDs[rnd.IntN(len(snap.UIDs))]
			set := store.UIDSet{{Start: u, Stop: u}}
			m.StoreFlags(ctx, inbox.ID, set, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
			m.Expunge(ctx, inbox.ID, set)
			continue
		}
		add()
	}
	close(done)
	wg.Wait()
	checkSorts(t, s, m, inbox.ID, rnd, "after the concurrent changes")
}

// TestSortCacheBound: entries are evicted least recently used first, the
// cache stays within its bound, and an entry bigger than half of it is
// not kept.
func TestSortCacheBound(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, _, _ := setup(t, s)
	var boxes []store.MailboxID
	for i := range 6 {
		b, err := m.CreateMailbox(ctx, fmt.Sprint("B", i), store.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		msgs := make([]store.NewMessage, 30)
		for j := range msgs {
			msgs[j] = store.NewMessage{Body: strings.NewReader(fmt.Sprintf("Subject: %s %d\r\n\r\nx\r\n", strings.Repeat("long subject ", 10), j))}
		}
		if _, err := m.Append(ctx, b.ID, msgs); err != nil {
			t.Fatal(err)
		}
		boxes = append(boxes, b.ID)
	}
	// Room for three entries and a half.
	if _, err := m.Sort(ctx, boxes[0], []store.SortKey{{Field: store.SortSubject}}); err != nil {
		t.Fatal(err)
	}
	s.sorts.mu.Lock()
	s.sorts.max = s.sorts.bytes * 7 / 2
	s.sorts.mu.Unlock()
	for _, id := range boxes {
		if _, err := m.Sort(ctx, id, []store.SortKey{{Field: store.SortSubject}}); err != nil {
			t.Fatal(err)
		}
		s.sorts.mu.Lock()
		var sum int64
		for _, e := range s.sorts.entries {
			sum += e.bytes
		}
		if sum != s.sorts.bytes || s.sorts.bytes > s.sorts.max {
			t.Errorf("cache counts %d bytes, entries %d, bound %d", s.sorts.bytes, sum, s.sorts.max)
		}
		if s.sorts.entries[id] == nil {
			t.Errorf("the entry just used was evicted")
		}
		s.sorts.mu.Unlock()
	}
	s.sorts.mu.Lock()
	n := len(s.sorts.entries)
	_, first := s.sorts.entries[boxes[0]]
	s.sorts.mu.Unlock()
	if n >= len(boxes) || first {
		t.Errorf("%d of %d entries kept, the oldest too: %v", n, len(boxes), first)
	}
	s.sorts.mu.Lock()
	s.sorts.max = s.sorts.entries[boxes[len(boxes)-1]].bytes // over half of it
	s.sorts.mu.Unlock()
	got, err := m.Sort(ctx, boxes[1], []store.SortKey{{Field: store.SortSubject, Reverse: true}})
	if err != nil || len(got) != 30 || got[0] != 10 || got[29] != 1 { // subject "... 9" first, "... 0" last
		t.Fatalf("sort without the cache: %v %v", got, err)
	}
	s.sorts.mu.Lock()
	if e := s.sorts.entries[boxes[1]]; e != nil {
		t.Errorf("an entry of %d bytes is kept under a bound of %d", e.bytes, s.sorts.max)
	}
	s.sorts.mu.Unlock()
}

// TestSortUnknownKey: a key the store does not know is refused.
func TestSortUnknownKey(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	if _, err := m.Sort(context.Background(), inbox.ID, []store.SortKey{{Field: 99}}); err == nil {
		t.Error("sort key 99 accepted")
	}
}

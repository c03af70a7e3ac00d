package sqlite

import (
	"context"
	"database/sql"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/store"
)

// scanSearches are searches whose text keys have no candidates in the
// index, so that scanText decides them: needles of one rune, of two in
// most messages, NOT and OR over text keys.
var scanSearches = []store.SearchCriteria{
	{Body: []string{"e"}},
	{Body: []string{"E"}},
	{Text: []string{"o"}},
	{Body: []string{"ß"}},
	{Text: []string{"本"}},
	{Body: []string{"x"}},
	{Body: []string{"le"}},
	{Body: []string{"e", "r"}},
	{Body: []string{"e"}, Text: []string{"ä"}},
	{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: "e"}}},
	{Not: []store.SearchCriteria{{Body: []string{"zeppelin"}}}},
	{Not: []store.SearchCriteria{{Body: []string{"e"}}}},
	{Not: []store.SearchCriteria{{Text: []string{"z"}}}},
	{Or: [][2]store.SearchCriteria{{{Body: []string{"zeppelin"}}, {Text: []string{"日"}}}}},
	{Or: [][2]store.SearchCriteria{{{Body: []string{"ß"}}, {Flags: store.FlagSeen}}}},
	{Or: [][2]store.SearchCriteria{{{Body: []string{"ß"}}, {Header: []store.HeaderMatch{{Field: "Subject", Value: "budget"}}}}}},
}

// TestScanText: searches that read every message give the matcher's
// answers whether one connection scans the mailbox or several scan ranges
// of it, in a mailbox whose blobs are not in UID order (copies) and are
// interleaved with another mailbox's.
func TestScanText(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	other, err := m.CreateMailbox(ctx, "Other", store.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 240 {
		to := inbox.ID
		if i%5 == 4 {
			to = other.ID
		}
		flags := store.Flags(0)
		if i%3 == 0 {
			flags = store.FlagSeen
		}
		if _, err := m.Append(ctx, to, []store.NewMessage{{Flags: flags, Body: strings.NewReader(ftsMessage(i, rng))}}); err != nil {
			t.Fatal(err)
		}
	}
	// Copies: their blobs are older than their UIDs, and some blobs are
	// in the inbox twice.
	if _, err := m.Copy(ctx, other.ID, store.UIDSet{{Start: 1, Stop: 20}}, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Copy(ctx, inbox.ID, store.UIDSet{{Start: 30, Stop: 45}}, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Snapshot(ctx, inbox.ID); err != nil { // the UID cache
		t.Fatal(err)
	}

	run := func(workers, rangeSize int) [][]store.UID {
		t.Helper()
		s.index.scanWorkers, s.index.scanRange = workers, rangeSize
		out := make([][]store.UID, len(scanSearches))
		for i := range scanSearches {
			got, err := m.Search(ctx, inbox.ID, &scanSearches[i])
			if err != nil {
				t.Fatalf("%+v: %v", scanSearches[i], err)
			}
			out[i] = got
		}
		return out
	}
	one := run(1, defaultScanRange)
	ranges := run(3, 1)
	many := run(8, 2)
	s.index.close()
	setTextState(t, s, `UPDATE blob_text SET state = 0, header = '', body = '', names = ''`)
	setTextState(t, s, `INSERT INTO blob_fts (blob_fts) VALUES ('delete-all')`)
	matcher := run(1, defaultScanRange)

	st, err := m.Status(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	some := 0
	for i, c := range scanSearches {
		if !slices.Equal(one[i], matcher[i]) || !slices.Equal(ranges[i], matcher[i]) || !slices.Equal(many[i], matcher[i]) {
			t.Errorf("%+v:\nmatcher  %v\none      %v\nranges   %v\nmany     %v", c, matcher[i], one[i], ranges[i], many[i])
		}
		if n := len(matcher[i]); n > 0 && n < int(st.Messages) {
			some++
		}
	}
	if some < len(scanSearches)/2 {
		t.Errorf("only %d of %d searches found some messages but not all", some, len(scanSearches))
	}
}

// TestScanRanges: every range is scanned once, by the search's own
// transaction or by one on another connection, and the results are
// merged in order without duplicates.
func TestScanRanges(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	ranges := make([]blobRange, 12)
	for i := range ranges {
		ranges[i] = blobRange{int64(10 * i), int64(10*i + 9)}
	}
	// Open the pool's connections, so that the workers find them idle.
	var conns []*sql.Conn
	for range 4 {
		c, err := s.rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	err := s.readTx(ctx, func(tx reader) error {
		mb, err := m.(*mail).mailboxByID(ctx, tx, inbox.ID)
		if err != nil {
			return err
		}
		var mu sync.Mutex
		scanned := map[blobRange]int{}
		readers := map[*sql.Tx]bool{}
		helped := make(chan struct{})
		var once sync.Once
		got, err := scanRanges(ctx, s, tx, mb, ranges, 3, func(r reader, br blobRange) ([]store.UID, error) {
			if r.tx == tx.tx {
				// Leave the others some.
				select {
				case <-helped:
				case <-time.After(5 * time.Second):
				}
			} else {
				once.Do(func() { close(helped) })
			}
			mu.Lock()
			scanned[br]++
			readers[r.tx] = true
			mu.Unlock()
			// Each range finds its first UID and one shared by all.
			return []store.UID{store.UID(br.hi), store.UID(br.lo + 1), 1000}, nil
		})
		if err != nil {
			return err
		}
		var want []store.UID
		for _, br := range ranges {
			want = append(want, store.UID(br.lo+1), store.UID(br.hi))
			if scanned[br] != 1 {
				t.Errorf("range %v scanned %d times", br, scanned[br])
			}
		}
		want = append(want, 1000)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("merged %v, want %v", got, want)
		}
		delete(readers, tx.tx)
		if len(readers) == 0 {
			t.Error("no other connection scanned")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSpareReader: another connection's transaction serves a scan only
// while it sees the mailbox as the search's transaction does.
func TestSpareReader(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	add := func() {
		t.Helper()
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: x\r\n\r\nbody\r\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	add()
	err := s.readTx(ctx, func(tx reader) error {
		mb, err := m.(*mail).mailboxByID(ctx, tx, inbox.ID)
		if err != nil {
			return err
		}
		r, done, ok := s.spareReader(ctx, ctx, mb)
		if !ok {
			t.Fatal("no spare reader for an unchanged mailbox")
		}
		var n int
		if err := r.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE mailbox_id = ?`, mb.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("spare reader sees %d messages, %v", n, err)
		}
		done()
		// Flags change HIGHESTMODSEQ and nothing else of the row.
		if _, err := m.StoreFlags(ctx, inbox.ID, store.UIDSet{{Start: 1, Stop: 1}}, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagFlagged}); err != nil {
			t.Fatal(err)
		}
		if _, done, ok := s.spareReader(ctx, ctx, mb); ok {
			done()
			t.Error("spare reader for a mailbox whose flags changed since")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// No transaction stays open. (Statements are prepared for the pool
	// in the background, on a connection of their own for a moment.)
	for start := time.Now(); s.rdb.Stats().InUse != 0; time.Sleep(time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%d read connections in use", s.rdb.Stats().InUse)
		}
	}
}

// TestBlobRanges: the ranges cover every blob ID once, in order, keep
// messages of one blob together, and hold about as many messages each
// when blobs and UIDs go up together.
func TestBlobRanges(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	for i := range 200 {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: " + strings.Repeat("x", i) + "\r\n\r\nbody\r\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.readTx(ctx, func(tx reader) error {
		mb, err := m.(*mail).mailboxByID(ctx, tx, inbox.ID)
		if err != nil {
			return err
		}
		uids, err := s.mailboxUIDs(ctx, tx, mb)
		if err != nil {
			return err
		}
		var blobs []int64
		rows, err := tx.QueryContext(ctx, `SELECT blob_id FROM messages WHERE mailbox_id = ?`, mb.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b int64
			rows.Scan(&b)
			blobs = append(blobs, b)
		}
		rows.Close()
		for _, parts := range []int{1, 2, 3, 4, 7} {
			ranges, err := blobRanges(ctx, tx, mb.ID, uids, parts)
			if err != nil {
				return err
			}
			if len(ranges) != parts || ranges[0].lo != math.MinInt64 || ranges[len(ranges)-1].hi != math.MaxInt64 {
				t.Errorf("%d parts: %v", parts, ranges)
				continue
			}
			for i := 1; i < len(ranges); i++ {
				if ranges[i].lo != ranges[i-1].hi+1 || ranges[i].lo > ranges[i].hi {
					t.Errorf("%d parts: ranges %v and %v", parts, ranges[i-1], ranges[i])
				}
			}
			for _, br := range ranges {
				n := 0
				for _, b := range blobs {
					if b >= br.lo && b <= br.hi {
						n++
					}
				}
				if want := len(blobs) / parts; n < want*8/10 || n > want*12/10+1 {
					t.Errorf("%d parts: range %v holds %d messages, want about %d", parts, br, n, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMergeUIDs(t *testing.T) {
	for _, tc := range []struct{ a, b, want []store.UID }{
		{nil, nil, nil},
		{[]store.UID{1, 3}, nil, []store.UID{1, 3}},
		{nil, []store.UID{2}, []store.UID{2}},
		{[]store.UID{1, 3, 5}, []store.UID{2, 3, 6}, []store.UID{1, 2, 3, 5, 6}},
		{[]store.UID{4}, []store.UID{4}, []store.UID{4}},
	} {
		if got := mergeUIDs(tc.a, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("mergeUIDs(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

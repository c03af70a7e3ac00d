package sqlite

import (
	"context"
	"os"
	"testing"

	"postfach/internal/store"
)

// BenchmarkSortCacheCold100k measures what the first SORT and THREAD of
// a mailbox cost in the store, with nothing in memory: reading the keys
// and ordering them. It runs on the 100k fixture of internal/benchtest,
// named by $POSTFACH_BENCH_FIXTURE (skipped without it; the server must
// not be running on it).
func BenchmarkSortCacheCold100k(b *testing.B) {
	dir := os.Getenv("POSTFACH_BENCH_FIXTURE")
	if dir == "" {
		b.Skip("POSTFACH_BENCH_FIXTURE is not set")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a, err := s.AccountByAddress(ctx, "big@example.org")
	if err != nil {
		b.Fatal(err)
	}
	m := s.Mail(a.ID)
	inbox, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"date", func() error { _, err := m.Sort(ctx, inbox.ID, []store.SortKey{{Field: store.SortDate}}); return err }},
		{"subject", func() error { _, err := m.Sort(ctx, inbox.ID, []store.SortKey{{Field: store.SortSubject}}); return err }},
		{"from", func() error { _, err := m.Sort(ctx, inbox.ID, []store.SortKey{{Field: store.SortFrom}}); return err }},
		{"thread-keys", func() error { _, err := m.ThreadKeys(ctx, inbox.ID); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				s.sorts.mu.Lock()
				s.sorts.entries, s.sorts.bytes = nil, 0
				s.sorts.mu.Unlock()
				if err := tc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

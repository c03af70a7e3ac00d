package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"postfach/internal/store"
)

// TestRecentClaimedOnce: sessions claiming at the same time while
// messages arrive each get a disjoint share, and together every message.
func TestRecentClaimedOnce(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	const appends, claimers = 60, 6
	var mu sync.Mutex
	seen := map[store.UID]int{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	claim := func() {
		got, err := m.ClaimRecent(ctx, inbox.ID)
		if err != nil {
			t.Error(err)
			return
		}
		if !slices.IsSorted(got) {
			t.Errorf("claimed UIDs out of order: %v", got)
		}
		mu.Lock()
		for _, u := range got {
			seen[u]++
		}
		mu.Unlock()
	}
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					claim()
					return
				default:
					claim()
				}
			}
		}()
	}
	var uids []store.UID
	for i := range appends {
		res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UIDs...)
	}
	close(done)
	wg.Wait()
	claim()
	for _, u := range uids {
		if seen[u] != 1 {
			t.Errorf("UID %d claimed %d times", u, seen[u])
		}
	}
	if len(seen) != len(uids) {
		t.Errorf("%d UIDs claimed, %d appended", len(seen), len(uids))
	}
	if st, _ := m.Status(ctx, inbox.ID); st.Recent != 0 {
		t.Errorf("Status.Recent %d after every message was claimed", st.Recent)
	}
}

// TestRecentPersisted: claims survive a restart; a mailbox that reuses a
// deleted one's row id starts with its messages recent.
func TestRecentPersisted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	m, inbox, acct := setup(t, s)
	for i := range 3 {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := m.ClaimRecent(ctx, inbox.ID); err != nil || len(got) != 3 {
		t.Fatalf("claim: %v, %v", got, err)
	}
	box, err := m.CreateMailbox(ctx, "Last", store.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append(ctx, box.ID, []store.NewMessage{{Body: strings.NewReader("Subject: a\r\n\r\nx\r\n")}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.ClaimRecent(ctx, box.ID); len(got) != 1 {
		t.Fatalf("claim in Last: %v", got)
	}
	// The mailbox with the highest row id goes, and the next one may
	// reuse its id.
	if err := m.DeleteMailbox(ctx, "Last"); err != nil {
		t.Fatal(err)
	}
	again, err := m.CreateMailbox(ctx, "Again", store.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append(ctx, again.ID, []store.NewMessage{{Body: strings.NewReader("Subject: b\r\n\r\nx\r\n")}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(ctx, again.ID); st.Recent != 1 {
		t.Errorf("new mailbox (id %d, old %d): Status.Recent %d, want 1", again.ID, box.ID, st.Recent)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir, Options{})
	defer s.Close()
	m = s.Mail(acct)
	if st, _ := m.Status(ctx, inbox.ID); st.Recent != 0 {
		t.Errorf("after restart: Status.Recent %d, want 0", st.Recent)
	}
	if got, _ := m.ClaimRecent(ctx, inbox.ID); len(got) != 0 {
		t.Errorf("after restart: claimed %v again", got)
	}
	if got, _ := m.ClaimRecent(ctx, again.ID); len(got) != 1 {
		t.Errorf("after restart: claim in Again: %v, want its message", got)
	}
}

package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"postfach/internal/store"
)

// TestUIDCache checks that snapshots served from the UID cache, brought
// up to date incrementally, always equal a full read of the mailbox,
// through random appends, expunges, moves, flag changes and a
// delete-and-recreate of the mailbox.
func TestUIDCache(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, "u@example.org", "")
	if err != nil {
		t.Fatal(err)
	}
	m := s.Mail(a.ID)
	box, err := m.CreateMailbox(ctx, "Box", store.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := m.Mailbox(ctx, "INBOX")
	rnd := rand.New(rand.NewPCG(1, 2))
	check := func(step int) {
		t.Helper()
		snap, err := m.Snapshot(ctx, box.ID)
		if err != nil {
			t.Fatal(err)
		}
		var full []store.UID
		err = s.readTx(ctx, func(tx reader) error {
			full, err = readUIDs(ctx, tx, box.ID, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(snap.UIDs, full) {
			t.Fatalf("step %d: snapshot %v, full read %v", step, snap.UIDs, full)
		}
		// The caller owns the slice: scribbling on it must not reach
		// the cache.
		for i := range snap.UIDs {
			snap.UIDs[i] = 0
		}
	}
	for step := range 300 {
		snap, err := m.Snapshot(ctx, box.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch op := rnd.IntN(6); {
		case op <= 1 || len(snap.UIDs) == 0:
			msgs := make([]store.NewMessage, 1+rnd.IntN(3))
			for i := range msgs {
				msgs[i] = store.NewMessage{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", step))}
			}
			if _, err := m.Append(ctx, box.ID, msgs); err != nil {
				t.Fatal(err)
			}
		case op == 2:
			u := snap.UIDs[rnd.IntN(len(snap.UIDs))]
			set := store.UIDSet{{Start: u, Stop: u}}
			if _, err := m.StoreFlags(ctx, box.ID, set, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Expunge(ctx, box.ID, set); err != nil {
				t.Fatal(err)
			}
		case op == 3:
			u := snap.UIDs[rnd.IntN(len(snap.UIDs))]
			if _, err := m.Move(ctx, box.ID, store.UIDSet{{Start: u, Stop: u}}, other.ID); err != nil {
				t.Fatal(err)
			}
		case op == 4:
			u := snap.UIDs[rnd.IntN(len(snap.UIDs))]
			if _, err := m.StoreFlags(ctx, box.ID, store.UIDSet{{Start: u, Stop: u}}, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen}); err != nil {
				t.Fatal(err)
			}
		case op == 5 && step%50 == 5:
			if err := m.DeleteMailbox(ctx, "Box"); err != nil {
				t.Fatal(err)
			}
			if box, err = m.CreateMailbox(ctx, "Box", store.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		check(step)
	}
}

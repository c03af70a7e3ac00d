package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"postfach/internal/store"
)

func testConcurrentAppend(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	const workers, each = 8, 15
	var mu sync.Mutex
	got := map[store.UID]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				raw := message(fmt.Sprintf("w%d-%d", w, i), strings.Repeat("z", 100*i))
				res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(raw)}})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if _, dup := got[res.UIDs[0]]; dup {
					errs <- fmt.Errorf("UID %d handed out twice", res.UIDs[0])
				}
				got[res.UIDs[0]] = raw
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap := e.snapshot(m, inbox.ID)
	if len(snap.UIDs) != workers*each || !slices.IsSorted(snap.UIDs) {
		t.Fatalf("%d UIDs after %d appends", len(snap.UIDs), workers*each)
	}
	var size int64
	for _, msg := range e.messages(m, inbox.ID, store.AllUIDs()) {
		if e.body(m, msg) != got[msg.UID] {
			t.Fatalf("message %d has another appender's body", msg.UID)
		}
		size += msg.Size
	}
	if st := e.status(m, inbox.ID); st.Messages != workers*each || st.Size != size || st.UIDNext != snap.UIDs[len(snap.UIDs)-1]+1 {
		t.Fatalf("status %+v after concurrent appends (size %d)", st, size)
	}
}

// testConcurrentMixed runs appends, flag changes, expunges, copies and
// reads at once; afterwards the counters must agree with the messages.
func testConcurrentMixed(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	arch := e.mailbox(m, "Archive")
	e.appendN(m, inbox.ID, 10)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	run := func(fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	run(func(i int) error {
		_, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(message("more", "x"))}})
		return err
	})
	run(func(i int) error {
		_, err := m.StoreFlags(ctx, inbox.ID, store.AllUIDs(), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.Flags(1) << (i % 5)})
		return err
	})
	run(func(i int) error {
		_, err := m.Expunge(ctx, inbox.ID, nil)
		return err
	})
	run(func(i int) error {
		_, err := m.Copy(ctx, inbox.ID, store.UIDSet{{Start: 1, Stop: 5}}, arch.ID)
		return err
	})
	run(func(i int) error {
		snap, err := m.Snapshot(ctx, inbox.ID)
		if err != nil {
			return err
		}
		if !slices.IsSorted(snap.UIDs) {
			return fmt.Errorf("snapshot UIDs unsorted")
		}
		_, err = m.Search(ctx, inbox.ID, &store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Subject", Value: "more"}}})
		return err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, mb := range []store.Mailbox{inbox, arch} {
		msgs := e.messages(m, mb.ID, store.AllUIDs())
		var unseen, deleted uint32
		var size int64
		for _, msg := range msgs {
			if msg.Flags&store.FlagSeen == 0 {
				unseen++
			}
			if msg.Flags&store.FlagDeleted != 0 {
				deleted++
			}
			size += msg.Size
		}
		st := e.status(m, mb.ID)
		if st.Messages != uint32(len(msgs)) || st.Unseen != unseen || st.Deleted != deleted || st.Size != size {
			t.Fatalf("%s: status %+v, messages say %d/%d unseen/%d deleted/%d bytes", mb.Name, st, len(msgs), unseen, deleted, size)
		}
	}
}

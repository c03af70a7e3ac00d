package imap

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postfach/internal/store"
)

// changesMail counts reads of Changes; its first read waits for gate, so
// that the other sessions arrive while it is in flight.
type changesMail struct {
	store.Mail
	reads   atomic.Int32
	highest atomic.Uint64
	fail    atomic.Bool
	gate    chan struct{}
}

func (m *changesMail) Changes(ctx context.Context, mbox store.MailboxID, since store.ModSeq) (store.ChangeSet, error) {
	if m.reads.Add(1) == 1 && m.gate != nil {
		<-m.gate
	}
	if m.fail.Load() {
		return store.ChangeSet{}, errors.New("disk on fire")
	}
	h := store.ModSeq(m.highest.Load())
	return store.ChangeSet{HighestModSeq: h, Changed: []store.Message{{UID: store.UID(h)}}}, nil
}

func memoSession(srv *Server, m store.Mail, acct store.AccountID) *session {
	return &session{srv: srv, mail: m, acct: store.Account{ID: acct}}
}

// The sessions one commit woke share one read; a wake-up from a later
// commit, another MODSEQ to start from, another account and a failed read
// each read again; old reads are swept away.
func TestSharedChanges(t *testing.T) {
	ctx := context.Background()
	srv := &Server{}
	m := &changesMail{gate: make(chan struct{})}
	m.highest.Store(7)

	const sessions = 50
	var wg sync.WaitGroup
	results := make([]store.ChangeSet, sessions)
	for i := range sessions {
		wg.Go(func() {
			cs, _, err := memoSession(srv, m, 1).sharedChanges(ctx, 3, 5, 7)
			if err != nil {
				t.Error(err)
			}
			results[i] = cs
		})
	}
	// Let every session find the read in flight before it completes.
	for m.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(m.gate)
	wg.Wait()
	if n := m.reads.Load(); n != 1 {
		t.Fatalf("%d reads for %d sessions woken by one commit", n, sessions)
	}
	for i, cs := range results {
		if cs.HighestModSeq != 7 || len(cs.Changed) != 1 {
			t.Fatalf("session %d: %+v", i, cs)
		}
	}

	read := func(acct store.AccountID, since, need store.ModSeq) store.ChangeSet {
		t.Helper()
		cs, _, err := memoSession(srv, m, acct).sharedChanges(ctx, 3, since, need)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	expectReads := func(want int32) {
		t.Helper()
		if n := m.reads.Load(); n != want {
			t.Fatalf("%d reads, want %d", n, want)
		}
	}
	read(1, 5, 6) // an older wake-up: the read reached past it
	expectReads(1)
	m.highest.Store(9)
	if cs := read(1, 5, 9); cs.HighestModSeq != 9 { // a later commit
		t.Fatalf("later commit: %+v", cs)
	}
	expectReads(2)
	read(1, 5, 8) // the newer read serves it
	expectReads(2)
	read(1, 7, 9) // a session that had read further
	expectReads(3)
	read(2, 5, 9) // another account
	expectReads(4)

	m.fail.Store(true)
	if _, _, err := memoSession(srv, m, 1).sharedChanges(ctx, 3, 9, 9); err == nil {
		t.Fatal("a failed read succeeded")
	}
	m.fail.Store(false)
	read(1, 9, 9) // failures are not remembered
	expectReads(6)

	// An old read still answers what it reached; the next read, of
	// anything, sweeps it away.
	srv.changes.mu.Lock()
	for _, e := range srv.changes.entries {
		e.at = e.at.Add(-2 * changeMemoTTL)
	}
	srv.changes.swept = srv.changes.swept.Add(-2 * changeMemoTTL)
	srv.changes.mu.Unlock()
	read(1, 9, 9)
	expectReads(6)
	read(1, 10, 10) // a new read sweeps
	expectReads(7)
	srv.changes.mu.Lock()
	n := len(srv.changes.entries)
	srv.changes.mu.Unlock()
	if n != 1 {
		t.Errorf("%d entries after the sweep, want the fresh one", n)
	}
}

// Of the sessions that use one read, one claims \Recent; a failed claim
// lets the next one try.
func TestClaimOnce(t *testing.T) {
	e := &changeEntry{}
	var claims atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if e.claimOnce() {
				claims.Add(1)
			}
		})
	}
	wg.Wait()
	if n := claims.Load(); n != 1 {
		t.Fatalf("%d claims", n)
	}
	e.unclaim()
	if !e.claimOnce() || e.claimOnce() {
		t.Fatal("claim after unclaim")
	}
	var alone *changeEntry
	if !alone.claimOnce() || !alone.claimOnce() {
		t.Fatal("a read of its own must always claim")
	}
}

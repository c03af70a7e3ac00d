package storetest

import (
	"context"
	"strings"
	"testing"

	"postfach/internal/store"
)

// testReopen: what was acknowledged survives a close and reopen, and UIDs,
// UIDVALIDITY and MODSEQ go on from where they were.
func testReopen(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	e := &env{t: t, ctx: ctx, s: s}
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 3)
	e.storeFlags(m, inbox.ID, store.UIDSetOf(uids[2]), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted, Keywords: []string{"Kw"}})
	if _, err := m.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	before := e.status(m, inbox.ID)
	mb := e.create(m, "Kept")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	defer s.Close()
	e.s = s
	acct, err := s.AccountByAddress(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m = s.Mail(acct.ID)
	if after := e.status(m, inbox.ID); after != before {
		t.Fatalf("status changed over reopen: %+v -> %+v", before, after)
	}
	wantUIDs(t, "UIDs after reopen", e.snapshot(m, inbox.ID).UIDs, uids[0], uids[1])
	if got := e.mailbox(m, "Kept"); got.UIDValidity != mb.UIDValidity {
		t.Fatal("UIDVALIDITY changed over reopen")
	}
	u := e.append(m, inbox.ID, message("after reopen", "x"), 0)
	if u <= uids[2] {
		t.Fatalf("UID %d reused after reopen (last was %d)", u, uids[2])
	}
	if ms := e.message(m, inbox.ID, u).ModSeq; ms <= before.HighestModSeq {
		t.Fatalf("MODSEQ %d after reopen, not above %d", ms, before.HighestModSeq)
	}
	if snap := e.snapshot(m, inbox.ID); strings.Join(snap.Keywords, " ") != "Kw" {
		t.Fatalf("keywords after reopen %q", snap.Keywords)
	}
	cs, err := m.Changes(ctx, inbox.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "tombstones after reopen", cs.Expunged, uids[2])
	// A new mailbox after reopen gets a UIDVALIDITY above the old ones.
	if nb := e.create(m, "New"); nb.UIDValidity <= mb.UIDValidity {
		t.Fatalf("UIDVALIDITY %d after reopen, not above %d", nb.UIDValidity, mb.UIDValidity)
	}
}

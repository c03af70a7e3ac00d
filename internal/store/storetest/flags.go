package storetest

import (
	"strings"

	"postfach/internal/store"
)

func testStoreFlags(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	u1 := e.append(m, inbox.ID, message("a", "x"), store.FlagSeen, "Old")
	u2 := e.append(m, inbox.ID, message("b", "x"), 0)
	res := e.storeFlags(m, inbox.ID, store.UIDSet{{Start: 1, Stop: 100}}, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagFlagged, Keywords: []string{"$Label1", "old"}})
	if len(res.Messages) != 2 || res.Messages[0].UID != u1 || res.Messages[1].UID != u2 {
		t.Fatalf("results %+v", res.Messages)
	}
	r1, r2 := res.Messages[0], res.Messages[1]
	if r1.Flags != store.FlagSeen|store.FlagFlagged || strings.Join(r1.Keywords, " ") != "$Label1 Old" || !r1.Changed {
		t.Fatalf("u1 after add: %+v", r1)
	}
	if r2.Flags != store.FlagFlagged || strings.Join(r2.Keywords, " ") != "$Label1 Old" || !r2.Changed {
		t.Fatalf("u2 after add: %+v", r2)
	}
	res = e.storeFlags(m, inbox.ID, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsRemove, Flags: store.FlagSeen, Keywords: []string{"OLD"}})
	if r := res.Messages[0]; r.Flags != store.FlagFlagged || strings.Join(r.Keywords, " ") != "$Label1" {
		t.Fatalf("u1 after remove: %+v", r)
	}
	res = e.storeFlags(m, inbox.ID, store.UIDSetOf(u2), store.FlagUpdate{Op: store.FlagsReplace, Flags: store.FlagAnswered | store.FlagDraft, Keywords: []string{"Only"}})
	if r := res.Messages[0]; r.Flags != store.FlagAnswered|store.FlagDraft || strings.Join(r.Keywords, " ") != "Only" {
		t.Fatalf("u2 after replace: %+v", r)
	}
	// What STORE reported is what FETCH reads.
	msg := e.message(m, inbox.ID, u2)
	if msg.Flags != store.FlagAnswered|store.FlagDraft || strings.Join(msg.Keywords, " ") != "Only" || msg.ModSeq != res.Messages[0].ModSeq {
		t.Fatalf("stored message %+v", msg)
	}
	// Replace with nothing clears.
	res = e.storeFlags(m, inbox.ID, store.UIDSetOf(u2), store.FlagUpdate{Op: store.FlagsReplace})
	if r := res.Messages[0]; r.Flags != 0 || len(r.Keywords) != 0 {
		t.Fatalf("u2 after clearing: %+v", r)
	}
	// Missing UIDs are skipped; an empty result is no error.
	res = e.storeFlags(m, inbox.ID, store.UIDSetOf(99), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	if len(res.Messages) != 0 {
		t.Fatalf("results for a missing UID: %+v", res)
	}
	_, err := m.StoreFlags(e.ctx, inbox.ID, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsAdd, Keywords: []string{`\Bogus`}})
	wantErr(t, "system-flag-like keyword", err, store.ErrInvalidName)
	_, err = m.StoreFlags(e.ctx, 1<<40, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	wantErr(t, "missing mailbox", err, store.ErrNotFound)
	// Keywords used once stay known to the mailbox.
	snap := e.snapshot(m, inbox.ID)
	if strings.Join(snap.Keywords, " ") != "$Label1 Old Only" {
		t.Fatalf("mailbox keywords %q", snap.Keywords)
	}
}

func testUnchangedSince(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	u1 := e.append(m, inbox.ID, message("a", "x"), 0)
	u2 := e.append(m, inbox.ID, message("b", "x"), 0)
	since := e.message(m, inbox.ID, u2).ModSeq
	// u1 changes after since.
	e.storeFlags(m, inbox.ID, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagAnswered})
	res := e.storeFlags(m, inbox.ID, store.UIDSetOf(u1, u2), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen, UnchangedSince: since})
	wantUIDs(t, "MODIFIED", res.Modified, u1)
	if len(res.Messages) != 2 {
		t.Fatalf("results %+v", res.Messages)
	}
	if r := res.Messages[0]; r.Changed || r.Flags != store.FlagAnswered {
		t.Fatalf("skipped message reported %+v", r)
	}
	if r := res.Messages[1]; !r.Changed || r.Flags != store.FlagSeen || r.ModSeq <= since {
		t.Fatalf("updated message reported %+v", r)
	}
	if e.message(m, inbox.ID, u1).Flags&store.FlagSeen != 0 {
		t.Fatal("UNCHANGEDSINCE did not protect the changed message")
	}
	// UNCHANGEDSINCE equal to the message's MODSEQ allows the change.
	cur := e.message(m, inbox.ID, u1).ModSeq
	res = e.storeFlags(m, inbox.ID, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen, UnchangedSince: cur})
	if len(res.Modified) != 0 || !res.Messages[0].Changed {
		t.Fatalf("UNCHANGEDSINCE = MODSEQ refused: %+v", res)
	}
}

func testExpunge(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 5)
	gone, err := m.Expunge(ctx, inbox.ID, nil)
	if err != nil || len(gone) != 0 {
		t.Fatalf("expunge without \\Deleted: %v, %v", gone, err)
	}
	e.storeFlags(m, inbox.ID, store.UIDSetOf(uids[0], uids[2], uids[4]), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	// UID EXPUNGE limits to a set.
	gone, err = m.Expunge(ctx, inbox.ID, store.UIDSetOf(uids[2], uids[3], uids[4]))
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "UID EXPUNGE", gone, uids[2], uids[4])
	wantUIDs(t, "left", e.snapshot(m, inbox.ID).UIDs, uids[0], uids[1], uids[3])
	gone, _ = m.Expunge(ctx, inbox.ID, nil)
	wantUIDs(t, "EXPUNGE", gone, uids[0])
	msgs := e.messages(m, inbox.ID, store.UIDSetOf(uids[0]))
	if len(msgs) != 0 {
		t.Fatal("expunged message still fetchable")
	}
	_, err = m.Expunge(ctx, 1<<40, nil)
	wantErr(t, "expunge missing mailbox", err, store.ErrNotFound)
}

func testCopy(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	arch := e.mailbox(m, "Archive")
	e.append(m, arch.ID, message("already there", "x"), 0)
	u1 := e.append(m, inbox.ID, message("a", "x"), store.FlagSeen, "Keep")
	e.append(m, inbox.ID, message("b", "x"), 0)
	u3 := e.append(m, inbox.ID, message("c", "x"), store.FlagFlagged)
	res, err := m.Copy(ctx, inbox.ID, store.UIDSet{{Start: u3, Stop: u3}, {Start: u1, Stop: u1}, {Start: 50, Stop: 60}}, arch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.UIDValidity != arch.UIDValidity {
		t.Fatalf("COPYUID validity %d, want %d", res.UIDValidity, arch.UIDValidity)
	}
	wantUIDs(t, "COPYUID source", res.SourceUIDs, u1, u3)
	wantUIDs(t, "COPYUID dest", res.DestUIDs, 2, 3)
	c1 := e.message(m, arch.ID, 2)
	src := e.message(m, inbox.ID, u1)
	if c1.Flags != store.FlagSeen || strings.Join(c1.Keywords, " ") != "Keep" || !c1.InternalDate.Equal(src.InternalDate) || c1.Size != src.Size {
		t.Fatalf("copy %+v of %+v", c1, src)
	}
	if e.body(m, c1) != e.body(m, src) {
		t.Fatal("copy's body differs")
	}
	if st := e.status(m, inbox.ID); st.Messages != 3 {
		t.Fatalf("source lost messages: %+v", st)
	}
	if snap := e.snapshot(m, arch.ID); strings.Join(snap.Keywords, " ") != "Keep" {
		t.Fatalf("destination keywords %q", snap.Keywords)
	}
	// Copying nothing is no error.
	res, err = m.Copy(ctx, inbox.ID, store.UIDSetOf(77), arch.ID)
	if err != nil || len(res.SourceUIDs) != 0 {
		t.Fatalf("empty copy: %+v, %v", res, err)
	}
	_, err = m.Copy(ctx, inbox.ID, store.UIDSetOf(u1), 1<<40)
	wantErr(t, "copy to missing mailbox", err, store.ErrNotFound)
	// Copy into the same mailbox makes new messages.
	res, err = m.Copy(ctx, inbox.ID, store.UIDSetOf(u1), inbox.ID)
	if err != nil || len(res.DestUIDs) != 1 || res.DestUIDs[0] <= u3 {
		t.Fatalf("copy into itself: %+v, %v", res, err)
	}
}

func testMove(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	trash := e.mailbox(m, "Trash")
	u1 := e.append(m, inbox.ID, message("a", "x"), store.FlagSeen)
	u2 := e.append(m, inbox.ID, message("b", "x"), 0)
	before := e.status(m, inbox.ID).HighestModSeq
	res, err := m.Move(ctx, inbox.ID, store.UIDSetOf(u1, u2, 99), trash.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "moved from", res.SourceUIDs, u1, u2)
	wantUIDs(t, "moved to", res.DestUIDs, 1, 2)
	if res.UIDValidity != trash.UIDValidity {
		t.Fatal("wrong UIDVALIDITY in move result")
	}
	if snap := e.snapshot(m, inbox.ID); len(snap.UIDs) != 0 {
		t.Fatalf("source still has %v", snap.UIDs)
	}
	cs, _ := m.Changes(ctx, inbox.ID, before)
	wantUIDs(t, "tombstones of move", cs.Expunged, u1, u2)
	moved := e.messages(m, trash.ID, store.AllUIDs())
	if len(moved) != 2 || moved[0].Flags != store.FlagSeen {
		t.Fatalf("moved %+v", moved)
	}
	if !strings.Contains(e.body(m, moved[1]), "Subject: b") {
		t.Fatal("moved body wrong")
	}
	_, err = m.Move(ctx, trash.ID, store.AllUIDs(), 1<<40)
	wantErr(t, "move to missing mailbox", err, store.ErrNotFound)
	if st := e.status(m, trash.ID); st.Messages != 2 {
		t.Fatal("failed move changed the source")
	}
}

// testSharedBody: copies share the body; it must outlive the expunge of
// any one of them and of the mailbox it came from.
func testSharedBody(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	box := e.create(m, "Box")
	raw := message("shared", strings.Repeat("body ", 1000))
	u := e.append(m, inbox.ID, raw, store.FlagDeleted)
	res, err := m.Copy(ctx, inbox.ID, store.UIDSetOf(u), box.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	cp := e.message(m, box.ID, res.DestUIDs[0])
	if e.body(m, cp) != raw {
		t.Fatal("copy's body lost with the source")
	}
	if _, err := m.Copy(ctx, box.ID, store.AllUIDs(), inbox.ID); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteMailbox(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	back := e.messages(m, inbox.ID, store.AllUIDs())
	if len(back) != 1 || e.body(m, back[0]) != raw {
		t.Fatal("body lost with a deleted mailbox")
	}
	// Once the last copy goes, the body goes.
	e.storeFlags(m, inbox.ID, store.AllUIDs(), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	m.Expunge(ctx, inbox.ID, nil)
	_, err = m.OpenBody(ctx, &back[0])
	wantErr(t, "body of the expunged last copy", err, store.ErrNotFound)
}

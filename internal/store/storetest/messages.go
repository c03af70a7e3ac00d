package storetest

import (
	"slices"
	"strings"
	"time"

	"postfach/internal/store"
)

func testAppendFetch(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	date := time.Date(2023, 5, 17, 8, 30, 15, 0, time.FixedZone("", -7*3600))
	raw := message("hello world", "Hi Bob,\r\nsee you.")
	res, err := m.Append(ctx, inbox.ID, []store.NewMessage{
		{Flags: store.FlagSeen | store.FlagFlagged, Keywords: []string{"$Forwarded", "Work", "work"}, InternalDate: date, Body: strings.NewReader(raw)},
		{Body: strings.NewReader(message("second", "x"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.UIDValidity != inbox.UIDValidity {
		t.Fatalf("APPENDUID validity %d, want %d", res.UIDValidity, inbox.UIDValidity)
	}
	wantUIDs(t, "AppendResult", res.UIDs, 1, 2)
	msgs, err := m.Messages(ctx, inbox.ID, store.AllUIDs(), store.FetchOptions{Structure: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	a := msgs[0]
	if a.UID != 1 || a.Flags != store.FlagSeen|store.FlagFlagged {
		t.Fatalf("message: %+v", a)
	}
	if strings.Join(a.Keywords, " ") != "$Forwarded Work" {
		t.Fatalf("keywords %q", a.Keywords)
	}
	if !a.InternalDate.Equal(date) {
		t.Fatalf("internal date %v, want %v", a.InternalDate, date)
	}
	if _, off := a.InternalDate.Zone(); off != -7*3600 {
		t.Fatalf("internal date zone offset %d, want -25200", off)
	}
	if a.SaveDate.IsZero() || time.Since(a.SaveDate) > time.Hour {
		t.Fatalf("save date %v", a.SaveDate)
	}
	if a.Size != int64(len(raw)) || a.ModSeq == 0 || a.Blob == "" {
		t.Fatalf("size %d (want %d), modseq %d, blob %q", a.Size, len(raw), a.ModSeq, a.Blob)
	}
	if a.Part == nil || a.Part.Envelope == nil || a.Part.Envelope.Subject != "hello world" {
		t.Fatalf("structure %+v", a.Part)
	}
	if a.Part.BodyEnd != a.Size {
		t.Fatalf("structure BodyEnd %d, size %d", a.Part.BodyEnd, a.Size)
	}
	if got := e.body(m, a); got != raw {
		t.Fatalf("body %q, want %q", got, raw)
	}
	b := msgs[1]
	if b.InternalDate.IsZero() || time.Since(b.InternalDate) > time.Hour {
		t.Fatalf("default internal date %v", b.InternalDate)
	}
	if b.ModSeq != a.ModSeq {
		t.Fatalf("one Append, two MODSEQs: %d, %d", a.ModSeq, b.ModSeq)
	}
	// Without Structure, no Part.
	plain := e.messages(m, inbox.ID, store.AllUIDs())
	if plain[0].Part != nil {
		t.Fatal("Part loaded without FetchOptions.Structure")
	}
	// Bad keywords fail the append.
	_, err = m.Append(ctx, inbox.ID, []store.NewMessage{{Keywords: []string{"bad keyword"}, Body: strings.NewReader(raw)}})
	wantErr(t, "invalid keyword", err, store.ErrInvalidName)
	_, err = m.Append(ctx, 1<<40, []store.NewMessage{{Body: strings.NewReader(raw)}})
	wantErr(t, "append to missing mailbox", err, store.ErrNotFound)
	// Empty messages are messages too.
	u := e.append(m, inbox.ID, "", 0)
	if msg := e.message(m, inbox.ID, u); msg.Size != 0 || e.body(m, msg) != "" {
		t.Fatalf("empty message: %+v", msg)
	}
}

func testAppendLineEndings(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	for _, tc := range []struct{ in, want string }{
		{"Subject: x\n\nline1\nline2\n", "Subject: x\r\n\r\nline1\r\nline2\r\n"},
		{"Subject: x\r\n\r\nmixed\nends\r\n", "Subject: x\r\n\r\nmixed\r\nends\r\n"},
		{"Subject: x\r\n\r\nlone\rcr", "Subject: x\r\n\r\nlone\rcr"},
		{"Subject: big\n\n" + strings.Repeat("0123456789\n", 20000), "Subject: big\r\n\r\n" + strings.Repeat("0123456789\r\n", 20000)},
	} {
		uid := e.append(m, inbox.ID, tc.in, 0)
		msg := e.message(m, inbox.ID, uid)
		if got := e.body(m, msg); got != tc.want {
			t.Errorf("stored %q..., want %q...", got[:min(len(got), 40)], tc.want[:min(len(tc.want), 40)])
		}
		if msg.Size != int64(len(tc.want)) {
			t.Errorf("size %d, want %d", msg.Size, len(tc.want))
		}
	}
}

func testMultiAppendAtomic(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	before := e.status(m, inbox.ID)
	_, err := m.Append(ctx, inbox.ID, []store.NewMessage{
		{Body: strings.NewReader(message("one", "x"))},
		{Body: &failingReader{r: strings.NewReader(message("two", strings.Repeat("y", 100000))), n: 5000}},
	})
	if err == nil {
		t.Fatal("append with a failing body succeeded")
	}
	after := e.status(m, inbox.ID)
	if after != before {
		t.Fatalf("failed MULTIAPPEND changed the mailbox: %+v -> %+v", before, after)
	}
	if msgs := e.messages(m, inbox.ID, store.AllUIDs()); len(msgs) != 0 {
		t.Fatalf("failed MULTIAPPEND left %d messages", len(msgs))
	}
	// The mailbox still works, and the failed append used no UIDs that
	// anyone saw; what matters is that new UIDs keep ascending.
	if u := e.append(m, inbox.ID, message("three", "z"), 0); u < before.UIDNext {
		t.Fatalf("UID %d below UIDNEXT %d", u, before.UIDNext)
	}
}

func testUIDsNeverReused(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 3)
	if !slices.IsSorted(uids) || uids[0] == uids[1] {
		t.Fatalf("UIDs %v do not ascend", uids)
	}
	e.storeFlags(m, inbox.ID, store.UIDSetOf(uids[2]), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	if _, err := m.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	next := e.append(m, inbox.ID, message("after expunge", "x"), 0)
	if next <= uids[2] {
		t.Fatalf("UID %d reused after expunging %d", next, uids[2])
	}
	if st := e.status(m, inbox.ID); st.UIDNext != next+1 {
		t.Fatalf("UIDNEXT %d, want %d", st.UIDNext, next+1)
	}
}

func testModSeqAndChanges(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	trash := e.mailbox(m, "Trash")
	m0 := e.status(m, inbox.ID).HighestModSeq
	u1 := e.append(m, inbox.ID, message("one", "x"), 0)
	m1 := e.status(m, inbox.ID).HighestModSeq
	u2 := e.append(m, inbox.ID, message("two", "x"), 0)
	u3 := e.append(m, inbox.ID, message("three", "x"), 0)
	m2 := e.status(m, inbox.ID).HighestModSeq
	if !(m0 < m1 && m1 < m2) {
		t.Fatalf("HIGHESTMODSEQ did not grow: %d %d %d", m0, m1, m2)
	}
	if e.message(m, inbox.ID, u1).ModSeq != m1 {
		t.Fatal("appended message's MODSEQ is not the mailbox's HIGHESTMODSEQ")
	}
	res := e.storeFlags(m, inbox.ID, store.UIDSetOf(u1, u2), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	m3 := e.status(m, inbox.ID).HighestModSeq
	if m3 <= m2 || res.Messages[0].ModSeq != m3 || res.Messages[1].ModSeq != m3 {
		t.Fatalf("flag change: HIGHESTMODSEQ %d (was %d), results %+v", m3, m2, res.Messages)
	}
	// A no-op STORE changes nothing.
	res = e.storeFlags(m, inbox.ID, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	if res.Messages[0].Changed || e.status(m, inbox.ID).HighestModSeq != m3 {
		t.Fatal("no-op STORE took a MODSEQ")
	}
	// Expunge leaves tombstones.
	e.storeFlags(m, inbox.ID, store.UIDSetOf(u2), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	m4 := e.status(m, inbox.ID).HighestModSeq
	gone, err := m.Expunge(ctx, inbox.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "expunged", gone, u2)
	m5 := e.status(m, inbox.ID).HighestModSeq
	if m5 <= m4 {
		t.Fatal("expunge took no MODSEQ")
	}
	// Changes since m2: u1 (flags), tombstone u2; u3 is unchanged.
	cs, err := m.Changes(ctx, inbox.ID, m2)
	if err != nil {
		t.Fatal(err)
	}
	if cs.HighestModSeq != m5 {
		t.Fatalf("ChangeSet.HighestModSeq %d, want %d", cs.HighestModSeq, m5)
	}
	wantUIDs(t, "changed since m2", uidsOf(cs.Changed), u1)
	wantUIDs(t, "expunged since m2", cs.Expunged, u2)
	if cs.Changed[0].Flags != store.FlagSeen || cs.Changed[0].Part != nil {
		t.Fatalf("changed message %+v", cs.Changed[0])
	}
	cs, _ = m.Changes(ctx, inbox.ID, m4)
	wantUIDs(t, "changed since m4", uidsOf(cs.Changed))
	wantUIDs(t, "expunged since m4", cs.Expunged, u2)
	cs, _ = m.Changes(ctx, inbox.ID, m0)
	wantUIDs(t, "changed since m0", uidsOf(cs.Changed), u1, u3)
	cs, _ = m.Changes(ctx, inbox.ID, m5)
	if len(cs.Changed) != 0 || len(cs.Expunged) != 0 {
		t.Fatalf("changes since the present: %+v", cs)
	}
	// Copy and move take MODSEQs in both mailboxes.
	t0 := e.status(m, trash.ID).HighestModSeq
	if _, err := m.Move(ctx, inbox.ID, store.UIDSetOf(u3), trash.ID); err != nil {
		t.Fatal(err)
	}
	if e.status(m, trash.ID).HighestModSeq <= t0 || e.status(m, inbox.ID).HighestModSeq <= m5 {
		t.Fatal("move did not advance both mailboxes' MODSEQ")
	}
	cs, _ = m.Changes(ctx, inbox.ID, m5)
	wantUIDs(t, "expunged by move", cs.Expunged, u3)
	_, err = m.Changes(ctx, 1<<40, 0)
	wantErr(t, "changes of missing mailbox", err, store.ErrNotFound)
}

func testCounters(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	arch := e.mailbox(m, "Archive")
	r1, r2, r3 := message("a", "1"), message("b", "22"), message("c", "333")
	e.append(m, inbox.ID, r1, store.FlagSeen)
	e.append(m, inbox.ID, r2, 0)
	e.append(m, inbox.ID, r3, store.FlagDeleted)
	check := func(what string, mb store.MailboxID, msgs, unseen, deleted uint32, size int) {
		t.Helper()
		st := e.status(m, mb)
		if st.Messages != msgs || st.Unseen != unseen || st.Deleted != deleted || st.Size != int64(size) {
			t.Fatalf("%s: %+v; want messages %d unseen %d deleted %d size %d", what, st, msgs, unseen, deleted, size)
		}
	}
	all := len(r1) + len(r2) + len(r3)
	check("after append", inbox.ID, 3, 2, 1, all)
	e.storeFlags(m, inbox.ID, store.AllUIDs(), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	check("all seen", inbox.ID, 3, 0, 1, all)
	e.storeFlags(m, inbox.ID, store.UIDSetOf(1), store.FlagUpdate{Op: store.FlagsReplace, Flags: store.FlagDeleted})
	check("replace", inbox.ID, 3, 1, 2, all)
	if _, err := m.Copy(ctx, inbox.ID, store.UIDSetOf(1, 2), arch.ID); err != nil {
		t.Fatal(err)
	}
	check("copy dest", arch.ID, 2, 1, 1, len(r1)+len(r2))
	if _, err := m.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	check("expunge", inbox.ID, 1, 0, 0, len(r2))
	if _, err := m.Move(ctx, inbox.ID, store.UIDSetOf(2), arch.ID); err != nil {
		t.Fatal(err)
	}
	check("move source", inbox.ID, 0, 0, 0, 0)
	check("move dest", arch.ID, 3, 1, 1, len(r1)+2*len(r2))
}

func testRecent(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 3)
	if snap := e.snapshot(m, inbox.ID); snap.Recent != 3 {
		t.Fatalf("Snapshot.Recent %d, want 3", snap.Recent)
	}
	got, err := m.ClaimRecent(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "first claim", got, uids...)
	got, _ = m.ClaimRecent(ctx, inbox.ID)
	wantUIDs(t, "second claim", got)
	if st := e.status(m, inbox.ID); st.Recent != 0 {
		t.Fatalf("Status.Recent %d after claim", st.Recent)
	}
	u4 := e.append(m, inbox.ID, message("new", "x"), 0)
	if st := e.status(m, inbox.ID); st.Recent != 1 {
		t.Fatalf("Status.Recent %d, want 1", st.Recent)
	}
	if snap := e.snapshot(m, inbox.ID); snap.Recent != 1 {
		t.Fatalf("Snapshot.Recent %d, want 1", snap.Recent)
	}
	got, _ = m.ClaimRecent(ctx, inbox.ID)
	wantUIDs(t, "third claim", got, u4)
	// Claiming changes no MODSEQ.
	before := e.status(m, inbox.ID).HighestModSeq
	e.append(m, inbox.ID, message("newer", "x"), 0)
	mid := e.status(m, inbox.ID).HighestModSeq
	m.ClaimRecent(ctx, inbox.ID)
	if e.status(m, inbox.ID).HighestModSeq != mid || mid <= before {
		t.Fatal("ClaimRecent changed HIGHESTMODSEQ")
	}
	_, err = m.ClaimRecent(ctx, 1<<40)
	wantErr(t, "claim in missing mailbox", err, store.ErrNotFound)
}

func testSnapshot(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	empty := e.snapshot(m, inbox.ID)
	if len(empty.UIDs) != 0 || empty.FirstUnseen != 0 || len(empty.Keywords) != 0 || empty.Mailbox.ID != inbox.ID {
		t.Fatalf("empty snapshot %+v", empty)
	}
	u1 := e.append(m, inbox.ID, message("a", "x"), store.FlagSeen, "zeta")
	u2 := e.append(m, inbox.ID, message("b", "x"), 0, "Alpha")
	u3 := e.append(m, inbox.ID, message("c", "x"), 0, "ALPHA", "beta")
	snap := e.snapshot(m, inbox.ID)
	wantUIDs(t, "snapshot", snap.UIDs, u1, u2, u3)
	if snap.FirstUnseen != u2 {
		t.Fatalf("FirstUnseen %d, want %d", snap.FirstUnseen, u2)
	}
	if strings.Join(snap.Keywords, " ") != "Alpha beta zeta" {
		t.Fatalf("keywords %q", snap.Keywords)
	}
	if snap.Mailbox.UIDNext != u3+1 || snap.Mailbox.HighestModSeq != e.message(m, inbox.ID, u3).ModSeq {
		t.Fatalf("snapshot mailbox %+v", snap.Mailbox)
	}
	// The second message's keyword takes the mailbox's spelling.
	if kw := e.message(m, inbox.ID, u3).Keywords; strings.Join(kw, " ") != "Alpha beta" {
		t.Fatalf("keywords of third message %q", kw)
	}
	e.storeFlags(m, inbox.ID, store.AllUIDs(), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	if snap := e.snapshot(m, inbox.ID); snap.FirstUnseen != 0 {
		t.Fatalf("FirstUnseen %d with all seen", snap.FirstUnseen)
	}
	_, err := m.Snapshot(e.ctx, 1<<40)
	wantErr(t, "snapshot of missing mailbox", err, store.ErrNotFound)
}

func testMessagesSets(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 40)
	// Expunge the even UIDs so that sets hit gaps.
	var even []store.UID
	for _, u := range uids {
		if u%2 == 0 {
			even = append(even, u)
		}
	}
	e.storeFlags(m, inbox.ID, store.UIDSetOf(even...), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	if _, err := m.Expunge(e.ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "1:5", uidsOf(e.messages(m, inbox.ID, store.UIDSet{{Start: 1, Stop: 5}})), 1, 3, 5)
	wantUIDs(t, "5:1 (reversed)", uidsOf(e.messages(m, inbox.ID, store.UIDSet{{Start: 5, Stop: 1}})), 1, 3, 5)
	wantUIDs(t, "39:*", uidsOf(e.messages(m, inbox.ID, store.UIDSet{{Start: 39, Stop: ^store.UID(0)}})), 39)
	wantUIDs(t, "100:200", uidsOf(e.messages(m, inbox.ID, store.UIDSet{{Start: 100, Stop: 200}})))
	wantUIDs(t, "2,4", uidsOf(e.messages(m, inbox.ID, store.UIDSetOf(2, 4))))
	// Many single UIDs (more ranges than a backend may query one by one).
	var many []store.UID
	for u := store.UID(1); u <= 40; u += 3 {
		many = append(many, u)
	}
	var want []store.UID
	for _, u := range many {
		if u%2 == 1 {
			want = append(want, u)
		}
	}
	set := store.UIDSet{}
	for _, u := range many {
		set = append(set, store.UIDRange{Start: u, Stop: u}, store.UIDRange{Start: u, Stop: u})
	}
	wantUIDs(t, "many singles", uidsOf(e.messages(m, inbox.ID, set)), want...)
	if got := e.messages(m, inbox.ID, store.AllUIDs()); len(got) != 20 {
		t.Fatalf("1:* gave %d messages, want 20", len(got))
	}
}

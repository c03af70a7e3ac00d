package storetest

import (
	"errors"
	"slices"
	"testing"

	"postfach/internal/store"
)

// RunPOP3 runs the conformance checks of the POP3 methods of store.Mail
// (POP3Maildrop, POP3Update, SetPOP3Policy); open returns a new, empty
// store for each subtest.
func RunPOP3(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(e *env)
	}{
		{"Maildrop", testPOP3Maildrop},
		{"MaildropSizes", testPOP3Sizes},
		{"Expunge", testPOP3Expunge},
		{"Trash", testPOP3Trash},
		{"TrashRecreated", testPOP3TrashRecreated},
		{"Hide", testPOP3Hide},
		{"GoneMeanwhile", testPOP3GoneMeanwhile},
		{"Seen", testPOP3Seen},
		{"Policy", testPOP3Policy},
		{"Isolation", testPOP3Isolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(newEnv(t, open))
		})
	}
}

func (e *env) maildrop(m store.Mail) store.POP3Maildrop {
	e.t.Helper()
	md, err := m.POP3Maildrop(e.ctx)
	if err != nil {
		e.t.Fatalf("POP3Maildrop: %v", err)
	}
	return md
}

func (e *env) pop3Update(m store.Mail, mb store.MailboxID, upd store.POP3Update) store.POP3UpdateResult {
	e.t.Helper()
	res, err := m.POP3Update(e.ctx, mb, upd)
	if err != nil {
		e.t.Fatalf("POP3Update(%+v): %v", upd, err)
	}
	return res
}

func maildropUIDs(md store.POP3Maildrop) []store.UID {
	var out []store.UID
	for _, m := range md.Messages {
		out = append(out, m.UID)
	}
	return out
}

// The maildrop is INBOX only, ascending by UID, and a message's body
// opens from its Blob.
func testPOP3Maildrop(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	md := e.maildrop(m)
	if md.Mailbox.ID != inbox.ID || md.Mailbox.UIDValidity != inbox.UIDValidity || len(md.Messages) != 0 || md.Policy != "" {
		t.Fatalf("empty maildrop: %+v", md)
	}
	uids := e.appendN(m, inbox.ID, 3)
	e.append(m, e.mailbox(m, "Archive").ID, message("elsewhere", "x"), 0)
	md = e.maildrop(m)
	wantUIDs(t, "maildrop", maildropUIDs(md), uids...)
	for _, pm := range md.Messages {
		msg := e.message(m, inbox.ID, pm.UID)
		if pm.Size != msg.Size {
			t.Fatalf("message %d: maildrop size %d, stored %d (it ends with CRLF)", pm.UID, pm.Size, msg.Size)
		}
		got := e.body(m, store.Message{UID: pm.UID, Blob: pm.Blob})
		if got != e.body(m, msg) {
			t.Fatalf("message %d: body through the maildrop's Blob differs", pm.UID)
		}
	}
}

// Sizes are what RETR sends: a message without a final CRLF gets one.
func testPOP3Sizes(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	raws := []string{
		"Subject: ends with CRLF\r\n\r\nbody\r\n",
		"Subject: ends without\r\n\r\nbody",
		"Subject: bare LF\n\nline\n",
		"Subject: bare LF, no end\n\nline",
		"Subject: ends with CR\r\n\r\nbody\r",
		"x",
	}
	want := []int64{
		int64(len(raws[0])),
		int64(len(raws[1])) + 2,
		int64(len("Subject: bare LF\r\n\r\nline\r\n")),
		int64(len("Subject: bare LF, no end\r\n\r\nline")) + 2,
		int64(len(raws[4])) + 2,
		3,
	}
	for _, r := range raws {
		e.append(m, inbox.ID, r, 0)
	}
	// Twice: the second read may come from what the first found out.
	for round := range 2 {
		md := e.maildrop(m)
		if len(md.Messages) != len(want) {
			t.Fatalf("round %d: %d messages", round, len(md.Messages))
		}
		for i, pm := range md.Messages {
			if pm.Size != want[i] {
				t.Errorf("round %d: message %d (%q): size %d, want %d", round, pm.UID, raws[i], pm.Size, want[i])
			}
		}
	}
}

// expunge removes the messages: tombstones, counters, MODSEQ.
func testPOP3Expunge(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 4)
	before := e.status(m, inbox.ID)
	res := e.pop3Update(m, inbox.ID, store.POP3Update{Delete: []store.UID{uids[2], uids[0]}, Policy: store.POP3Expunge})
	wantUIDs(t, "Deleted", res.Deleted, uids[0], uids[2])
	wantUIDs(t, "maildrop after", maildropUIDs(e.maildrop(m)), uids[1], uids[3])
	wantUIDs(t, "INBOX after", e.snapshot(m, inbox.ID).UIDs, uids[1], uids[3])
	st := e.status(m, inbox.ID)
	if st.Messages != 2 || st.HighestModSeq <= before.HighestModSeq {
		t.Fatalf("status after: %+v (before %+v)", st, before)
	}
	cs, err := m.Changes(e.ctx, inbox.ID, before.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "expunged since", cs.Expunged, uids[0], uids[2])
	// Nothing to delete: nothing changes.
	res = e.pop3Update(m, inbox.ID, store.POP3Update{Policy: store.POP3Expunge})
	if len(res.Deleted) != 0 || e.status(m, inbox.ID).HighestModSeq != st.HighestModSeq {
		t.Fatalf("empty update changed the mailbox: %+v", res)
	}
}

// trash moves the messages to the \Trash mailbox, flags kept.
func testPOP3Trash(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	trash := e.mailbox(m, "Trash")
	a := e.append(m, inbox.ID, message("first", "one"), store.FlagFlagged)
	b := e.append(m, inbox.ID, message("second", "two"), 0)
	body := e.body(m, e.message(m, inbox.ID, a))
	res := e.pop3Update(m, inbox.ID, store.POP3Update{Delete: []store.UID{a}, Policy: store.POP3Trash})
	wantUIDs(t, "Deleted", res.Deleted, a)
	if res.Moved.UIDValidity != trash.UIDValidity || len(res.Moved.DestUIDs) != 1 || !slices.Equal(res.Moved.SourceUIDs, []store.UID{a}) {
		t.Fatalf("Moved %+v", res.Moved)
	}
	wantUIDs(t, "INBOX after", e.snapshot(m, inbox.ID).UIDs, b)
	moved := e.message(m, trash.ID, res.Moved.DestUIDs[0])
	if moved.Flags != store.FlagFlagged || e.body(m, moved) != body {
		t.Fatalf("moved message %+v", moved)
	}
	cs, err := m.Changes(e.ctx, inbox.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "INBOX expunged", cs.Expunged, a)
}

// Without a Trash mailbox, trash creates one.
func testPOP3TrashRecreated(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	if err := m.DeleteMailbox(e.ctx, "Trash"); err != nil {
		t.Fatal(err)
	}
	a := e.append(m, inbox.ID, message("first", "one"), 0)
	res := e.pop3Update(m, inbox.ID, store.POP3Update{Delete: []store.UID{a}, Policy: store.POP3Trash})
	trash := e.mailbox(m, "Trash")
	if !slices.Contains(trash.SpecialUse, `\Trash`) || res.Moved.UIDValidity != trash.UIDValidity {
		t.Fatalf("new Trash %+v, moved %+v", trash, res.Moved)
	}
	wantUIDs(t, "Trash", e.snapshot(m, trash.ID).UIDs, res.Moved.DestUIDs...)
	// A mailbox with the \Trash use wins over the name.
	bin, err := m.CreateMailbox(e.ctx, "Bin", store.CreateOptions{SpecialUse: []string{`\Trash`}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteMailbox(e.ctx, "Trash"); err != nil {
		t.Fatal(err)
	}
	b := e.append(m, inbox.ID, message("second", "two"), 0)
	res = e.pop3Update(m, inbox.ID, store.POP3Update{Delete: []store.UID{b}, Policy: store.POP3Trash})
	if res.Moved.UIDValidity != bin.UIDValidity {
		t.Fatalf("moved to %+v, want Bin", res.Moved)
	}
}

// flag hides the messages from POP3 and leaves IMAP's view as it was.
func testPOP3Hide(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 3)
	before := e.status(m, inbox.ID)
	res := e.pop3Update(m, inbox.ID, store.POP3Update{Delete: []store.UID{uids[1]}, Policy: store.POP3Hide})
	wantUIDs(t, "Deleted", res.Deleted, uids[1])
	wantUIDs(t, "maildrop after", maildropUIDs(e.maildrop(m)), uids[0], uids[2])
	wantUIDs(t, "INBOX after", e.snapshot(m, inbox.ID).UIDs, uids...)
	if st := e.status(m, inbox.ID); st != before {
		t.Fatalf("status changed: %+v, was %+v", st, before)
	}
	// The hidden message moved elsewhere and back is a new message to
	// POP3 (a new UID).
	cr, err := m.Move(e.ctx, inbox.ID, store.UIDSetOf(uids[1]), e.mailbox(m, "Archive").ID)
	if err != nil {
		t.Fatal(err)
	}
	back, err := m.Move(e.ctx, e.mailbox(m, "Archive").ID, store.UIDSetOf(cr.DestUIDs...), inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "maildrop after moving back", maildropUIDs(e.maildrop(m)), uids[0], uids[2], back.DestUIDs[0])
}

// Messages expunged over IMAP after the maildrop was read are skipped;
// the rest applies.
func testPOP3GoneMeanwhile(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 3)
	e.storeFlags(m, inbox.ID, store.UIDSetOf(uids[0]), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	if _, err := m.Expunge(e.ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.POP3Policy{store.POP3Expunge, store.POP3Trash, store.POP3Hide} {
		res := e.pop3Update(m, inbox.ID, store.POP3Update{Delete: []store.UID{uids[0]}, Policy: p})
		if len(res.Deleted) != 0 {
			t.Fatalf("%s: deleted %v of messages already gone", p, res.Deleted)
		}
	}
	res := e.pop3Update(m, inbox.ID, store.POP3Update{Delete: uids, Policy: store.POP3Expunge})
	wantUIDs(t, "Deleted", res.Deleted, uids[1], uids[2])
	if n := len(e.snapshot(m, inbox.ID).UIDs); n != 0 {
		t.Fatalf("%d messages left", n)
	}
}

// Seen flags retrieved messages that stay in INBOX.
func testPOP3Seen(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uids := e.appendN(m, inbox.ID, 4)
	e.storeFlags(m, inbox.ID, store.UIDSetOf(uids[3]), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	before := e.status(m, inbox.ID)
	e.pop3Update(m, inbox.ID, store.POP3Update{Seen: []store.UID{uids[0], uids[1], uids[3]}, Delete: []store.UID{uids[1]}, Policy: store.POP3Expunge})
	msgs := e.messages(m, inbox.ID, store.AllUIDs())
	if len(msgs) != 3 || msgs[0].Flags != store.FlagSeen || msgs[1].Flags != 0 || msgs[2].Flags != store.FlagSeen {
		t.Fatalf("messages after: %+v", msgs)
	}
	if msgs[0].ModSeq <= before.HighestModSeq || msgs[2].ModSeq > before.HighestModSeq {
		t.Fatalf("MODSEQs after: %d, %d (before %d)", msgs[0].ModSeq, msgs[2].ModSeq, before.HighestModSeq)
	}
	if st := e.status(m, inbox.ID); st.Unseen != 1 || st.Messages != 3 {
		t.Fatalf("status after: %+v", st)
	}
	// With flag, the hidden message stays for IMAP and is flagged too.
	e.pop3Update(m, inbox.ID, store.POP3Update{Seen: []store.UID{uids[2]}, Delete: []store.UID{uids[2]}, Policy: store.POP3Hide})
	if msg := e.message(m, inbox.ID, uids[2]); msg.Flags != store.FlagSeen {
		t.Fatalf("hidden retrieved message: %+v", msg)
	}
}

// An account's own policy is kept and reported; unknown policies fail.
func testPOP3Policy(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	if err := m.SetPOP3Policy(e.ctx, store.POP3Trash); err != nil {
		t.Fatal(err)
	}
	if p := e.maildrop(m).Policy; p != store.POP3Trash {
		t.Fatalf("policy %q after setting trash", p)
	}
	if err := m.SetPOP3Policy(e.ctx, "shred"); err == nil {
		t.Fatal("SetPOP3Policy accepted an unknown policy")
	}
	if err := m.SetPOP3Policy(e.ctx, ""); err != nil {
		t.Fatal(err)
	}
	if p := e.maildrop(m).Policy; p != "" {
		t.Fatalf("policy %q after clearing", p)
	}
	uid := e.append(m, inbox.ID, message("x", "y"), 0)
	if _, err := m.POP3Update(e.ctx, inbox.ID, store.POP3Update{Delete: []store.UID{uid}, Policy: "shred"}); err == nil {
		t.Fatal("POP3Update accepted an unknown policy")
	}
	if _, err := m.POP3Update(e.ctx, inbox.ID, store.POP3Update{Delete: []store.UID{uid}}); err == nil {
		t.Fatal("POP3Update accepted no policy")
	}
	wantUIDs(t, "INBOX after refused updates", e.snapshot(m, inbox.ID).UIDs, uid)
}

// Another account's mailbox does not exist for POP3Update.
func testPOP3Isolation(e *env) {
	t := e.t
	alice := e.account("alice@example.com")
	bob := e.account("bob@example.com")
	inbox := e.mailbox(alice, "INBOX")
	uid := e.append(alice, inbox.ID, message("x", "y"), 0)
	_, err := bob.POP3Update(e.ctx, inbox.ID, store.POP3Update{Delete: []store.UID{uid}, Policy: store.POP3Expunge})
	wantErr(t, "POP3Update on another account's INBOX", err, store.ErrNotFound)
	if n := len(e.maildrop(bob).Messages); n != 0 {
		t.Fatalf("bob's maildrop has %d messages", n)
	}
	wantUIDs(t, "alice's maildrop", maildropUIDs(e.maildrop(alice)), uid)
	if err := e.s.RemoveAccount(e.ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = bob.POP3Maildrop(e.ctx)
	wantErr(t, "POP3Maildrop of a removed account", err, store.ErrNotFound)
	if err := bob.SetPOP3Policy(e.ctx, store.POP3Hide); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPOP3Policy of a removed account: %v", err)
	}
}

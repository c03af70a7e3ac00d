package storetest

import (
	"slices"
	"strings"

	"postfach/internal/store"
)

func testCreateMailbox(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	mb, err := m.CreateMailbox(ctx, "Projects/2024", store.CreateOptions{SpecialUse: []string{`\flagged`}})
	if err != nil {
		t.Fatal(err)
	}
	if mb.Name != "Projects/2024" || mb.ID == 0 || mb.UIDNext != 1 || mb.UIDValidity == 0 {
		t.Fatalf("CreateMailbox = %+v", mb)
	}
	if len(mb.SpecialUse) != 1 || mb.SpecialUse[0] != `\Flagged` {
		t.Fatalf("special use %v", mb.SpecialUse)
	}
	if mb.Subscribed {
		t.Fatal("a created mailbox is subscribed")
	}
	_, err = m.CreateMailbox(ctx, "Projects/2024", store.CreateOptions{})
	wantErr(t, "duplicate", err, store.ErrExists)
	_, err = m.CreateMailbox(ctx, "inbox", store.CreateOptions{})
	wantErr(t, "INBOX again", err, store.ErrExists)
	_, err = m.CreateMailbox(ctx, "X", store.CreateOptions{SpecialUse: []string{`\Bogus`}})
	wantErr(t, "unknown special use", err, store.ErrNotAllowed)

	got, err := m.MailboxByID(ctx, mb.ID)
	if err != nil || got.Name != mb.Name || got.UIDValidity != mb.UIDValidity {
		t.Fatalf("MailboxByID = %+v, %v", got, err)
	}
	for _, name := range []string{"INBOX", "inbox", "Inbox"} {
		if got := e.mailbox(m, name); got.Name != "INBOX" {
			t.Fatalf("Mailbox(%s).Name = %q", name, got.Name)
		}
	}
	sub := e.create(m, "inbox/Sub")
	if sub.Name != "INBOX/Sub" {
		t.Fatalf("inbox/Sub created as %q", sub.Name)
	}
	if got := e.mailbox(m, "INBOX/Sub"); got.ID != sub.ID {
		t.Fatal("INBOX/Sub not found under its canonical name")
	}
	_, err = m.Mailbox(ctx, "Nope")
	wantErr(t, "missing mailbox", err, store.ErrNotFound)
	_, err = m.MailboxByID(ctx, 1<<40)
	wantErr(t, "missing mailbox id", err, store.ErrNotFound)

	// A name differing only in Unicode normalization is the same name.
	nfc := e.create(m, "Entw\u00fcrfe")
	if got := e.mailbox(m, "Entwu\u0308rfe"); got.ID != nfc.ID {
		t.Fatal("NFD name does not find the NFC mailbox")
	}
	mbs, err := m.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mb := range mbs {
		names = append(names, mb.Name)
	}
	if !slices.Contains(names, "Projects/2024") || !slices.Contains(names, "INBOX/Sub") {
		t.Fatalf("Mailboxes = %v", names)
	}
}

func testMailboxNames(e *env) {
	t, ctx := e.t, e.ctx
	alice := e.account("alice@example.com")
	bob := e.account("bob@example.com")
	for _, bad := range []string{"", "/", "/etc/passwd", "../bob", "a/../b", "a//b", "a/", ".", "..",
		"a\x00b", "a\r\nb", "a\tb", "x\u202eexe", "\xff\xfe", "a*", "%", "#shared/x", strings.Repeat("x", 1001)} {
		_, err := alice.CreateMailbox(ctx, bad, store.CreateOptions{})
		wantErr(t, "CreateMailbox("+bad+")", err, store.ErrInvalidName)
		wantErr(t, "Subscribe("+bad+")", alice.Subscribe(ctx, bad, true), store.ErrInvalidName)
		_, err = alice.Mailbox(ctx, bad)
		wantErr(t, "Mailbox("+bad+")", err, store.ErrNotFound)
	}
	wantErr(t, "rename to ../x", alice.RenameMailbox(ctx, "Drafts", "../x"), store.ErrInvalidName)
	// Another user's address is just a name inside this account.
	mb := e.create(alice, "bob@example.com/INBOX")
	if mb.Account == 0 {
		t.Fatal("no account on mailbox")
	}
	bobInbox := e.mailbox(bob, "INBOX")
	e.append(alice, mb.ID, message("to bob?", "x"), 0)
	if st := e.status(bob, bobInbox.ID); st.Messages != 0 {
		t.Fatal("a mailbox named after bob reached bob's INBOX")
	}
	if _, err := bob.Mailbox(ctx, "bob@example.com/INBOX"); err == nil {
		t.Fatal("alice's mailbox is visible to bob")
	}
	// Odd but valid Unicode survives.
	for _, ok := range []string{"日本語/メール", "📁 Work", "Ünïcödé", "a b c"} {
		got := e.create(alice, ok)
		if got.Name != ok {
			t.Errorf("created %q as %q", ok, got.Name)
		}
	}
}

func testDeleteMailbox(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	wantErr(t, "delete INBOX", m.DeleteMailbox(ctx, "inbox"), store.ErrNotAllowed)
	wantErr(t, "delete missing", m.DeleteMailbox(ctx, "Nope"), store.ErrNotFound)
	parent := e.create(m, "Parent")
	child := e.create(m, "Parent/Child")
	e.append(m, parent.ID, message("p", "x"), 0)
	e.append(m, child.ID, message("c", "x"), 0)
	m.Subscribe(ctx, "Parent", true)
	if err := m.DeleteMailbox(ctx, "Parent"); err != nil {
		t.Fatal(err)
	}
	_, err := m.Mailbox(ctx, "Parent")
	wantErr(t, "deleted mailbox", err, store.ErrNotFound)
	_, err = m.Status(ctx, parent.ID)
	wantErr(t, "status of deleted mailbox", err, store.ErrNotFound)
	// The inferior stays, with its message.
	if st := e.status(m, child.ID); st.Messages != 1 {
		t.Fatalf("child has %d messages after parent's delete", st.Messages)
	}
	// The subscription stays (RFC 9051 section 6.3.9).
	subs, _ := m.Subscriptions(ctx)
	if !slices.Contains(subs, "Parent") {
		t.Fatalf("subscription removed with the mailbox: %v", subs)
	}
	// A new mailbox of the same name has a new UIDVALIDITY and starts over.
	again := e.create(m, "Parent")
	if again.UIDValidity <= parent.UIDValidity {
		t.Fatalf("recreated mailbox UIDVALIDITY %d, old %d: must grow", again.UIDValidity, parent.UIDValidity)
	}
	if st := e.status(m, again.ID); st.Messages != 0 || st.UIDNext != 1 {
		t.Fatalf("recreated mailbox status %+v", st)
	}
}

func testRenameMailbox(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	a := e.create(m, "A")
	ab := e.create(m, "A/B")
	abc := e.create(m, "A/B/C")
	other := e.create(m, "AB") // shares the prefix, not the hierarchy
	e.append(m, ab.ID, message("in ab", "x"), store.FlagSeen)
	m.Subscribe(ctx, "A/B", true)

	if err := m.RenameMailbox(ctx, "a", "Z"); err == nil {
		t.Fatal("rename is case-sensitive except for INBOX, but 'a' found 'A'")
	}
	if err := m.RenameMailbox(ctx, "A", "X/Y"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[store.MailboxID]string{a.ID: "X/Y", ab.ID: "X/Y/B", abc.ID: "X/Y/B/C", other.ID: "AB"} {
		mb, err := m.MailboxByID(ctx, id)
		if err != nil || mb.Name != want {
			t.Errorf("mailbox %d: %q, %v; want %q", id, mb.Name, err, want)
		}
	}
	moved := e.mailbox(m, "X/Y/B")
	if moved.UIDValidity != ab.UIDValidity {
		t.Fatal("rename changed UIDVALIDITY")
	}
	if st := e.status(m, moved.ID); st.Messages != 1 {
		t.Fatalf("renamed mailbox lost messages: %+v", st)
	}
	// Subscriptions are not renamed (RFC 9051 section 6.3.6).
	subs, _ := m.Subscriptions(ctx)
	if !slices.Contains(subs, "A/B") || slices.Contains(subs, "X/Y/B") {
		t.Fatalf("subscriptions after rename: %v", subs)
	}
	wantErr(t, "rename missing", m.RenameMailbox(ctx, "A", "Q"), store.ErrNotFound)
	wantErr(t, "rename onto existing", m.RenameMailbox(ctx, "X/Y", "AB"), store.ErrExists)
	wantErr(t, "rename onto INBOX", m.RenameMailbox(ctx, "AB", "inbox"), store.ErrExists)
	wantErr(t, "rename into itself", m.RenameMailbox(ctx, "X/Y", "X/Y/B/Z"), store.ErrNotAllowed)
	// An inferior colliding with an existing name fails the whole rename.
	e.create(m, "N")
	e.create(m, "N2/B")
	wantErr(t, "inferior collides", m.RenameMailbox(ctx, "X/Y", "N2"), store.ErrExists)
	if got := e.mailbox(m, "X/Y"); got.ID != a.ID {
		t.Fatal("failed rename was partly applied")
	}
}

func testRenameInbox(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	sub := e.create(m, "INBOX/Sub")
	u1 := e.append(m, inbox.ID, message("one", "x"), store.FlagSeen, "$Work")
	e.append(m, inbox.ID, message("two", "y"), store.FlagFlagged)
	before := e.status(m, inbox.ID)

	if err := m.RenameMailbox(ctx, "INBOX", "Old Mail"); err != nil {
		t.Fatal(err)
	}
	// INBOX stays, same mailbox, now empty; its messages show as expunged
	// to sessions following Changes.
	now := e.mailbox(m, "INBOX")
	if now.ID != inbox.ID {
		t.Fatal("INBOX changed identity")
	}
	st := e.status(m, inbox.ID)
	if st.Messages != 0 || st.Unseen != 0 || st.Size != 0 {
		t.Fatalf("INBOX after rename: %+v", st)
	}
	if st.UIDNext != before.UIDNext {
		t.Fatalf("INBOX UIDNEXT went from %d to %d", before.UIDNext, st.UIDNext)
	}
	cs, err := m.Changes(ctx, inbox.ID, before.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "INBOX expunged by rename", cs.Expunged, 1, 2)

	old := e.mailbox(m, "Old Mail")
	msgs := e.messages(m, old.ID, store.AllUIDs())
	if len(msgs) != 2 {
		t.Fatalf("renamed INBOX has %d messages", len(msgs))
	}
	if msgs[0].Flags != store.FlagSeen || len(msgs[0].Keywords) != 1 || msgs[1].Flags != store.FlagFlagged {
		t.Fatalf("flags not kept: %+v", msgs)
	}
	if b := e.body(m, msgs[0]); !strings.Contains(b, "Subject: one") {
		t.Fatalf("body of moved message: %q", b)
	}
	// Inferiors of INBOX are unaffected.
	if got := e.mailbox(m, "INBOX/Sub"); got.ID != sub.ID {
		t.Fatal("INBOX/Sub moved")
	}
	// New messages go to the empty INBOX with fresh UIDs.
	if u := e.append(m, inbox.ID, message("three", "z"), 0); u <= u1+1 {
		t.Fatalf("INBOX reused UID %d", u)
	}
}

func testSubscriptions(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	if err := m.Subscribe(ctx, "Not/There/Yet", true); err != nil {
		t.Fatal(err)
	}
	if err := m.Subscribe(ctx, "Not/There/Yet", true); err != nil {
		t.Fatalf("subscribing twice: %v", err)
	}
	if err := m.Subscribe(ctx, "Junk", false); err != nil {
		t.Fatal(err)
	}
	if err := m.Subscribe(ctx, "never-subscribed", false); err != nil {
		t.Fatalf("unsubscribing an unsubscribed name: %v", err)
	}
	subs, err := m.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(subs, "Not/There/Yet") || slices.Contains(subs, "Junk") {
		t.Fatalf("Subscriptions = %v", subs)
	}
	if e.mailbox(m, "Junk").Subscribed {
		t.Fatal("Junk still reports Subscribed")
	}
	m.Subscribe(ctx, "inbox/x", true)
	subs, _ = m.Subscriptions(ctx)
	if !slices.Contains(subs, "INBOX/x") {
		t.Fatalf("inbox/x not canonicalized in subscriptions: %v", subs)
	}
	mb := e.create(m, "Not/There/Yet")
	if !mb.Subscribed {
		t.Fatal("a mailbox created under a subscribed name does not report Subscribed")
	}
}

package storetest

import (
	"slices"
	"strings"

	"postfach/internal/store"
)

func testDomains(e *env) {
	t, ctx, s := e.t, e.ctx, e.s
	d, err := s.AddDomain(ctx, "Example.COM")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "example.com" || d.Created.IsZero() {
		t.Fatalf("AddDomain = %+v", d)
	}
	_, err = s.AddDomain(ctx, "example.com")
	wantErr(t, "duplicate domain", err, store.ErrExists)
	for _, bad := range []string{"", "a..b", "-a.com", "a b.com", "a/b", "../x"} {
		_, err := s.AddDomain(ctx, bad)
		wantErr(t, "AddDomain("+bad+")", err, store.ErrInvalidName)
	}
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Domains(ctx)
	if err != nil || len(ds) != 2 || ds[0].Name != "example.com" || ds[1].Name != "example.org" {
		t.Fatalf("Domains = %+v, %v", ds, err)
	}
	if _, err := s.AddAccount(ctx, "a@example.org", ""); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "removing a domain with accounts", s.RemoveDomain(ctx, "example.org"), store.ErrNotAllowed)
	wantErr(t, "removing a missing domain", s.RemoveDomain(ctx, "nowhere.test"), store.ErrNotFound)
	if err := s.RemoveDomain(ctx, "EXAMPLE.com"); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.Domains(ctx)
	if len(ds) != 1 {
		t.Fatalf("after RemoveDomain: %+v", ds)
	}
}

func testAccounts(e *env) {
	t, ctx, s := e.t, e.ctx, e.s
	_, err := s.AddAccount(ctx, "alice@example.com", "")
	wantErr(t, "account in a missing domain", err, store.ErrNotFound)
	s.AddDomain(ctx, "example.com")
	s.AddDomain(ctx, "example.org")
	a, err := s.AddAccount(ctx, "Alice@Example.COM", "$argon2id$x")
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "alice@example.com" || a.Domain != "example.com" || a.ID == 0 || a.PasswordHash != "$argon2id$x" {
		t.Fatalf("AddAccount = %+v", a)
	}
	_, err = s.AddAccount(ctx, "ALICE@example.com", "")
	wantErr(t, "duplicate account", err, store.ErrExists)
	for _, bad := range []string{"", "alice", "@example.com", "a b@example.com", "alice@", "alice@bad..domain"} {
		_, err := s.AddAccount(ctx, bad, "")
		if err == nil {
			t.Errorf("AddAccount(%q) succeeded", bad)
		}
	}
	b, err := s.AddAccount(ctx, "bob@example.org", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountByAddress(ctx, "ALICE@example.com")
	if err != nil || got.ID != a.ID {
		t.Fatalf("AccountByAddress = %+v, %v", got, err)
	}
	_, err = s.AccountByAddress(ctx, "carol@example.com")
	wantErr(t, "missing account", err, store.ErrNotFound)
	all, err := s.Accounts(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("Accounts(all) = %+v, %v", all, err)
	}
	org, err := s.Accounts(ctx, "example.org")
	if err != nil || len(org) != 1 || org[0].ID != b.ID {
		t.Fatalf("Accounts(example.org) = %+v, %v", org, err)
	}
	if err := s.SetPasswordHash(ctx, "alice@example.com", "new"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AccountByAddress(ctx, "alice@example.com")
	if got.PasswordHash != "new" {
		t.Fatalf("password hash %q after SetPasswordHash", got.PasswordHash)
	}
	wantErr(t, "SetPasswordHash of a missing account", s.SetPasswordHash(ctx, "carol@example.com", "x"), store.ErrNotFound)
	wantErr(t, "RemoveAccount of a missing account", s.RemoveAccount(ctx, "carol@example.com"), store.ErrNotFound)
}

func testDefaultMailboxes(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	mbs, err := m.Mailboxes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mb := range mbs {
		got[mb.Name] = strings.Join(mb.SpecialUse, " ")
		if !mb.Subscribed {
			t.Errorf("%s is not subscribed", mb.Name)
		}
		if mb.UIDValidity == 0 || mb.UIDNext != 1 || mb.HighestModSeq == 0 {
			t.Errorf("%s: UIDVALIDITY %d, UIDNEXT %d, HIGHESTMODSEQ %d", mb.Name, mb.UIDValidity, mb.UIDNext, mb.HighestModSeq)
		}
	}
	want := map[string]string{"INBOX": "", "Drafts": `\Drafts`, "Sent": `\Sent`, "Junk": `\Junk`, "Trash": `\Trash`, "Archive": `\Archive`}
	if len(got) != len(want) {
		t.Fatalf("mailboxes %v, want %v", got, want)
	}
	for name, use := range want {
		if u, ok := got[name]; !ok || u != use {
			t.Errorf("mailbox %s: special use %q (present %v), want %q", name, u, ok, use)
		}
	}
	subs, err := m.Subscriptions(e.ctx)
	if err != nil || len(subs) != 6 {
		t.Fatalf("Subscriptions = %v, %v", subs, err)
	}
	if !slices.IsSorted(subs) {
		t.Errorf("subscriptions not sorted: %v", subs)
	}
}

func testRemoveAccount(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	uid := e.append(m, inbox.ID, message("hello", "body"), 0)
	msg := e.message(m, inbox.ID, uid)
	keep := e.account("bob@example.com")
	if err := e.s.RemoveAccount(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.AccountByAddress(ctx, "alice@example.com")
	wantErr(t, "removed account", err, store.ErrNotFound)
	_, err = m.MailboxByID(ctx, inbox.ID)
	wantErr(t, "mailbox of a removed account", err, store.ErrNotFound)
	_, err = m.OpenBody(ctx, &msg)
	wantErr(t, "body of a removed account", err, store.ErrNotFound)
	if mbs, err := keep.Mailboxes(ctx); err != nil || len(mbs) != 6 {
		t.Fatalf("other account's mailboxes after RemoveAccount: %d, %v", len(mbs), err)
	}
	// The address can be used again, with fresh mailboxes.
	m2 := e.account("alice@example.com")
	inbox2 := e.mailbox(m2, "INBOX")
	if inbox2.UIDValidity == inbox.UIDValidity && inbox2.ID == inbox.ID {
		t.Fatal("recreated account got the old INBOX")
	}
	if st := e.status(m2, inbox2.ID); st.Messages != 0 {
		t.Fatalf("recreated account's INBOX has %d messages", st.Messages)
	}
}

package deliver

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// testStore opens a store with the accounts given (domains created as
// needed).
func testStore(t *testing.T, hub *notify.Hub, accounts ...string) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), NoSync: true, Hub: hub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range accounts {
		d := a[strings.IndexByte(a, '@')+1:]
		if _, err := st.AddDomain(ctx, d); err != nil && !errors.Is(err, store.ErrExists) {
			t.Fatal(err)
		}
		if _, err := st.AddAccount(ctx, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func account(t *testing.T, st *sqlite.Store, addr string) store.Account {
	t.Helper()
	a, err := st.AccountByAddress(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// stored returns the bodies of a mailbox's messages.
func stored(t *testing.T, st *sqlite.Store, id store.AccountID, mailbox string) []string {
	t.Helper()
	ctx := context.Background()
	mail := st.Mail(id)
	mb, err := mail.Mailbox(ctx, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := mail.Snapshot(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var set store.UIDSet
	for _, u := range snap.UIDs {
		set = append(set, store.UIDRange{Start: u, Stop: u})
	}
	msgs, err := mail.Messages(ctx, mb.ID, set, store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range msgs {
		b, err := mail.OpenBody(ctx, &msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

const testMessage = "From: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"

func TestDeliver(t *testing.T) {
	ctx := context.Background()
	hub := notify.NewHub()
	st := testStore(t, hub, "alice@example.org", "carol@example.org")
	alice, carol := account(t, st, "alice@example.org"), account(t, st, "carol@example.org")
	sub := hub.Subscribe(int64(alice.ID))
	defer sub.Close()

	// Carol has no Junk: her quarantined copy falls back to INBOX.
	if err := st.Mail(carol.ID).DeleteMailbox(ctx, "Junk"); err != nil {
		t.Fatal(err)
	}
	d := New(st, Options{})
	msg := Message{ReturnPath: "bob@example.net", Body: strings.NewReader(testMessage), Size: int64(len(testMessage))}
	res := d.Deliver(ctx, msg, []Recipient{
		{Account: alice.ID},
		{Account: alice.ID, Mailbox: "inbox"}, // the same as the first: one copy
		{Account: alice.ID, Mailbox: Junk},
		{Account: carol.ID, Mailbox: Junk},
		{Account: 9999}, // no such account
	})
	for i, want := range []struct {
		mailbox string
		code    int
	}{{"INBOX", 0}, {"INBOX", 0}, {"Junk", 0}, {"INBOX", 0}, {"", 550}} {
		r := res[i]
		var de *Error
		switch {
		case want.code == 0 && r.Err != nil:
			t.Errorf("recipient %d: %v", i, r.Err)
		case want.code != 0 && (!errors.As(r.Err, &de) || de.Code != want.code || de.Enhanced != "5.1.1"):
			t.Errorf("recipient %d: err %v, want code %d", i, r.Err, want.code)
		case r.Mailbox != want.mailbox:
			t.Errorf("recipient %d went to %q, want %q", i, r.Mailbox, want.mailbox)
		case want.code == 0 && (r.UID == 0 || r.UIDValidity == 0):
			t.Errorf("recipient %d: no UID in %+v", i, r)
		}
	}
	if res[0] != res[1] {
		t.Errorf("duplicate recipients got different results: %+v, %+v", res[0], res[1])
	}
	want := "Return-Path: <bob@example.net>\r\n" + testMessage
	for _, tc := range []struct {
		id      store.AccountID
		mailbox string
		n       int
	}{{alice.ID, "INBOX", 1}, {alice.ID, "Junk", 1}, {carol.ID, "INBOX", 1}} {
		got := stored(t, st, tc.id, tc.mailbox)
		if len(got) != tc.n || got[0] != want {
			t.Errorf("account %d %s holds %q", tc.id, tc.mailbox, got)
		}
	}
	// The account's sessions heard of it.
	select {
	case <-sub.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no notify event after delivery")
	}
}

func TestDeliverNullReturnPath(t *testing.T) {
	st := testStore(t, nil, "alice@example.org")
	alice := account(t, st, "alice@example.org")
	res := New(st, Options{}).Deliver(context.Background(), Message{ReturnPath: "bad\r\nInjected: x", Body: strings.NewReader(testMessage), Size: int64(len(testMessage))}, []Recipient{{Account: alice.ID}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	got := stored(t, st, alice.ID, "INBOX")
	if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <badInjected: x>\r\nFrom:") {
		t.Fatalf("stored %q", got)
	}
}

func TestDeliverQuota(t *testing.T) {
	err := classify(store.ErrOverQuota)
	if err.Code != 452 || err.Enhanced != "4.2.2" || !err.Temporary() {
		t.Errorf("over quota: %+v", err)
	}
	if e := classify(errors.New("disk on fire")); e.Code != 451 || !e.Temporary() {
		t.Errorf("other failure: %+v", e)
	}
}

func TestDeliverTo(t *testing.T) {
	ctx := context.Background()
	st := testStore(t, nil, "alice@example.org", "bob@example.org")
	if _, err := st.AddAlias(ctx, "team@example.org", []string{"alice@example.org", "bob@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAlias(ctx, "away@example.org", []string{"someone@elsewhere.test"}); err != nil {
		t.Fatal(err)
	}
	d := New(st, Options{})
	r := NewResolver(st, ResolverOptions{SubaddressDelimiters: "+"})
	dsn := "From: MAILER-DAEMON@mail.example.org\r\nSubject: Undelivered\r\n\r\nreport\r\n"
	body := strings.NewReader(dsn)
	if err := d.DeliverTo(ctx, r, "team@example.org", "", body, int64(len(dsn))); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		got := stored(t, st, account(t, st, u).ID, "INBOX")
		if len(got) != 1 || got[0] != "Return-Path: <>\r\n"+dsn {
			t.Errorf("%s has %q", u, got)
		}
	}
	for _, tc := range []struct {
		to   string
		want error
		code int
	}{
		{"someone@elsewhere.test", ErrNotLocal, 0},
		{"away@example.org", ErrNotLocal, 0},
		{"nobody@example.org", nil, 550},
		{"not an address", nil, 550},
	} {
		err := d.DeliverTo(ctx, r, tc.to, "", body, int64(len(dsn)))
		var de *Error
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("DeliverTo(%s) = %v, want %v", tc.to, err, tc.want)
		case tc.code != 0 && (!errors.As(err, &de) || de.Code != tc.code || de.Temporary()):
			t.Errorf("DeliverTo(%s) = %v, want code %d", tc.to, err, tc.code)
		}
	}
}

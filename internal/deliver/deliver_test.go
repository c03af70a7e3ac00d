package deliver

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

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

// eachStore hides the store's store.SharedAppender: the Deliverer then
// appends to each mailbox on its own.
type eachStore struct{ st *sqlite.Store }

func (e eachStore) Mail(id store.AccountID) store.Mail { return e.st.Mail(id) }

// storeKinds are the two ways a Deliverer stores: once for all
// recipients, and once per recipient.
var storeKinds = []struct {
	name string
	of   func(*sqlite.Store) Store
}{
	{"shared", func(st *sqlite.Store) Store { return st }},
	{"each", func(st *sqlite.Store) Store { return eachStore{st} }},
}

func TestDeliver(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testDeliver(t, kind.of) })
	}
}

func testDeliver(t *testing.T, of func(*sqlite.Store) Store) {
	ctx := context.Background()
	hub := notify.NewHub()
	st := testStore(t, hub, "alice@example.org", "carol@example.org")
	alice, carol := account(t, st, "alice@example.org"), account(t, st, "carol@example.org")
	sub := hub.Subscribe(int64(alice.ID))
	defer sub.Close()
	csub := hub.Subscribe(int64(carol.ID))
	defer csub.Close()

	// Carol has no Junk: her quarantined copy falls back to INBOX.
	if err := st.Mail(carol.ID).DeleteMailbox(ctx, "Junk"); err != nil {
		t.Fatal(err)
	}
	csub.Take()
	d := New(of(st), Options{})
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
	// Each account's sessions heard of it, before Deliver returned.
	if p := sub.Take(); len(p.Mailboxes) != 2 {
		t.Errorf("alice's sessions heard %+v, want INBOX and Junk", p)
	}
	if p := csub.Take(); len(p.Mailboxes) != 1 {
		t.Errorf("carol's sessions heard %+v, want INBOX", p)
	}
}

// TestDeliverShared: with a store.SharedAppender, every copy refers to
// the one stored body; an account over quota is refused alone.
func TestDeliverShared(t *testing.T) {
	ctx := context.Background()
	st := testStore(t, nil, "alice@example.org", "bob@example.org", "carol@example.org")
	alice, bob, carol := account(t, st, "alice@example.org"), account(t, st, "bob@example.org"), account(t, st, "carol@example.org")
	if err := st.SetQuota(ctx, "bob@example.org", store.Quota{StorageBytes: 10}); err != nil {
		t.Fatal(err)
	}
	msg := Message{ReturnPath: "dave@example.net", Body: strings.NewReader(testMessage), Size: int64(len(testMessage))}
	res := New(st, Options{}).Deliver(ctx, msg, []Recipient{{Account: alice.ID}, {Account: bob.ID}, {Account: carol.ID}, {Account: alice.ID, Mailbox: Junk}})
	var de *Error
	if !errors.As(res[1].Err, &de) || de.Code != 452 || de.Enhanced != "4.2.2" || res[1].Mailbox != "INBOX" {
		t.Errorf("bob over quota: %+v", res[1])
	}
	var blobs []string
	for _, i := range []int{0, 2, 3} {
		r := res[i]
		if r.Err != nil || r.UID != 1 {
			t.Fatalf("recipient %d: %+v", i, r)
		}
		acct := []store.AccountID{alice.ID, bob.ID, carol.ID, alice.ID}[i]
		m := st.Mail(acct)
		mb, err := m.Mailbox(ctx, r.Mailbox)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := m.Messages(ctx, mb.ID, store.UIDSetOf(r.UID), store.FetchOptions{})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("recipient %d: %v, %v", i, msgs, err)
		}
		blobs = append(blobs, msgs[0].Blob)
	}
	if blobs[0] != blobs[1] || blobs[0] != blobs[2] {
		t.Errorf("copies of one delivery have bodies %q", blobs)
	}
	if got := stored(t, st, carol.ID, "INBOX"); len(got) != 1 || got[0] != "Return-Path: <dave@example.net>\r\n"+testMessage {
		t.Errorf("carol has %q", got)
	}
}

// vanishingStore deletes a mailbox after the Deliverer looked it up and
// before its shared append: the race with a client's DELETE.
type vanishingStore struct {
	*sqlite.Store
	account store.AccountID
	mailbox string
}

func (v vanishingStore) AppendShared(ctx context.Context, targets []store.AppendTarget, msg store.NewMessage) []store.AppendOutcome {
	if err := v.Mail(v.account).DeleteMailbox(ctx, v.mailbox); err != nil {
		panic(err)
	}
	return v.Store.AppendShared(ctx, targets, msg)
}

// TestDeliverSharedMailboxGone: a mailbox deleted between lookup and
// append falls back to INBOX, as a mailbox missing from the start does.
func TestDeliverSharedMailboxGone(t *testing.T) {
	ctx := context.Background()
	st := testStore(t, nil, "alice@example.org", "carol@example.org")
	alice, carol := account(t, st, "alice@example.org"), account(t, st, "carol@example.org")
	d := New(vanishingStore{Store: st, account: alice.ID, mailbox: Junk}, Options{})
	msg := Message{Body: strings.NewReader(testMessage), Size: int64(len(testMessage))}
	res := d.Deliver(ctx, msg, []Recipient{{Account: alice.ID, Mailbox: Junk}, {Account: carol.ID, Mailbox: Junk}})
	for i, want := range []string{"INBOX", "Junk"} {
		if res[i].Err != nil || res[i].Mailbox != want || res[i].UID != 1 {
			t.Errorf("recipient %d: %+v, want delivery to %s", i, res[i], want)
		}
	}
	if got := stored(t, st, alice.ID, "INBOX"); len(got) != 1 {
		t.Errorf("alice's INBOX has %q", got)
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

package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/storetest"
)

func TestConformancePOP3(t *testing.T) {
	storetest.RunPOP3(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir(), Options{})
	})
}

// pop3Fixture opens a store with one account and returns its mail and
// INBOX.
func pop3Fixture(t *testing.T, dir string, hub *notify.Hub) (*Store, store.Mail, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, dir, Options{Hub: hub})
	a, err := s.AccountByAddress(ctx, "alice@example.org")
	if err != nil {
		if _, err := s.AddDomain(ctx, "example.org"); err != nil {
			t.Fatal(err)
		}
		if a, err = s.AddAccount(ctx, "alice@example.org", ""); err != nil {
			t.Fatal(err)
		}
	}
	m := s.Mail(a.ID)
	inbox, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return s, m, inbox
}

// The ending of a blob is read once and kept: after a reopen the size is
// still exact, and the kept row goes with the blob.
func TestPOP3BlobEndsKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, m, inbox := pop3Fixture(t, dir, nil)
	res, err := m.Append(ctx, inbox.ID, []store.NewMessage{
		{Body: strings.NewReader("Subject: a\r\n\r\nno final newline")},
		{Body: strings.NewReader("Subject: b\r\n\r\nfinal newline\r\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	md, err := m.POP3Maildrop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Messages[0].Size != int64(len("Subject: a\r\n\r\nno final newline"))+2 {
		t.Fatalf("size %d", md.Messages[0].Size)
	}
	// The kept rows are written in the background: wait for them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM pop3_blob_ends`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d blob endings kept, want 2", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var crlf []bool
	rows, err := s.rdb.QueryContext(ctx, `SELECT crlf FROM pop3_blob_ends ORDER BY blob_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b bool
		rows.Scan(&b)
		crlf = append(crlf, b)
	}
	rows.Close()
	if len(crlf) != 2 || crlf[0] || !crlf[1] {
		t.Fatalf("kept endings %v, want [false true]", crlf)
	}
	s.Close()

	s, m, inbox = pop3Fixture(t, dir, nil)
	defer s.Close()
	md2, err := m.POP3Maildrop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md2.Messages[0].Size != md.Messages[0].Size || md2.Messages[1].Size != md.Messages[1].Size {
		t.Fatalf("sizes after reopen %+v, before %+v", md2.Messages, md.Messages)
	}
	if _, err := m.POP3Update(ctx, inbox.ID, store.POP3Update{Delete: res.UIDs, Policy: store.POP3Expunge}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM pop3_blob_ends`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d blob endings left after the blobs went (%v)", n, err)
	}
}

// A POP3 deletion wakes the account's sessions, as any expunge does.
func TestPOP3UpdatePublishes(t *testing.T) {
	ctx := context.Background()
	hub := notify.NewHub()
	s, m, inbox := pop3Fixture(t, t.TempDir(), hub)
	defer s.Close()
	res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: a\r\n\r\nx\r\n")}})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.AccountByAddress(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	sub := hub.Subscribe(int64(acct.ID))
	defer sub.Close()
	if _, err := m.POP3Update(ctx, inbox.ID, store.POP3Update{Delete: res.UIDs, Policy: store.POP3Expunge}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.C():
	case <-time.After(10 * time.Second):
		t.Fatal("no event after a POP3 deletion")
	}
	if p := sub.Take(); !p.Has(int64(inbox.ID)) {
		t.Fatalf("pending %+v lacks INBOX", p)
	}
}

func TestParseMaildrop(t *testing.T) {
	got, err := parseMaildrop("3,5,9", "10,0,7", "1,2,2", "1,2,0", 3)
	want := []store.POP3Message{{UID: 3, Size: 10, Blob: "1"}, {UID: 5, Size: -1, Blob: "2"}, {UID: 9, Size: 9, Blob: "2"}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseMaildrop = %v, %v; want %v", got, err, want)
	}
	if got, err := parseMaildrop("", "", "", "", 0); err != nil || got != nil {
		t.Fatalf("empty maildrop: %v, %v", got, err)
	}
	if got, err := parseMaildrop("9,3", "1,2", "1,2", "1,1", 2); err != nil || got[0].UID != 3 || got[0].Size != 2 {
		t.Fatalf("unordered lists: %v, %v", got, err)
	}
	for _, bad := range [][4]string{
		{"1,2", "10", "1,2", "1,1"},
		{"1", "10,11", "1", "1"},
		{"1", "10", "1", "3"},
		{"1", "-4", "1", "1"},
		{"x", "10", "1", "1"},
		{"1,,2", "1,1,1", "1,1,1", "1,1,1"},
		{"4294967296", "1", "1", "1"},
		{"1", "1", "", "1"},
	} {
		if _, err := parseMaildrop(bad[0], bad[1], bad[2], bad[3], 0); err == nil {
			t.Errorf("parseMaildrop(%q) accepted", bad)
		}
	}
}

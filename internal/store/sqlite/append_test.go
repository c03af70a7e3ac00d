package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"postfach/internal/store"
)

// TestAppendByName: the mailbox is found by its name (cleaned as Mailbox
// cleans it) in the write operation; a missing or invalid name is
// ErrNotFound and leaves no blob behind; Append by ID to a missing mailbox
// does the same.
func TestAppendByName(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	defer s.Close()
	s.AddDomain(ctx, "example.com")
	a, _ := s.AddAccount(ctx, "alice@example.com", "")
	b, _ := s.AddAccount(ctx, "bob@example.com", "")
	m := s.Mail(a.ID).(*mail)
	msg := func() []store.NewMessage {
		return []store.NewMessage{{Body: strings.NewReader("Subject: by name\r\n\r\nbody\r\n")}}
	}
	inbox, _ := m.Mailbox(ctx, "INBOX")
	id, res, err := m.AppendByName(ctx, "INBOX", msg())
	if err != nil {
		t.Fatal(err)
	}
	if id != inbox.ID || res.UIDValidity != inbox.UIDValidity || len(res.UIDs) != 1 || res.UIDs[0] != inbox.UIDNext {
		t.Fatalf("AppendByName INBOX: %d %+v, mailbox %+v", id, res, inbox)
	}
	files := countBlobFiles(t, dir)
	bobInbox, _ := s.Mail(b.ID).Mailbox(ctx, "INBOX")
	for _, name := range []string{"Nowhere", "", "a\x00b", "Nowhere/Deeper"} {
		if _, _, err := m.AppendByName(ctx, name, msg()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AppendByName %q: %v, want ErrNotFound", name, err)
		}
	}
	if _, err := m.Append(ctx, bobInbox.ID, msg()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append to another account's mailbox: %v, want ErrNotFound", err)
	}
	if n := countBlobFiles(t, dir); n != files {
		t.Errorf("%d blob files after failed appends, %d before", n, files)
	}
	if st, _ := s.Mail(b.ID).Status(ctx, bobInbox.ID); st.Messages != 0 {
		t.Errorf("bob's INBOX: %+v", st)
	}
	if st, _ := m.Status(ctx, inbox.ID); st.Messages != 1 {
		t.Errorf("alice's INBOX: %+v", st)
	}
}

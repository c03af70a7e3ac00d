package sqlite

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"postfach/internal/store"
)

// TestOpenBodies: OpenBodies opens what OpenBody opens, with the same
// checks: the account's own messages, copies sharing a blob included; not
// another account's blob, not an expunged message's, not a forged value.
func TestOpenBodies(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	bob, err := s.AddAccount(ctx, "bob@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	bm := s.Mail(bob.ID)
	bInbox, err := bm.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	raw := func(i int) string { return "Subject: " + strings.Repeat("x", i) + "\r\n\r\nbody\r\n" }
	var msgs []store.NewMessage
	for i := range 5 {
		msgs = append(msgs, store.NewMessage{Body: strings.NewReader(raw(i))})
	}
	if _, err := m.Append(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	// A copy shares its blob with the original.
	if _, err := m.Copy(ctx, inbox.ID, store.UIDSetOf(1), inbox.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bm.Append(ctx, bInbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: bob\r\n\r\nsecret\r\n")}}); err != nil {
		t.Fatal(err)
	}
	bobMsgs, err := bm.Messages(ctx, bInbox.ID, store.AllUIDs(), store.FetchOptions{})
	if err != nil || len(bobMsgs) != 1 {
		t.Fatal(bobMsgs, err)
	}
	// UID 3 goes before the lookup.
	got, err := m.Messages(ctx, inbox.ID, store.AllUIDs(), store.FetchOptions{})
	if err != nil || len(got) != 6 {
		t.Fatal(len(got), err)
	}
	m.StoreFlags(ctx, inbox.ID, store.UIDSetOf(3), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted})
	if _, err := m.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	forged := got[0]
	forged.Blob = bobMsgs[0].Blob
	junk := got[0]
	junk.Blob = "x"
	list := append(append([]store.Message{}, got...), forged, junk)
	open, err := m.(store.BodiesOpener).OpenBodies(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	for i := range list {
		msg := &list[i]
		b, err := open(msg)
		want := ""
		switch {
		case i < 5 && msg.UID != 3:
			want = raw(i)
		case i == 5:
			want = raw(0) // the copy of UID 1
		}
		if want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("message %d (UID %d, blob %q): %v, want ErrNotFound", i, msg.UID, msg.Blob, err)
			}
			if err == nil {
				b.Close()
			}
			continue
		}
		if err != nil {
			t.Fatalf("message %d (UID %d): %v", i, msg.UID, err)
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil || string(data) != want {
			t.Errorf("message %d (UID %d): %q, %v; want %q", i, msg.UID, data, err, want)
		}
	}
	// Nothing to look up is no error.
	if _, err := m.(store.BodiesOpener).OpenBodies(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"postfach/internal/store"
)

// TestSpareBlobs: with SpareBlobs, appended messages read back, the blob
// directory holds exactly their files, and Close leaves nothing behind.
func TestSpareBlobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{SpareBlobs: 8})
	m, inbox, _ := setup(t, s)
	var uids []store.UID
	for i := range 40 {
		res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UIDs...)
	}
	if n := countBlobFiles(t, dir); n != 40 {
		t.Fatalf("%d blob files, want 40", n)
	}
	msgs, err := m.Messages(ctx, inbox.ID, store.UIDSetOf(uids...), store.FetchOptions{})
	if err != nil || len(msgs) != 40 {
		t.Fatalf("Messages: %d, %v", len(msgs), err)
	}
	for i, msg := range msgs {
		b, err := m.OpenBody(ctx, &msg)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, b.Size())
		b.ReadAt(buf, 0)
		b.Close()
		if want := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i); string(buf) != want {
			t.Fatalf("message %d: %q, want %q", i, buf, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countBlobFiles(t, dir); n != 40 {
		t.Fatalf("%d blob files after Close, want 40", n)
	}
}

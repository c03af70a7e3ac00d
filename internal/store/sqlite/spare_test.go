package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/blob"
	"postfach/internal/store"
)

// TestSpareBlobs: with SpareBlobs, appends take files made ahead; garbage
// collection removes the spares a crashed process left, without counting
// them as orphans; Close removes the store's own.
func TestSpareBlobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	spareDir := filepath.Join(dir, BlobDirName, blob.SpareDirName)
	// Spares of a process that died.
	if err := os.MkdirAll(spareDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(spareDir, fmt.Sprintf("deadbeef-%d", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := openTest(t, dir, Options{SpareBlobs: 8})
	lock, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	st, err := s.CollectGarbage(ctx, lock, GCOptions{MinAge: -1})
	if err != nil || st.Spares != 3 || st.Orphans != 0 {
		t.Fatalf("GC: %+v, %v; want 3 spares, no orphans", st, err)
	}
	m, inbox, _ := setup(t, s)
	var uids []store.UID
	for i := range 20 {
		res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UIDs...)
		if i == 0 {
			deadline := time.Now().Add(10 * time.Second)
			for n := countFiles(t, spareDir); n != 8; n = countFiles(t, spareDir) {
				if time.Now().After(deadline) {
					t.Fatalf("%d spares, want 8", n)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	msgs, err := m.Messages(ctx, inbox.ID, store.UIDSetOf(uids...), store.FetchOptions{})
	if err != nil || len(msgs) != 20 {
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
	if n := countFiles(t, spareDir); n != 0 {
		t.Fatalf("%d spares after Close", n)
	}
	if n := countBlobFiles(t, dir); n != 20 {
		t.Fatalf("%d blob files, want 20", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

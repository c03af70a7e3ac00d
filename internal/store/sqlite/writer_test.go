package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/blob"
	"postfach/internal/store"
)

// openFaulty opens a store in dir whose blobs go through a FaultFS, with
// one account; it returns the store (closed when the test ends), the
// FaultFS, the account's mail and its INBOX.
func openFaulty(t *testing.T, dir string) (*Store, *blob.FaultFS, store.Mail, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	ffs := blob.NewFaultFS(blob.OSFS())
	s := openTest(t, dir, Options{FS: ffs})
	t.Cleanup(func() { s.Close() })
	if _, err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, "alice@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	m := s.Mail(a.ID)
	inbox, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return s, ffs, m, inbox
}

// TestBlobSyncPipelined: an Append's blob is synced as soon as the
// Append is queued, while the writer still works on an earlier batch;
// its rows commit only once the blob's sync has returned.
func TestBlobSyncPipelined(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, ffs, m, inbox := openFaulty(t, dir)

	blobs := filepath.Join(dir, BlobDirName)
	syncing := make(chan string, 1)
	releaseSync := make(chan struct{})
	ffs.SetInject(func(op blob.Op, path string) error {
		if op == blob.OpSync && strings.HasPrefix(path, blobs) {
			syncing <- path
			<-releaseSync
		}
		return nil
	})

	// Hold the writer in an earlier batch.
	busy := make(chan struct{})
	release := make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.w.do(ctx, nil, func(*wtx) error {
			close(busy)
			<-release
			return nil
		})
	}()
	<-busy
	appended := make(chan error, 1)
	go func() {
		_, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: pipelined\r\n\r\nbody\r\n")}})
		appended <- err
	}()
	select {
	case <-syncing:
	case <-time.After(10 * time.Second):
		t.Fatal("the blob's sync did not start while the writer was busy")
	}
	close(release) // the earlier batch ends; the blob's sync is still held
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	ffs.SetInject(nil)
	select {
	case err := <-appended:
		t.Fatalf("Append returned (%v) before its blob was synced", err)
	case <-time.After(50 * time.Millisecond):
	}
	if st, _ := m.Status(ctx, inbox.ID); st.Messages != 0 {
		t.Fatalf("message committed before its blob was synced: %+v", st)
	}
	close(releaseSync)
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(ctx, inbox.ID); st.Messages != 1 {
		t.Fatalf("after the sync: %+v", st)
	}
}

// TestBlobSyncFailsBatch: when one Append's blob cannot be synced, its
// batch fails as a whole and nothing of it commits; the store goes on.
func TestBlobSyncFailsBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, ffs, m, inbox := openFaulty(t, dir)

	injected := errors.New("injected fsync failure")
	failed := make(chan struct{})
	ffs.SetInject(func(op blob.Op, path string) error {
		if op == blob.OpSync {
			// Hold the failure until the other op is queued behind it.
			<-failed
			return injected
		}
		return nil
	})
	busy := make(chan struct{})
	go s.w.do(ctx, nil, func(*wtx) error { close(busy); <-failed; return nil })
	<-busy
	appended := make(chan error, 1)
	go func() {
		_, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: doomed\r\n\r\nx\r\n")}})
		appended <- err
	}()
	// A write without blobs, queued behind it: the next batch takes both.
	waitQueued := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for len(s.w.ops) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d operations queued, want %d", len(s.w.ops), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitQueued(1)
	created := make(chan error, 1)
	go func() {
		_, err := m.CreateMailbox(ctx, "Projects", store.CreateOptions{})
		created <- err
	}()
	waitQueued(2)
	close(failed)
	if err := <-appended; !errors.Is(err, injected) {
		t.Fatalf("Append: %v, want the injected failure", err)
	}
	if err := <-created; !errors.Is(err, injected) {
		t.Fatalf("CreateMailbox in the failed batch: %v, want the injected failure", err)
	}
	ffs.SetInject(nil)
	if st, _ := m.Status(ctx, inbox.ID); st.Messages != 0 {
		t.Fatalf("message of a failed batch committed: %+v", st)
	}
	if _, err := m.Mailbox(ctx, "Projects"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mailbox of a failed batch: %v", err)
	}
	if n := countBlobFiles(t, dir); n != 0 {
		t.Errorf("%d blob files left by the failed batch", n)
	}
	if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: fine\r\n\r\nx\r\n")}}); err != nil {
		t.Fatal(err)
	}
}

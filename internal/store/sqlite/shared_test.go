package sqlite

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"postfach/internal/blob"
	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/storetest"
)

func TestConformanceSharedAppend(t *testing.T) {
	storetest.RunSharedAppend(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir(), Options{})
	})
}

// sharedFixture opens a store (blobs through ffs) with three accounts
// and returns the INBOX of each.
func sharedFixture(t *testing.T, dir string, opts Options) (*Store, []store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, dir, opts)
	t.Cleanup(func() { s.Close() })
	if _, err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	var inboxes []store.Mailbox
	for _, u := range []string{"alice", "bob", "carol"} {
		a, err := s.AddAccount(ctx, u+"@example.com", "")
		if err != nil {
			t.Fatal(err)
		}
		mb, err := s.Mail(a.ID).Mailbox(ctx, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		inboxes = append(inboxes, mb)
	}
	return s, inboxes
}

func targetsOf(mbs []store.Mailbox) []store.AppendTarget {
	out := make([]store.AppendTarget, len(mbs))
	for i, mb := range mbs {
		out[i] = store.AppendTarget{Account: mb.Account, Mailbox: mb.ID}
	}
	return out
}

// countRows counts the rows of a table, read after the last commit.
func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAppendSharedOneBlob: a message to three accounts is one blob file,
// one blobs row and one blob_text row (one preview, one document for the
// full-text index); each account's sessions hear of their copy; the file
// and rows go with the last message that refers to them.
func TestAppendSharedOneBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hub := notify.NewHub()
	s, inboxes := sharedFixture(t, dir, Options{Hub: hub})
	var subs []*notify.Subscription
	for _, mb := range inboxes {
		sub := hub.Subscribe(int64(mb.Account))
		defer sub.Close()
		subs = append(subs, sub)
	}
	out := s.AppendShared(ctx, targetsOf(inboxes), store.NewMessage{Body: strings.NewReader("Subject: one\r\n\r\nFor everyone.\r\n")})
	for i, o := range out {
		if o.Err != nil || o.UID != 1 {
			t.Fatalf("target %d: %+v", i, o)
		}
		// Published before AppendShared returned, to that account only.
		if p := subs[i].Take(); !p.Has(int64(inboxes[i].ID)) || len(p.Mailboxes) != 1 {
			t.Errorf("account %d heard %+v", inboxes[i].Account, p)
		}
	}
	if n := countBlobFiles(t, dir); n != 1 {
		t.Fatalf("%d blob files, want 1", n)
	}
	for _, table := range []string{"blobs", "blob_text"} {
		if n := countRows(t, s, table); n != 1 {
			t.Fatalf("%d %s rows, want 1", n, table)
		}
	}
	if n := countRows(t, s, "messages"); n != 3 {
		t.Fatalf("%d messages rows, want 3", n)
	}

	expunge := func(mb store.Mailbox) {
		t.Helper()
		m := s.Mail(mb.Account)
		if _, err := m.StoreFlags(ctx, mb.ID, store.AllUIDs(), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil {
			t.Fatal(err)
		}
		if gone, err := m.Expunge(ctx, mb.ID, nil); err != nil || len(gone) != 1 {
			t.Fatalf("Expunge: %v, %v", gone, err)
		}
	}
	expunge(inboxes[0])
	expunge(inboxes[1])
	if n := countBlobFiles(t, dir); n != 1 {
		t.Fatalf("%d blob files while carol's message refers to it, want 1", n)
	}
	for _, table := range []string{"blobs", "blob_text"} {
		if n := countRows(t, s, table); n != 1 {
			t.Fatalf("%d %s rows while carol's message refers to it, want 1", n, table)
		}
	}
	expunge(inboxes[2])
	if n := countBlobFiles(t, dir); n != 0 {
		t.Fatalf("%d blob files after the last expunge, want 0", n)
	}
	for _, table := range []string{"blobs", "blob_text"} {
		if n := countRows(t, s, table); n != 0 {
			t.Fatalf("%d %s rows after the last expunge, want 0", n, table)
		}
	}
}

// TestAppendSharedNoTargetStored: when no target takes the message, no
// blobs row is made and the file is removed.
func TestAppendSharedNoTargetStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inboxes := sharedFixture(t, dir, Options{})
	if err := s.SetQuota(ctx, "alice@example.com", store.Quota{Messages: 1}); err != nil {
		t.Fatal(err)
	}
	m := s.Mail(inboxes[0].Account)
	if _, err := m.Append(ctx, inboxes[0].ID, []store.NewMessage{{Body: strings.NewReader("Subject: first\r\n\r\nx\r\n")}}); err != nil {
		t.Fatal(err)
	}
	out := s.AppendShared(ctx, []store.AppendTarget{
		{Account: inboxes[0].Account, Mailbox: inboxes[0].ID},        // over quota
		{Account: inboxes[1].Account, Mailbox: inboxes[2].ID},        // not bob's
		{Account: inboxes[2].Account, Mailbox: inboxes[2].ID + 1000}, // not there
	}, store.NewMessage{Body: strings.NewReader("Subject: refused\r\n\r\nx\r\n")})
	if !errors.Is(out[0].Err, store.ErrOverQuota) || !errors.Is(out[1].Err, store.ErrNotFound) || !errors.Is(out[2].Err, store.ErrNotFound) {
		t.Fatalf("outcomes %+v", out)
	}
	if n := countBlobFiles(t, dir); n != 1 {
		t.Fatalf("%d blob files, want 1 (alice's first message)", n)
	}
	if n := countRows(t, s, "blobs"); n != 1 {
		t.Fatalf("%d blobs rows, want 1", n)
	}
}

// TestAppendSharedSyncs: the one blob is synced, with its directory,
// before AppendShared reports success; a failed fsync fails every target
// and leaves nothing behind.
func TestAppendSharedSyncs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := blob.NewFaultFS(blob.OSFS())
	s, inboxes := sharedFixture(t, dir, Options{FS: ffs})
	msg := func() store.NewMessage {
		return store.NewMessage{Body: strings.NewReader("Subject: durable\r\n\r\n" + strings.Repeat("line\r\n", 2000))}
	}
	// One message first, so that the day's directory exists (making it
	// syncs its parent too).
	if out := s.AppendShared(ctx, targetsOf(inboxes[:1]), msg()); out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	var mu sync.Mutex
	synced := map[blob.Op]map[string]bool{blob.OpSync: {}, blob.OpSyncDir: {}}
	ffs.SetInject(func(op blob.Op, path string) error {
		if op == blob.OpSync || op == blob.OpSyncDir {
			mu.Lock()
			synced[op][path] = true
			mu.Unlock()
		}
		return nil
	})
	out := s.AppendShared(ctx, targetsOf(inboxes), msg())
	ffs.SetInject(nil)
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("target %d: %v", i, o.Err)
		}
	}
	mu.Lock()
	if len(synced[blob.OpSync]) != 1 || len(synced[blob.OpSyncDir]) != 1 {
		t.Errorf("synced files %v and directories %v, want one of each", synced[blob.OpSync], synced[blob.OpSyncDir])
	}
	mu.Unlock()

	injected := errors.New("injected fsync failure")
	files := countBlobFiles(t, dir)
	ffs.SetInject(func(op blob.Op, path string) error {
		if op == blob.OpSync {
			return injected
		}
		return nil
	})
	out = s.AppendShared(ctx, targetsOf(inboxes), msg())
	ffs.SetInject(nil)
	for i, o := range out {
		if !errors.Is(o.Err, injected) {
			t.Errorf("target %d: %v, want the injected failure", i, o.Err)
		}
	}
	for i, mb := range inboxes {
		want := uint32(1)
		if i == 0 {
			want = 2
		}
		if st, err := s.Mail(mb.Account).Status(ctx, mb.ID); err != nil || st.Messages != want {
			t.Errorf("mailbox %d after a failed fsync: %+v, %v", mb.ID, st, err)
		}
	}
	if n := countBlobFiles(t, dir); n != files {
		t.Errorf("%d blob files after the failed fsync, %d before", n, files)
	}
}

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"postfach/internal/notify"
	"postfach/internal/store"
)

func setup(t *testing.T, s *Store) (store.Mail, store.Mailbox, store.AccountID) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.AddDomain(ctx, "example.com"); err != nil && !errors.Is(err, store.ErrExists) {
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
	return m, inbox, a.ID
}

// TestEvents: each committed change is published, after the commit.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	hub := notify.NewHub()
	s := openTest(t, t.TempDir(), Options{Hub: hub})
	defer s.Close()
	m, inbox, acct := setup(t, s)
	sub := hub.Subscribe(int64(acct))
	defer sub.Close()

	res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: x\r\n\r\nx\r\n")}})
	if err != nil {
		t.Fatal(err)
	}
	// Published before Append returned.
	p := sub.Take()
	if !p.Has(int64(inbox.ID)) || p.MailboxesChanged {
		t.Fatalf("after Append: %+v", p)
	}
	m.StoreFlags(ctx, inbox.ID, store.UIDSetOf(res.UIDs...), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	if p := sub.Take(); !p.Has(int64(inbox.ID)) {
		t.Fatalf("after StoreFlags: %+v", p)
	}
	// A STORE that changes nothing publishes nothing.
	m.StoreFlags(ctx, inbox.ID, store.UIDSetOf(res.UIDs...), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	if p := sub.Take(); !p.Empty() {
		t.Fatalf("after a no-op StoreFlags: %+v", p)
	}
	mb, _ := m.CreateMailbox(ctx, "Box", store.CreateOptions{})
	if p := sub.Take(); !p.MailboxesChanged {
		t.Fatalf("after CreateMailbox: %+v", p)
	}
	m.Move(ctx, inbox.ID, store.AllUIDs(), mb.ID)
	if p := sub.Take(); !p.Has(int64(inbox.ID)) || !p.Has(int64(mb.ID)) {
		t.Fatalf("after Move: %+v", p)
	}
	// A failed operation publishes nothing.
	m.CreateMailbox(ctx, "Box", store.CreateOptions{})
	if p := sub.Take(); !p.Empty() {
		t.Fatalf("after a failed CreateMailbox: %+v", p)
	}
	// Other accounts hear nothing.
	other := hub.Subscribe(int64(acct) + 1000)
	defer other.Close()
	s.RemoveAccount(ctx, "alice@example.com")
	if p := sub.Take(); !p.AccountRemoved {
		t.Fatalf("after RemoveAccount: %+v", p)
	}
	if p := other.Take(); !p.Empty() {
		t.Fatalf("another account heard %+v", p)
	}
}

func TestLockDataDir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDataDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	l.Close()
	l2, err := LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Close()
}

func TestCollectGarbage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: keep\r\n\r\nkeep\r\n")}})
	if err != nil {
		t.Fatal(err)
	}
	// An orphan: a committed blob no row refers to (a crash between blob
	// and row).
	w, _ := s.blobs.Create(ctx)
	w.Write([]byte("orphan"))
	w.Commit()
	// A trash entry whose file removal did not happen.
	w2, _ := s.blobs.Create(ctx)
	w2.Write([]byte("trash"))
	w2.Commit()
	if err := s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`INSERT INTO blob_trash (name) VALUES (?)`, w2.Name())
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.CollectGarbage(ctx, nil, GCOptions{MinAge: -1}); err == nil {
		t.Fatal("CollectGarbage ran without the lock")
	}
	other, _ := LockDataDir(t.TempDir())
	if _, err := s.CollectGarbage(ctx, other, GCOptions{MinAge: -1}); err == nil {
		t.Fatal("CollectGarbage ran with another directory's lock")
	}
	other.Close()
	lock, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	// Young orphans are spared by default: an admin command may be
	// appending.
	st, err := s.CollectGarbage(ctx, lock, GCOptions{})
	if err != nil || st.Orphans != 0 || st.Kept != 1 || st.Trash != 1 {
		t.Fatalf("GC with default age: %+v, %v", st, err)
	}
	st, err = s.CollectGarbage(ctx, lock, GCOptions{MinAge: -1})
	if err != nil || st.Orphans != 1 || st.Trash != 0 {
		t.Fatalf("GC: %+v, %v", st, err)
	}
	for _, n := range []string{w.Name(), w2.Name()} {
		if _, err := os.Stat(filepath.Join(dir, BlobDirName, n)); !os.IsNotExist(err) {
			t.Fatalf("blob %s survived GC: %v", n, err)
		}
	}
	msgs, _ := m.Messages(ctx, inbox.ID, store.UIDSetOf(res.UIDs...), store.FetchOptions{})
	if b, err := m.OpenBody(ctx, &msgs[0]); err != nil {
		t.Fatalf("referenced blob collected: %v", err)
	} else {
		b.Close()
	}
}

// TestTwoProcesses: the server and an admin command open one store; both
// write at once (SQLite's locks and busy_timeout, each with its own writer).
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server := openTest(t, dir, Options{})
	defer server.Close()
	admin := openTest(t, dir, Options{Hub: notify.NewHub()})
	defer admin.Close()
	m, inbox, _ := setup(t, server)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 30 {
			if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))}}); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 30 {
			if _, err := admin.AddDomain(ctx, fmt.Sprintf("d%d.example", i)); err != nil {
				errs <- err
				return
			}
			if _, err := admin.AddAccount(ctx, fmt.Sprintf("u@d%d.example", i), ""); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	accts, _ := server.Accounts(ctx, "")
	st, _ := admin.Mail(inbox.Account).Status(ctx, inbox.ID)
	if len(accts) != 31 || st.Messages != 30 {
		t.Fatalf("%d accounts, %d messages", len(accts), st.Messages)
	}
}

func TestOpenBadDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := Open(context.Background(), Options{Dir: f}); err == nil {
		t.Fatal("Open on a file succeeded")
	}
	if _, err := Open(context.Background(), Options{}); err == nil {
		t.Fatal("Open without a directory succeeded")
	}
}

func TestCRLFReader(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a\nb", "a\r\nb"},
		{"a\r\nb\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\rb", "a\rb"},
		{"a\r", "a\r"},
	} {
		var b strings.Builder
		// One byte at a time: CR and LF across reads.
		r := newCRLFReader(&oneByte{s: tc.in})
		buf := make([]byte, 3)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if b.String() != tc.want {
			t.Errorf("%q -> %q, want %q", tc.in, b.String(), tc.want)
		}
	}
}

type oneByte struct{ s string }

func (o *oneByte) Read(p []byte) (int, error) {
	if o.s == "" {
		return 0, errors.New("EOF")
	}
	p[0] = o.s[0]
	o.s = o.s[1:]
	return 1, nil
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	m, inbox, acct := setup(t, s)
	// No API sets quotas yet; the column is there and enforced.
	s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`UPDATE accounts SET quota_messages = 2 WHERE id = ?`, acct)
		return err
	})
	msg := func() []store.NewMessage {
		return []store.NewMessage{{Body: strings.NewReader("Subject: q\r\n\r\nq\r\n")}}
	}
	for range 2 {
		if _, err := m.Append(ctx, inbox.ID, msg()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Append(ctx, inbox.ID, msg()); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("third message: %v, want ErrOverQuota", err)
	}
	trash, _ := m.Mailbox(ctx, "Trash")
	if _, err := m.Copy(ctx, inbox.ID, store.AllUIDs(), trash.ID); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("copy over quota: %v", err)
	}
	if _, err := m.Move(ctx, inbox.ID, store.AllUIDs(), trash.ID); err != nil {
		t.Fatalf("move within quota: %v", err)
	}
}

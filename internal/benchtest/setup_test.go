package benchtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/server"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
	"postfach/internal/store/storetest"
)

// What the benchmarks' own servers and their data directories share.

// cachedFixture returns dir, a data directory that build fills once and
// that is kept across runs: a copy check finds complete is reused, a
// stale or broken one (an interrupted run, a schema change) is rebuilt.
// check reports an absent copy as os.ErrNotExist. The build runs beside
// dir and is renamed into place, so that a concurrent run never sees a
// half-built fixture; what names the fixture in errors.
func cachedFixture(dir, what string, check, build func(dir string) error) (string, error) {
	if err := check(dir); err == nil {
		return dir, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".build-")
	if err != nil {
		return "", err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("building %s: %w", what, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if check(dir) == nil {
			return dir, nil // another run won the race
		}
		return "", err
	}
	return dir, nil
}

// inboxSize is how many messages a fixture's account holds in INBOX.
type inboxSize struct {
	user     string
	messages uint32
}

// checkInboxes reports whether dir holds a store whose accounts have
// their INBOX filled as want says; an absent store is os.ErrNotExist.
func checkInboxes(dir string, want ...inboxSize) error {
	if _, err := os.Stat(filepath.Join(dir, sqlite.DBName)); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	for _, w := range want {
		m, inbox, err := userInbox(ctx, s, w.user)
		if err != nil {
			return err
		}
		st, err := m.Status(ctx, inbox)
		if err != nil {
			return err
		}
		if st.Messages != w.messages {
			return fmt.Errorf("%s: INBOX has %d messages, want %d", w.user, st.Messages, w.messages)
		}
	}
	return nil
}

// fillInbox adds the account user (password imaptest.Password) and
// appends n messages, msg(i), to its INBOX, from two appenders.
func fillInbox(ctx context.Context, s *sqlite.Store, user string, n int, msg func(i int) store.NewMessage) error {
	if err := imaptest.AddUser(ctx, s, user, imaptest.Password); err != nil {
		return err
	}
	m, inbox, err := userInbox(ctx, s, user)
	if err != nil {
		return err
	}
	return storetest.Fill(ctx, m, inbox, n, 2, msg)
}

// userInbox returns the mail of the account user and its INBOX.
func userInbox(ctx context.Context, s *sqlite.Store, user string) (store.Mail, store.MailboxID, error) {
	a, err := s.AccountByAddress(ctx, user)
	if err != nil {
		return nil, 0, err
	}
	m := s.Mail(a.ID)
	inbox, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		return nil, 0, err
	}
	return m, inbox.ID, nil
}

// startServer starts a server on the data directory dir for benchmarks:
// the listeners of listen (loopback, port 0), fsync on as in production,
// cheap password hashing so that logins do not dominate, logs discarded.
// adjust, when not nil, changes the configuration further.
func startServer(ctx context.Context, dir string, listen config.Listen, adjust func(*config.Config)) (*server.Server, error) {
	cfg := config.Default()
	cfg.Hostname = "mail.example.org"
	cfg.DataDir = dir
	cfg.Listen = listen
	cfg.Auth.Time, cfg.Auth.MemoryKiB, cfg.Auth.Threads = imaptest.CheapParams.Time, imaptest.CheapParams.MemoryKiB, imaptest.CheapParams.Threads
	if adjust != nil {
		adjust(cfg)
	}
	srv, err := server.New(cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		srv.Close()
		return nil, err
	}
	return srv, nil
}

// TestCachedFixture: an absent fixture is built, a complete one reused, a
// broken one rebuilt, a directory without one left alone, and a failed
// build leaves nothing behind.
func TestCachedFixture(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "fixture")
	marker := func(d string) string { return filepath.Join(d, "complete") }
	check := func(d string) error {
		b, err := os.ReadFile(marker(d))
		if err != nil {
			if _, serr := os.Stat(d); serr != nil {
				return serr // absent: os.ErrNotExist
			}
			return err
		}
		if string(b) != "ok" {
			return errors.New("broken")
		}
		return nil
	}
	builds := 0
	build := func(d string) error {
		builds++
		return os.WriteFile(marker(d), []byte("ok"), 0o644)
	}
	for _, step := range []struct {
		name   string
		before func()
		builds int
	}{
		{"absent", func() {}, 1},
		{"complete", func() {}, 1},
		{"broken", func() { os.WriteFile(marker(dir), []byte("half"), 0o644) }, 2},
	} {
		step.before()
		got, err := cachedFixture(dir, "the test fixture", check, build)
		if err != nil || got != dir {
			t.Fatalf("%s: %q, %v", step.name, got, err)
		}
		if builds != step.builds {
			t.Fatalf("%s: %d builds, want %d", step.name, builds, step.builds)
		}
		if err := check(dir); err != nil {
			t.Fatalf("%s: %v after cachedFixture", step.name, err)
		}
	}
	// A directory that holds no fixture at all is not ours to remove
	// (POSTFACH_BENCH_FIXTURE may name a wrong one): the build fails.
	os.Remove(marker(dir))
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := cachedFixture(dir, "the test fixture", check, build); err == nil {
		t.Fatal("a build replaced a directory without a fixture")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the directory's file: %q, %v", b, err)
	}
	os.RemoveAll(dir)
	failed := errors.New("disk full")
	_, err := cachedFixture(dir, "the test fixture", check, func(string) error { return failed })
	if !errors.Is(err, failed) || !strings.Contains(err.Error(), "building the test fixture") {
		t.Fatalf("failed build: %v", err)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Fatalf("a failed build left %v", left)
	}
}

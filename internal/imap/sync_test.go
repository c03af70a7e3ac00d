package imap_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

func TestChangesReachOtherSessions(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	a := imaptest.Login(t, env, "alice@example.org")
	b := imaptest.Login(t, env, "alice@example.org")
	a.Append("INBOX", "", imaptest.Message("one", "1"))
	a.Append("INBOX", "", imaptest.Message("two", "2"))
	a.Append("INBOX", "", imaptest.Message("three", "3"))
	a.MustOK("SELECT INBOX")
	b.MustOK("SELECT INBOX")

	a.Append("INBOX", "", imaptest.Message("four", "4"))
	a.MustOK(`STORE 1 +FLAGS (\Flagged)`)
	r := b.MustOK("NOOP")
	if !r.Has("4 EXISTS") || !r.Has(`1 FETCH (UID 1 FLAGS (\Flagged))`) {
		t.Fatalf("NOOP after changes: %s", r)
	}
	// The session that stored the flag does not hear its own change again.
	if r := a.MustOK("NOOP"); r.Has("FETCH") {
		t.Fatalf("own change echoed: %s", r)
	}

	// EXPUNGE is held back while a FETCH, STORE or SEARCH answers with
	// sequence numbers (RFC 9051 section 7.5.1)...
	a.MustOK(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	a.MustOK("EXPUNGE")
	r = b.MustOK("FETCH 1:4 UID")
	if r.Has("EXPUNGE") {
		t.Fatalf("EXPUNGE during FETCH: %s", r)
	}
	r = b.MustOK("SEARCH ALL")
	if r.Has("EXPUNGE") || r.Find("SEARCH") != "SEARCH 1 3 4" {
		t.Fatalf("SEARCH with a pending expunge: %s", r)
	}
	// ...but not from UID FETCH, and it comes with the next NOOP.
	r = b.MustOK("UID FETCH 1 UID")
	if !r.Has("2 EXPUNGE") {
		t.Fatalf("UID FETCH did not report EXPUNGE: %s", r)
	}
	if r := b.MustOK("FETCH 1:3 UID"); len(r.Untagged) != 3 || r.Untagged[2] != "3 FETCH (UID 4)" {
		t.Fatalf("renumbering after EXPUNGE: %s", r)
	}
}

func TestExpungeNumbering(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	a := imaptest.Login(t, env, "alice@example.org")
	b := imaptest.Login(t, env, "alice@example.org")
	for i := 0; i < 6; i++ {
		a.Append("INBOX", "", imaptest.Message("m", "x"))
	}
	a.MustOK("SELECT INBOX")
	b.MustOK("SELECT INBOX")
	a.MustOK(`STORE 2,3,5 +FLAGS.SILENT (\Deleted)`)
	r := a.MustOK("EXPUNGE")
	// Each EXPUNGE renumbers what follows: 2, then old 3 is now 2, then
	// old 5 is now 3.
	if strings.Join(r.Untagged, ",") != "2 EXPUNGE,2 EXPUNGE,3 EXPUNGE" {
		t.Fatalf("EXPUNGE: %s", r)
	}
	r = b.MustOK("NOOP")
	if strings.Join(r.Untagged, ",") != "2 EXPUNGE,2 EXPUNGE,3 EXPUNGE" {
		t.Fatalf("other session: %s", r)
	}
	if r := b.MustOK("FETCH 1:* UID"); len(r.Untagged) != 3 {
		t.Fatal(r)
	}
}

func TestRecent(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	a := imaptest.Login(t, env, "alice@example.org")
	a.Append("INBOX", "", imaptest.Message("new", "x"))
	r := a.MustOK("EXAMINE INBOX")
	if !r.Has("1 RECENT") {
		t.Fatalf("EXAMINE: %s", r)
	}
	r = a.MustOK("SELECT INBOX")
	if !r.Has("1 RECENT") {
		t.Fatalf("first SELECT: %s", r)
	}
	b := imaptest.Login(t, env, "alice@example.org")
	if r := b.MustOK("SELECT INBOX"); !r.Has("0 RECENT") {
		t.Fatalf("second session sees \\Recent: %s", r)
	}
	// A message arriving while selected is recent in exactly one session.
	b.Append("INBOX", "", imaptest.Message("newer", "y"))
	a.MustOK("NOOP")
	nRecent := 0
	for _, c := range []*imaptest.Client{a, b} {
		if r := c.MustOK("FETCH 2 FLAGS"); r.Has(`\Recent`) {
			nRecent++
		}
	}
	if nRecent != 1 {
		t.Fatalf("new message recent in %d sessions", nRecent)
	}
}

func TestIdlePush(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	idler := imaptest.Login(t, env, "alice@example.org")
	other := imaptest.Login(t, env, "alice@example.org")
	other.Append("INBOX", "", imaptest.Message("first", "1"))
	idler.MustOK("SELECT INBOX")
	if r := idler.Do("IDLE"); r.Status != "+" {
		t.Fatalf("IDLE: %s", r)
	}
	expect := func(what string, act func()) time.Duration {
		t.Helper()
		start := time.Now()
		act()
		for {
			line := idler.ReadLine()
			if strings.Contains(line, what) {
				return time.Since(start)
			}
			t.Logf("IDLE: %s (waiting for %q)", line, what)
		}
	}
	var worst time.Duration
	for _, step := range []struct {
		what string
		act  func()
	}{
		{"2 EXISTS", func() { other.Append("INBOX", "", imaptest.Message("pushed", "2")) }},
		{`FETCH (UID 1 FLAGS (\Seen`, func() { other.MustOK("SELECT INBOX"); other.MustOK(`STORE 1 +FLAGS (\Seen)`) }},
		{"1 EXPUNGE", func() { other.MustOK(`STORE 1 +FLAGS (\Deleted)`); other.MustOK("EXPUNGE") }},
	} {
		d := expect(step.what, step.act)
		worst = max(worst, d)
		if d > time.Second {
			t.Fatalf("push of %q took %v", step.what, d)
		}
	}
	t.Logf("slowest push (including the other client's command): %v", worst)
	idler.Write("DONE\r\n")
	if r := idler.Read("t3"); r.Status != "OK" {
		t.Fatalf("DONE: %s", r)
	}
	if r := idler.MustOK("FETCH 1 UID"); r.Untagged[0] != "1 FETCH (UID 2)" {
		t.Fatal(r)
	}
}

func TestIdleWithoutSelection(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	if r := c.Do("IDLE"); r.Status != "+" {
		t.Fatal(r)
	}
	c.Write("BOGUS\r\n")
	if r := c.Read("t2"); r.Status != "BAD" {
		t.Fatal(r)
	}
	c.MustOK("NOOP")
}

func TestAutologout(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.IdleTimeout = 500 * time.Millisecond
		cfg.Limits.LoginTimeout = 2 * time.Second
	}})
	pre := imaptest.Dial(t, env.IMAPS, true)
	if lines := pre.ExpectClosed(); len(lines) == 0 || !strings.HasPrefix(lines[0], "* BYE") {
		t.Fatalf("login timeout: %q", lines)
	}
	c := imaptest.Login(t, env, "alice@example.org")
	c.MustOK("SELECT INBOX")
	if r := c.Do("IDLE"); r.Status != "+" {
		t.Fatal(r)
	}
	if lines := c.ExpectClosed(); len(lines) == 0 || !strings.Contains(lines[0], "BYE Autologout") {
		t.Fatalf("IDLE timeout: %q", lines)
	}
}

func TestShutdownSaysBye(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	idler := imaptest.Login(t, env, "alice@example.org")
	idler.MustOK("SELECT INBOX")
	if r := idler.Do("IDLE"); r.Status != "+" {
		t.Fatal(r)
	}
	waiting := imaptest.Login(t, env, "bob@example.org")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.Server.IMAP.Shutdown(ctx) }()
	for _, c := range []*imaptest.Client{idler, waiting} {
		lines := c.ExpectClosed()
		if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "* BYE") {
			t.Fatalf("shutdown: %q", lines)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSelectedMailboxDeletedElsewhere(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	a := imaptest.Login(t, env, "alice@example.org")
	b := imaptest.Login(t, env, "alice@example.org")
	a.MustOK("CREATE Doomed")
	b.MustOK("SELECT Doomed")
	a.MustOK("DELETE Doomed")
	b.Write("x NOOP\r\n")
	if lines := b.ExpectClosed(); len(lines) == 0 || !strings.Contains(lines[0], "BYE") {
		t.Fatalf("session on a deleted mailbox: %q", lines)
	}
}

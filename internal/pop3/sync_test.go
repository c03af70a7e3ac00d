package pop3_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
	"postfach/internal/store"
)

// A second POP3 session on the maildrop gets [IN-USE] (RFC 1939 section
// 8, RFC 2449 section 8.1.2); IMAP works on the same INBOX meanwhile,
// and the lock is free the moment QUIT answers.
func TestInUseLockNeverBlocksIMAP(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	deliver(t, env, "alice@example.org", message("a"), message("b"), message("c"))
	first := pop3test.Login(t, env, "alice@example.org")
	first.OK("DELE 1")

	second := pop3test.Dial(t, env.POP3S, true)
	second.OK("USER alice@example.org")
	if e := second.Err("PASS " + imaptest.Password); !strings.HasPrefix(e, "[IN-USE] ") {
		t.Fatalf("second session: %q", e)
	}
	// The refusal is not a failed login: the session may try again.
	if e := second.Err("AUTH PLAIN " + plain("alice@example.org", imaptest.Password)); !strings.HasPrefix(e, "[IN-USE] ") {
		t.Fatalf("second session, AUTH: %q", e)
	}
	// Another account is not locked.
	deliver(t, env, "bob@example.org", message("for bob"))
	bob := pop3test.Login(t, env, "bob@example.org")

	im := imaptest.Login(t, env.Env, "alice@example.org")
	r := im.MustOK("SELECT INBOX")
	if !r.Has("3 EXISTS") {
		t.Fatalf("SELECT: %s", r)
	}
	im.MustOK("UID FETCH 1:* (FLAGS BODY.PEEK[])")
	im.MustOK("STORE 3 +FLAGS (\\Deleted)")
	im.MustOK("EXPUNGE")
	im.MustOK("LOGOUT")

	// The POP3 view is the snapshot; message 3, expunged over IMAP, may
	// still be retrieved while its body exists, or is reported gone.
	if l := first.Cmd("RETR 3"); strings.HasPrefix(l, "+OK") {
		if _, err := first.ReadBody(); err != nil {
			t.Fatal(err)
		}
	} else if !strings.Contains(l, "removed by another session") {
		t.Fatalf("RETR of a message expunged over IMAP: %q", l)
	}
	first.OK("DELE 3")
	first.OK("QUIT")
	// At once: no [IN-USE] for a client that reconnects right away.
	again := pop3test.Login(t, env, "alice@example.org")
	if lines := again.Lines("LIST"); len(lines) != 1 {
		t.Fatalf("LIST after both deletions: %q", lines)
	}
	again.OK("QUIT")
	bob.OK("QUIT")
}

// An IMAP client in IDLE sees the EXPUNGE of a POP3 deletion as soon as
// the POP3 session quits; one not idling sees it at its next command.
func TestIMAPSeesPOP3Deletion(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	deliver(t, env, "alice@example.org", message("a"), message("b"), message("c"))
	idler := imaptest.Login(t, env.Env, "alice@example.org")
	idler.MustOK("SELECT INBOX")
	other := imaptest.Login(t, env.Env, "alice@example.org")
	other.MustOK("SELECT INBOX")
	if r := idler.Do("IDLE"); r.Status != "+" {
		t.Fatalf("IDLE: %s", r)
	}

	c := pop3test.Login(t, env, "alice@example.org")
	c.OK("DELE 2")
	// Nothing before QUIT.
	idler.Conn().SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if l, err := readLineRaw(idler); err == nil {
		t.Fatalf("IMAP saw %q before the POP3 QUIT", l)
	}
	c.OK("QUIT")
	start := time.Now()
	if l := idler.ReadLine(); l != "* 2 EXPUNGE" {
		t.Fatalf("IDLE pushed %q, want * 2 EXPUNGE", l)
	}
	t.Logf("EXPUNGE reached IDLE %v after QUIT's answer", time.Since(start))
	idler.Write("DONE\r\n")
	if r := idler.Read("t3"); r.Status != "OK" {
		t.Fatalf("DONE: %s", r)
	}
	if r := other.MustOK("NOOP"); !r.Has("2 EXPUNGE") {
		t.Fatalf("NOOP after the POP3 deletion: %s", r)
	}
}

// readLineRaw reads a line without failing the test on a timeout.
func readLineRaw(c *imaptest.Client) (string, error) {
	buf := make([]byte, 1)
	var b strings.Builder
	for {
		if _, err := c.Conn().Read(buf); err != nil {
			return b.String(), err
		}
		if buf[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(buf[0])
	}
}

// Each deletion policy: expunge removes, trash moves to Trash, flag hides
// from POP3 and leaves IMAP's INBOX alone. An account's own policy wins.
func TestDeletePolicies(t *testing.T) {
	for _, tc := range []struct {
		server, account store.POP3Policy
		want            store.POP3Policy
	}{
		{"expunge", "", store.POP3Expunge},
		{"trash", "", store.POP3Trash},
		{"flag", "", store.POP3Hide},
		{"expunge", store.POP3Hide, store.POP3Hide},
		{"flag", store.POP3Trash, store.POP3Trash},
	} {
		t.Run(string(tc.server)+"/"+string(tc.account), func(t *testing.T) {
			env := pop3test.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
				cfg.POP3.DeletePolicy = string(tc.server)
			}})
			uids := deliver(t, env, "alice@example.org", message("a"), message("b"))
			m, _ := inbox(t, env, "alice@example.org")
			if tc.account != "" {
				if err := m.SetPOP3Policy(t.Context(), tc.account); err != nil {
					t.Fatal(err)
				}
			}
			c := pop3test.Login(t, env, "alice@example.org")
			c.OK("DELE 1")
			c.OK("QUIT")
			c = pop3test.Login(t, env, "alice@example.org")
			if n, _ := parseStat(t, c.OK("STAT")); n != 1 {
				t.Fatalf("POP3 sees %d messages after deleting one", n)
			}
			c.OK("QUIT")
			im := imaptest.Login(t, env.Env, "alice@example.org")
			r := im.MustOK("SELECT INBOX")
			trash := im.MustOK("STATUS Trash (MESSAGES)")
			switch tc.want {
			case store.POP3Expunge:
				if !r.Has("1 EXISTS") || !trash.Has("(MESSAGES 0)") {
					t.Fatalf("expunge: %s\n%s", r, trash)
				}
			case store.POP3Trash:
				if !r.Has("1 EXISTS") || !trash.Has("(MESSAGES 1)") {
					t.Fatalf("trash: %s\n%s", r, trash)
				}
			case store.POP3Hide:
				if !r.Has("2 EXISTS") || !trash.Has("(MESSAGES 0)") {
					t.Fatalf("flag: %s\n%s", r, trash)
				}
			}
			if got := inboxUIDs(t, env, "alice@example.org"); tc.want == store.POP3Hide && !slices.Equal(got, uids) {
				t.Fatalf("INBOX %v after hiding", got)
			}
		})
	}
}

// mark_seen flags what RETR retrieved, at QUIT; TOP does not count.
func TestMarkSeen(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.POP3.MarkSeen = true
	}})
	deliver(t, env, "alice@example.org", message("a"), message("b"), message("c"))
	c := pop3test.Login(t, env, "alice@example.org")
	c.Multi("RETR 1")
	c.Multi("TOP 2 0")
	c.Multi("RETR 3")
	c.OK("DELE 3")
	c.OK("QUIT")
	im := imaptest.Login(t, env.Env, "alice@example.org")
	im.MustOK("SELECT INBOX")
	r := im.MustOK("FETCH 1:* (FLAGS)")
	if len(r.Untagged) != 2 || !strings.Contains(r.Untagged[0], `\Seen`) || strings.Contains(r.Untagged[1], `\Seen`) {
		t.Fatalf("flags after POP3: %s", r)
	}

	// Without mark_seen, nothing changes.
	env = pop3test.Start(t, imaptest.Options{})
	deliver(t, env, "alice@example.org", message("a"))
	c = pop3test.Login(t, env, "alice@example.org")
	c.Multi("RETR 1")
	c.OK("QUIT")
	im = imaptest.Login(t, env.Env, "alice@example.org")
	im.MustOK("SELECT INBOX")
	if r := im.MustOK("FETCH 1 (FLAGS)"); strings.Contains(r.Untagged[0], `\Seen`) {
		t.Fatalf("flags without mark_seen: %s", r)
	}
}

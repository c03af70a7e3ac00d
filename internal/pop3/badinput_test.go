package pop3_test

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"postfach/internal/auth/scramclient"
	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
)

// Bad input gets -ERR with a reason, and the session goes on.
func TestBadInput(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxLineLength = 8192
	}})
	deliver(t, env, "alice@example.org", message("a"), message("b"))
	c := pop3test.Dial(t, env.POP3S, true)
	for _, tc := range []struct{ cmd, want string }{
		{"", "Empty command line"},
		{"FROB", "Unknown command: FROB"},
		{"\x00\x01garbage", "Malformed command name"},
		{"RETR 1", "RETR needs authentication first"},
		{"NOOP", "NOOP needs authentication first"},
		{"APOP alice@example.org 0123456789abcdef0123456789abcdef", "APOP is not offered (it rests on MD5); use USER and PASS, or AUTH, over TLS"},
		{"USER", "USER needs a user name"},
		{"PASS secret", "Send USER first"},
		{"USER " + strings.Repeat("x", 9000), "Line too long"},
		{"USER a\x00b", "Control character in command line"},
		{"USER \xc3\x28", "Command line is not valid UTF-8"},
		{"AUTH FROB", "Unsupported authentication mechanism"},
		{"AUTH PLAIN not!base64", "Invalid base64 in the initial response"},
		{"AUTH PLAIN a b", "AUTH takes a mechanism and an optional initial response"},
		{"STLS", "TLS is already active"},
		{"UTF8 now", "UTF8 takes no arguments"},
	} {
		if got := c.Err(tc.cmd); got != tc.want {
			t.Errorf("%.40q: -ERR %q, want %q", tc.cmd, got, tc.want)
		}
	}
	c.OK("USER alice@example.org")
	c.OK("PASS " + imaptest.Password)
	for _, tc := range []struct{ cmd, want string }{
		{"RETR", "RETR takes one message number"},
		{"RETR 0", "No such message; the maildrop has 2 messages"},
		{"RETR 3", "No such message; the maildrop has 2 messages"},
		{"RETR 99999999999", "RETR: invalid message number \"99999999999\""},
		{"RETR -1", "RETR: invalid message number \"-1\""},
		{"RETR one", "RETR: invalid message number \"one\""},
		{"RETR 1 2", "RETR takes one message number"},
		{"TOP 1", "TOP takes a message number and a number of lines"},
		{"TOP 1 -1", "TOP: invalid number of lines \"-1\""},
		{"TOP 9 1", "No such message; the maildrop has 2 messages"},
		{"DELE 3", "No such message; the maildrop has 2 messages"},
		{"LIST 1 2", "LIST takes at most one argument"},
		{"UIDL x", "UIDL: invalid message number \"x\""},
		{"STAT 1", "STAT takes no arguments"},
		{"RSET all", "RSET takes no arguments"},
		{"USER alice@example.org", "USER is not allowed once authenticated"},
		{"PASS x", "PASS is not allowed once authenticated"},
		{"AUTH PLAIN", "AUTH is not allowed once authenticated"},
		{"UTF8", "UTF8 is not allowed once authenticated"},
		{"LIST " + strings.Repeat("1", 9000), "Line too long"},
	} {
		if got := c.Err(tc.cmd); got != tc.want {
			t.Errorf("%.40q: -ERR %q, want %q", tc.cmd, got, tc.want)
		}
	}
	// Still usable, and nothing changed.
	if n, _ := parseStat(t, c.OK("STAT")); n != 2 {
		t.Fatalf("STAT after bad input: %d messages", n)
	}
	c.Multi("RETR 2")
	c.OK("QUIT")
	if n := len(inboxUIDs(t, env, "alice@example.org")); n != 2 {
		t.Fatalf("%d messages after bad input", n)
	}
}

// A flood of bad commands, or a line that never ends, closes the session.
func TestBadInputCloses(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxLineLength = 8192
	}})
	c := pop3test.Dial(t, env.POP3S, true)
	for range 19 {
		c.Err("FROB")
	}
	if e := c.Err("FROB"); e != "Unknown command: FROB; too many invalid commands, closing" {
		t.Fatalf("20th bad command: %q", e)
	}
	c.ExpectClosed()

	// A good command resets the count.
	c = pop3test.Dial(t, env.POP3S, true)
	for range 30 {
		c.Err("FROB")
		c.Lines("CAPA")
	}
	c.OK("QUIT")

	c = pop3test.Dial(t, env.POP3S, true)
	go func() {
		// An endless line: the server stops reading it and closes.
		chunk := strings.Repeat("x", 64<<10)
		for range 64 {
			if _, err := io.WriteString(c.Conn(), chunk); err != nil {
				return
			}
		}
	}()
	// The answer may be lost to the reset that closing a connection with
	// unread input causes; the close is what counts.
	if lines := c.ExpectClosed(); len(lines) > 1 || len(lines) == 1 && lines[0] != "-ERR Line too long; closing" {
		t.Fatalf("endless line: %q", lines)
	}
}

// Wrong passwords: -ERR [AUTH], and the third failure closes.
func TestAuthFailures(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	c := pop3test.Dial(t, env.POP3S, true)
	c.OK("USER alice@example.org")
	if e := c.Err("PASS wrong"); e != "[AUTH] Authentication failed" {
		t.Fatalf("wrong password: %q", e)
	}
	if e := c.Err("AUTH PLAIN " + plain("alice@example.org", "wrong")); e != "[AUTH] Authentication failed" {
		t.Fatalf("wrong password over AUTH: %q", e)
	}
	if e := c.Err("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("bob@example.org\x00alice@example.org\x00"+imaptest.Password))); !strings.HasPrefix(e, "[AUTH] Authorization identity") {
		t.Fatalf("another authzid: %q", e)
	}
	c.ExpectClosed()
	// The failures are the session's: a new one logs in.
	pop3test.Login(t, env, "alice@example.org").OK("QUIT")
}

// AUTH (RFC 5034): initial response, continuation, "=" for an empty
// initial response, "*" to cancel, LOGIN, the bare mechanism listing.
func TestAuthSASL(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	b64 := base64.StdEncoding.EncodeToString
	user, pass := "alice@example.org", imaptest.Password

	c := pop3test.Dial(t, env.POP3S, true)
	if lines := c.Lines("AUTH"); !slices.Contains(lines, "PLAIN") || !slices.Contains(lines, "LOGIN") {
		t.Fatalf("AUTH listing %q", lines)
	}
	if l := c.Cmd("AUTH PLAIN"); l != "+ " {
		t.Fatalf("AUTH PLAIN without initial response: %q", l)
	}
	if e := c.Err("*"); e != "Authentication cancelled" {
		t.Fatalf("cancel: %q", e)
	}
	if l := c.Cmd("AUTH PLAIN"); l != "+ " {
		t.Fatalf("AUTH PLAIN: %q", l)
	}
	if e := c.Err("%%%"); e != "Invalid base64 in the SASL response" {
		t.Fatalf("bad base64: %q", e)
	}
	if l := c.Cmd("auth plain"); l != "+ " {
		t.Fatalf("auth plain: %q", l)
	}
	if ok := c.OK(plain(user, pass)); !strings.HasPrefix(ok, "Logged in; 0 messages") {
		t.Fatalf("PLAIN after challenge: %q", ok)
	}
	c.OK("QUIT")

	c = pop3test.Dial(t, env.POP3S, true)
	c.OK("AUTH PLAIN " + plain(user, pass))
	c.OK("QUIT")

	c = pop3test.Dial(t, env.POP3S, true)
	if l := c.Cmd("AUTH LOGIN"); l != "+ "+b64([]byte("Username:")) {
		t.Fatalf("AUTH LOGIN: %q", l)
	}
	if l := c.Cmd(b64([]byte(user))); l != "+ "+b64([]byte("Password:")) {
		t.Fatalf("LOGIN user: %q", l)
	}
	c.OK(b64([]byte(pass)))
	c.OK("QUIT")

	// "=" is an empty initial response: PLAIN rejects it as malformed;
	// LOGIN takes an initial response as the user name.
	c = pop3test.Dial(t, env.POP3S, true)
	if e := c.Err("AUTH PLAIN ="); e != "Malformed PLAIN response" {
		t.Fatalf("AUTH PLAIN =: %q", e)
	}
	if l := c.Cmd("AUTH LOGIN " + b64([]byte(user))); l != "+ "+b64([]byte("Password:")) {
		t.Fatalf("AUTH LOGIN with initial response: %q", l)
	}
	c.OK(b64([]byte(pass)))
	c.OK("QUIT")
}

// Over STLS the same transaction works (port 110 in production).
func TestSTLSSession(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	raw := message("over stls")
	deliver(t, env, "alice@example.org", raw)
	c := pop3test.Dial(t, env.POP3, false)
	c.STLS()
	c.OK("USER alice@example.org")
	c.OK("PASS " + imaptest.Password)
	if _, body := c.Multi("RETR 1"); string(body) != raw {
		t.Fatalf("RETR over STLS: %q", body)
	}
	c.OK("DELE 1")
	c.OK("QUIT")
	if n := len(inboxUIDs(t, env, "alice@example.org")); n != 0 {
		t.Fatalf("%d messages left", n)
	}
}

// Commands sent in the clear behind STLS are not run over TLS.
func TestSTLSInjection(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	c := pop3test.Dial(t, env.POP3, false)
	c.Write("STLS\r\nUSER alice@example.org\r\n")
	if l := c.ReadLine(); l != "+OK Begin TLS negotiation" {
		t.Fatalf("STLS: %q", l)
	}
	c.ExpectClosed()
}

// UTF8 (RFC 6856): offered, accepted before login, and STLS is refused
// after it.
func TestUTF8(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	raw := "Subject: Grüße\r\nFrom: Jörg <jörg@example.org>\r\n\r\nÄrger über Öl\r\n"
	deliver(t, env, "alice@example.org", raw)
	c := pop3test.Dial(t, env.POP3, false)
	c.OK("UTF8")
	if e := c.Err("STLS"); e != "STLS is not allowed after UTF8" {
		t.Fatalf("STLS after UTF8: %q", e)
	}
	c = pop3test.Dial(t, env.POP3S, true)
	c.OK("UTF8")
	c.OK("USER alice@example.org")
	c.OK("PASS " + imaptest.Password)
	text, body := c.Multi("RETR 1")
	if string(body) != raw || text != strconv.Itoa(len(raw))+" octets" {
		t.Fatalf("RETR in UTF-8 mode: %q %q", text, body)
	}
	c.OK("QUIT")
}

// The autologout timer closes an idle session without applying anything
// (RFC 1939 section 3).
func TestAutologout(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.LoginTimeout = 300 * time.Millisecond
	}})
	c := pop3test.Dial(t, env.POP3S, true)
	if lines := c.ExpectClosed(); len(lines) != 1 || lines[0] != "-ERR Autologout; idle for too long" {
		t.Fatalf("autologout: %q", lines)
	}
}

// A client that goes away in the middle of a RETR leaves everything as
// it was, and frees the maildrop.
func TestDisconnectMidRETR(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("y", 998)+"\r\n", 8<<10)
	uids := deliver(t, env, "alice@example.org", big, message("small"))
	for range 3 {
		c := loginRetry(t, env, "alice@example.org")
		c.OK("DELE 2")
		c.Write("RETR 1\r\n")
		buf := make([]byte, 100<<10)
		if _, err := io.ReadFull(c.Conn(), buf); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	c := loginRetry(t, env, "alice@example.org")
	if n, size := parseStat(t, c.OK("STAT")); n != 2 || size != int64(len(big)+len(message("small"))) {
		t.Fatalf("STAT after broken sessions: %d %d", n, size)
	}
	if _, body := c.Multi("RETR 1"); string(body) != big {
		t.Fatalf("RETR 1 after broken sessions: %d octets", len(body))
	}
	c.OK("QUIT")
	if got := inboxUIDs(t, env, "alice@example.org"); len(got) != 2 || got[0] != uids[0] {
		t.Fatalf("INBOX %v", got)
	}
}

// Shutdown: a session waiting for a command is told and closed, and its
// deletions are not applied.
func TestShutdown(t *testing.T) {
	dir := t.TempDir()
	env := pop3test.Start(t, imaptest.Options{DataDir: dir})
	deliver(t, env, "alice@example.org", message("a"))
	c := pop3test.Login(t, env, "alice@example.org")
	c.OK("DELE 1")
	ctx, cancel := contextWithTimeout()
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.Server.Shutdown(ctx) }()
	if lines := c.ExpectClosed(); len(lines) != 1 || lines[0] != "-ERR [SYS/TEMP] Server shutting down; nothing was changed" {
		t.Fatalf("at shutdown: %q", lines)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	env = pop3test.Start(t, imaptest.Options{DataDir: dir, Users: []string{}})
	if n := len(inboxUIDs(t, env, "alice@example.org")); n != 1 {
		t.Fatalf("%d messages after the shutdown, want 1", n)
	}
}

// SCRAM-SHA-256 and -PLUS over AUTH: the server-final message goes out as
// a last challenge, answered with an empty line (RFC 5034 section 4).
func TestAuthSCRAM(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	// A password login stores the SCRAM keys.
	pop3test.Login(t, env, "alice@example.org").OK("QUIT")
	b64 := base64.StdEncoding.EncodeToString
	for _, binding := range []scramclient.Binding{scramclient.None, scramclient.TLSExporter, scramclient.TLSServerEndPoint} {
		t.Run(string(binding), func(t *testing.T) {
			c := pop3test.Dial(t, env.POP3S, true)
			state := c.Conn().(*tls.Conn).ConnectionState()
			cl := &scramclient.Client{User: "alice@example.org", Password: imaptest.Password, Binding: binding, TLS: &state}
			mech, ir, err := cl.Start()
			if err != nil {
				t.Fatal(err)
			}
			l := c.Cmd("AUTH " + mech + " " + b64(ir))
			for steps := 0; strings.HasPrefix(l, "+ ") && steps < 5; steps++ {
				challenge, err := base64.StdEncoding.DecodeString(l[2:])
				if err != nil {
					t.Fatalf("challenge %q: %v", l, err)
				}
				resp, err := cl.Next(challenge)
				if err != nil {
					t.Fatal(err)
				}
				l = c.Cmd(b64(resp))
			}
			if !strings.HasPrefix(l, "+OK Logged in") || !cl.Verified {
				t.Fatalf("%s: %q, server verified %v", mech, l, cl.Verified)
			}
			c.OK("QUIT")
		})
	}
}

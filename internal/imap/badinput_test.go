package imap_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// Bad input gets BAD or NO; the connection, the server and the data
// survive it.
func TestBadInputKeepsSessionUsable(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxLineLength = 8192
		cfg.Limits.MaxMessageSize = 4096
		cfg.Limits.MaxLiteralSize = 1024
	}})
	c := imaptest.Login(t, env, "alice@example.org")
	c.Append("INBOX", "", imaptest.Message("keep me", "safe"))
	c.MustOK("SELECT INBOX")

	lines := []string{
		"\x00\x01\x02 garbage",
		"no-command-here",
		"a1",
		"a2 FETCH",
		"a3 FETCH 1 (FLAGS",
		"a4 FETCH 1:x FLAGS",
		"a5 STORE 1 FLAGS (\\Bogus)",
		"a6 SEARCH (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((ALL",
		"a7 LOGIN x y",
		"a8 SELECT \"unterminated",
		"a9 FETCH 1 BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20]",
		"a10 \xff\xfe FETCH",
		"a11 " + strings.Repeat("x", 9000),
	}
	for _, l := range lines {
		c.Write(l + "\r\n")
		line := c.ReadLine()
		if !strings.Contains(line, " BAD ") && !strings.Contains(line, " NO ") && !strings.HasPrefix(line, "* BAD") {
			// a9 is valid syntax: a deep section that does not exist.
			if !strings.HasPrefix(line, "* 1 FETCH") {
				t.Fatalf("%q: got %q", l[:min(len(l), 30)], line)
			}
			c.ReadLine()
		}
	}
	// A literal over the limit is refused before the client sends it,
	// and the stream stays in step.
	r := c.Do("APPEND INBOX {5000}")
	if r.Status != "NO" || !strings.HasPrefix(r.Text, "[TOOBIG]") {
		t.Fatalf("oversized APPEND: %s", r)
	}
	// A non-synchronizing literal over the limit is read and dropped.
	c.Write(fmt.Sprintf("b1 APPEND INBOX {5000+}\r\n%s\r\n", strings.Repeat("y", 5000)))
	if r := c.Read("b1"); r.Status == "OK" {
		t.Fatalf("oversized LITERAL+ APPEND: %s", r)
	}
	c.Write(fmt.Sprintf("b2 SEARCH SUBJECT {2000+}\r\n%s\r\n", strings.Repeat("z", 2000)))
	if r := c.Read("b2"); r.Status != "BAD" {
		t.Fatalf("oversized search literal: %s", r)
	}
	r = c.MustOK("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	if !r.Has("keep me") {
		t.Fatalf("data lost: %s", r)
	}
}

func TestDisconnectMidLiteral(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.Write("a APPEND INBOX {1000+}\r\nFrom: half\r\n\r\nonly part of it")
	c.Close()
	// The half message never appears; the server goes on serving.
	d := imaptest.Login(t, env, "alice@example.org")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && env.Server.IMAP.Sessions() > 1 {
		time.Sleep(10 * time.Millisecond)
	}
	if s := d.MustOK("STATUS INBOX (MESSAGES)").Find("STATUS"); !strings.Contains(s, "MESSAGES 0") {
		t.Fatalf("half-sent message visible: %s", s)
	}
}

func TestOversizedLineResyncs(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxLineLength = 8192
	}})
	c := imaptest.Login(t, env, "alice@example.org")
	// An overlong line followed by a pipelined good command.
	c.Write("x1 NOOP " + strings.Repeat("a", 20000) + "\r\nx2 NOOP\r\n")
	if l := c.ReadLine(); !strings.Contains(l, "BAD") {
		t.Fatalf("overlong line: %q", l)
	}
	if r := c.Read("x2"); r.Status != "OK" {
		t.Fatalf("after overlong line: %s", r)
	}
}

package imap_test

import (
	"bufio"
	"compress/flate"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

// deletedUnderneath logs in two sessions of one account; the second
// selects a mailbox that the first then deletes, so that the second's
// next report of changes must say BYE.
func deletedUnderneath(t *testing.T) *imaptest.Client {
	t.Helper()
	env := imaptest.Start(t, imaptest.Options{})
	a := imaptest.Login(t, env, "alice@example.org")
	b := imaptest.Login(t, env, "alice@example.org")
	a.MustOK("CREATE Doomed")
	b.MustOK("SELECT Doomed")
	a.MustOK("DELETE Doomed")
	return b
}

const deletedBye = "* BYE The selected mailbox was deleted"

// Whatever the command and its own outcome, a BYE from the report of
// changes that follows it is the session's last line: no tagged response
// comes after it (RFC 9051 section 7.1.5), and the connection closes.
func TestReportByeEndsAnyCommand(t *testing.T) {
	for _, cmd := range []string{
		"NOOP",                      // reports itself
		"CAPABILITY",                // succeeds; the report comes after
		"STATUS Missing (MESSAGES)", // fails; the report comes after
		"LIST \"\" Doomed",          // succeeds, answering from the store
		"FETCH 1 FLAGS",             // sequence-bound; fails on an empty mailbox
		"BOGUS",                     // refused before the handler: no report
	} {
		t.Run(strings.Fields(cmd)[0], func(t *testing.T) {
			c := deletedUnderneath(t)
			c.Write("x " + cmd + "\r\n")
			if cmd == "BOGUS" {
				if r := c.Read("x"); r.Status != "BAD" {
					t.Fatalf("unknown command: %s", r)
				}
				c.Write("y NOOP\r\n")
			}
			lines := c.ExpectClosed()
			if len(lines) == 0 || lines[len(lines)-1] != deletedBye {
				t.Fatalf("%s on a deleted mailbox: %q, want %q last", cmd, lines, deletedBye)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "* ") {
					t.Fatalf("%s on a deleted mailbox: tagged line %q with the BYE", cmd, l)
				}
			}
		})
	}
}

// COMPRESS answers itself: its tagged OK is out before the report of
// changes, whose BYE then comes compressed, and the session must end
// after it rather than wait for the next command.
func TestReportByeAfterCompress(t *testing.T) {
	c := deletedUnderneath(t)
	c.Write("x COMPRESS DEFLATE\r\n")
	if r := c.Read("x"); r.Status != "OK" {
		t.Fatalf("COMPRESS: %s", r)
	}
	// The OK came in a TLS record of its own, flushed before
	// compression started: the client's buffer holds nothing beyond it.
	conn := c.Conn()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(bufio.NewReader(flate.NewReader(conn)))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the session went on after %q", rest)
	}
	if string(rest) != deletedBye+"\r\n" {
		t.Fatalf("after COMPRESS on a deleted mailbox: %q, want only the BYE", rest)
	}
}

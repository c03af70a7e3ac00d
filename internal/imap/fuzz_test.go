package imap_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// FuzzSession sends arbitrary bytes to a logged-in session with a
// mailbox selected. Whatever arrives, the server must answer with
// protocol responses only, never crash, and keep serving other sessions
// with their data intact.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"a NOOP\r\n",
		"a FETCH 1:* (FLAGS BODY.PEEK[] BODYSTRUCTURE ENVELOPE BINARY.PEEK[1]<0.10>)\r\n",
		"a UID SEARCH OR (FROM x) NOT (SUBJECT {3+}\r\nabc) RETURN (SAVE)\r\nb FETCH $ UID\r\n",
		"a APPEND INBOX (\\Seen) {10+}\r\n0123456789\r\nb EXPUNGE\r\n",
		"a STORE 1:* +FLAGS.SILENT (\\Deleted kw)\r\nb MOVE 1 Trash\r\nc COPY 2 Nope\r\n",
		"a CREATE x/y\r\nb RENAME x z\r\nc DELETE z/y\r\nd LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% *) RETURN (STATUS (MESSAGES SIZE))\r\n",
		"a IDLE\r\nDONE\r\nb SELECT Trash\r\nc CLOSE\r\n",
		"a APPEND INBOX {5}\r\n",
		"\x00\xff{9999999999}\r\n",
		"a ENABLE IMAP4rev2\r\nb SEARCH CHARSET UTF-8 TEXT \"\xc3\xa4\"\r\n",
		"a UID EXPUNGE 1:*\r\nb UNSELECT\r\nc LOGOUT\r\n",
	} {
		f.Add([]byte(seed))
	}
	env := imaptest.Start(f, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Auth.AllowPlaintextLoopback = true
		cfg.Limits.MaxMessageSize = 1 << 20
	}})
	// Bob's mail is the control: nothing done in alice's session may
	// touch it.
	bob := imaptest.Login(f, env, "bob@example.org")
	bob.Append("INBOX", "", imaptest.Message("control", "untouched"))
	bob.MustOK("EXAMINE INBOX")
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, input []byte) {
		mu.Lock()
		defer mu.Unlock()
		conn, err := net.Dial("tcp", env.IMAP)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		// Write and read at once: a client that only writes while the
		// server answers would deadlock both.
		go func() {
			io.WriteString(conn, "l LOGIN alice@example.org secret\r\ns SELECT INBOX\r\n")
			io.WriteString(conn, "p APPEND INBOX {26+}\r\nSubject: fuzz\r\n\r\nbody text\r\n")
			conn.Write(input)
			io.WriteString(conn, "\r\nzz LOGOUT\r\n")
		}()
		// Drain until the server closes or goes quiet; the session may
		// legitimately wait for a literal the input announced.
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, br)
		conn.Close()
		// The server lives on, and other accounts are untouched.
		if r := bob.For(t).MustOK("FETCH 1 BODY.PEEK[TEXT]"); !strings.Contains(r.Untagged[0], "untouched") {
			t.Fatalf("bob's message changed: %s", r)
		}
		c := imaptest.Login(t, env, "alice@example.org")
		c.MustOK("SELECT INBOX")
		c.MustOK("UID FETCH 1:* (FLAGS BODYSTRUCTURE)")
		c.Close()
	})
}

package pop3_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
)

// FuzzSession sends arbitrary bytes to a logged-in session. Whatever
// arrives, the server answers with CRLF-terminated lines only, never
// crashes, and keeps serving another account with its data intact.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"STAT\r\n",
		"LIST\r\nUIDL\r\nRETR 1\r\nTOP 2 3\r\n",
		"DELE 1\r\nRSET\r\nDELE 2\r\nLIST 2\r\nQUIT\r\n",
		"RETR 99999999999\r\nTOP 1 -1\r\nDELE 0\r\n",
		"CAPA\r\nAUTH PLAIN\r\n*\r\nUSER x\r\nPASS y\r\n",
		"\x00\xff RETR\r\n\r\n \r\nSTLS\r\nUTF8\r\n",
		"NOOP\nNOOP\rNOOP\r\n",
		"RETR 1",
		// The final answer once died in the reset of a close with unread
		// input (the client's close_notify behind QUIT).
		"DELE 2\nQUIT\r\n",
	} {
		f.Add([]byte(seed))
	}
	env := pop3test.Start(f, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxLineLength = 8192
	}})
	deliver(f, env, "bob@example.org", message("bob's"), message("bob's second"))
	bob := pop3test.Login(f, env, "bob@example.org")
	bobList := bob.Lines("UIDL")
	bob.OK("QUIT")

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(inboxUIDs(t, env, "alice@example.org")) < 3 {
			deliver(t, env, "alice@example.org", message("a"), message("b"), "Subject: c\r\n\r\n.dot\r\nno end")
		}
		c := loginRetry(t, env, "alice@example.org")
		conn := c.Conn().(*tls.Conn)
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := conn.Write(data); err != nil {
			t.Fatal(err)
		}
		conn.CloseWrite()
		out, err := io.ReadAll(conn)
		if err != nil {
			t.Fatalf("reading answers to %q: %v", data, err)
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("answer to %q does not end with CRLF: %q", data, out)
		}
		for _, l := range bytes.SplitAfter(out, []byte("\n")) {
			if len(l) > 0 && !bytes.HasSuffix(l, []byte("\r\n")) {
				t.Fatalf("bare LF in the answer to %q: %q", data, out)
			}
		}
		b := loginRetry(t, env, "bob@example.org")
		if got := b.Lines("UIDL"); len(got) != len(bobList) || got[0] != bobList[0] || got[1] != bobList[1] {
			t.Fatalf("bob's maildrop changed: %q, was %q", got, bobList)
		}
		b.OK("QUIT")
	})
}

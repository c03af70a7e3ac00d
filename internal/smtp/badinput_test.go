package smtp

import (
	"strings"
	"testing"
)

// Every malformed input gets a 5xx with an enhanced code, and the session
// goes on.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxMessageSize: 4096, MaxCommandLength: 1024}})
	start := func(t *testing.T) *client {
		c := e.dial(MX)
		c.t = t
		c.expect("220 ")
		c.do("EHLO client.example", "250 ")
		return c
	}

	t.Run("overlong lines", func(t *testing.T) {
		c := start(t)
		c.do("NOOP "+strings.Repeat("x", 1100), "500 5.5.2 Line too long")
		c.do("MAIL FROM:<"+strings.Repeat("a", 5000)+"@remote.test>", "500 5.5.2 Line too long")
		// Far beyond any buffer, arriving in pieces.
		c.send("RCPT TO:<")
		for range 100 {
			c.send(strings.Repeat("y", 10000))
		}
		c.do(">", "500 5.5.2 Line too long")
		c.do("NOOP", "250")
		c.do("MAIL FROM:<bob@remote.test>", "250")
		c.do("RCPT TO:<alice@example.org>", "250")
		// Message data has no line limit.
		c.data("Subject: long\r\n\r\n"+strings.Repeat("z", 3000)+"\r\n", "250 2.0.0")
	})

	t.Run("bare LF and CR", func(t *testing.T) {
		c := start(t)
		for _, body := range []string{
			"Subject: x\n\nbare LF\r\n",
			"Subject: x\r\n\r\nbare CR\r in a line\r\n",
			// SMTP smuggling: a next hop that ends data at "\n.\n" or
			// "\r.\r" would see a second message from us.
			"Subject: x\r\n\r\nhello\n.\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nsmuggled\r\n",
			"Subject: x\r\n\r\nhello\r.\rMAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nsmuggled\r\n",
			"Subject: x\r\n\r\nhello\r\n.\nMAIL FROM:<admin@example.org>\r\n",
		} {
			c.do("MAIL FROM:<bob@remote.test>", "250")
			c.do("RCPT TO:<bob@example.org>", "250")
			c.do("DATA", "354")
			c.send(body + ".\r\n")
			c.expect("550 5.6.0")
		}
		c.do("NOOP", "250")
		if n := len(e.mailbox("bob@example.org", "INBOX")); n != 0 {
			t.Fatalf("bob received %d messages", n)
		}
		// A bare CR in a BDAT chunk too.
		c.do("MAIL FROM:<bob@remote.test>", "250")
		c.do("RCPT TO:<bob@example.org>", "250")
		c.send("BDAT 12 LAST\r\nSubject: x\r\r")
		c.expect("550 5.6.0")
		c.do("NOOP", "250")
	})

	t.Run("sizes", func(t *testing.T) {
		c := start(t)
		c.do("MAIL FROM:<bob@remote.test> SIZE=5000", "552 5.3.4")
		c.do("MAIL FROM:<bob@remote.test> SIZE=4000", "250")
		c.do("RCPT TO:<alice@example.org>", "250")
		c.data("Subject: big\r\n\r\n"+strings.Repeat("0123456789\r\n", 500), "552 5.3.4")
		c.do("MAIL FROM:<bob@remote.test>", "250")
		c.do("RCPT TO:<alice@example.org>", "250")
		c.send("BDAT 5000 LAST\r\n" + strings.Repeat("x", 5000))
		c.expect("552 5.3.4")
		c.do("NOOP", "250")
	})

	t.Run("sequence", func(t *testing.T) {
		c := e.dial(MX)
		c.t = t
		c.expect("220 ")
		c.do("MAIL FROM:<bob@remote.test>", "502 5.5.1") // before EHLO
		c.do("EHLO client.example", "250 ")
		c.do("RCPT TO:<alice@example.org>", "502 5.5.1")
		c.do("DATA", "502 5.5.1")
		c.send("BDAT 10 LAST\r\n0123456789")
		c.expect("502 5.5.1")
		c.do("MAIL FROM:<bob@remote.test>", "250")
		c.do("MAIL FROM:<bob@remote.test>", "503 5.5.1")
		c.do("DATA", "502 5.5.1")
		c.do("RSET", "250")
		c.do("VRFY alice", "252")
		c.do("EXPN staff", "502 5.5.1")
		c.do("NOOP", "250")
	})

	t.Run("syntax", func(t *testing.T) {
		c := start(t)
		c.do("MAIL FROM:bob", "501 5.5.2")
		c.do("MAIL FROM:<bob@remote.test> FOO=BAR", "500 5.5.4")
		c.do("MAIL FROM:<bob@remote..test>", "553 5.1.7")
		c.do("NOOP", "250")
		d := start(t)
		d.do("XYZZY", "501 5.5.2")
		d.do("XYZZ Y", "500 5.5.2")
		d.do("MAIL FROM:<bob@remote.test>", "250")
		d.do("RCPT TO:<alice@example.org> NOTIFY=SOMETIMES", "501 5.5.4")
		d.do("RCPT TO:<alice@exa mple.org>", "501 5.5.2")
		d.do("RCPT TO:<alice@example.org>", "250")
	})
}

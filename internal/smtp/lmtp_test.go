package smtp

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLMTPPerRecipient(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial(LMTP)
	c.expect("220 " + testHost + " LMTP")
	c.do("EHLO client.example", "500 5.5.1") // RFC 2033 section 4.1: LHLO
	caps := capabilities(c.do("LHLO mta.example", "250 "))
	for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES"} {
		if !caps[want] {
			t.Errorf("LHLO lacks %s: %v", want, caps)
		}
	}
	for _, not := range []string{"STARTTLS", "AUTH", "REQUIRETLS"} {
		if caps[not] {
			t.Errorf("LHLO offers %s", not)
		}
	}
	c.do("STARTTLS", "502 5.5.1")
	c.do("MAIL FROM:<x@remote.test>", "250")
	c.do("RCPT TO:<alice@example.org>", "250")
	c.do("RCPT TO:<nobody@example.org>", "550 5.1.1")
	c.do("RCPT TO:<carol@example.net>", "250")
	c.do("RCPT TO:<bob@example.org>", "250")
	c.do("RCPT TO:<alice+dup@example.org>", "250")
	if err := e.st.RemoveAccount(t.Context(), "carol@example.net"); err != nil {
		t.Fatal(err)
	}
	c.do("DATA", "354")
	c.send(dotStuff(testMessage("x@remote.test", "alice@example.org", "lmtp")) + ".\r\n")
	// RFC 2033 section 4.2: one reply per accepted RCPT, in order.
	for _, want := range []string{"250 2.0.0 <alice@example.org> Delivered", "550 5.1.1", "250 2.0.0 <bob@example.org> Delivered", "250 2.0.0 <alice+dup@example.org>"} {
		c.expect(want)
	}
	a := e.mailbox("alice@example.org", "INBOX")
	if len(a) != 1 || !strings.Contains(a[0], " with LMTP id ") || strings.Contains(a[0], "Authentication-Results") {
		t.Fatalf("alice has %q", a)
	}
	if n := len(e.mailbox("bob@example.org", "INBOX")); n != 1 {
		t.Fatalf("bob has %d messages", n)
	}
	if len(e.verifier.calls) != 0 || len(e.queue.all()) != 0 {
		t.Fatalf("LMTP verified (%d) or queued (%d)", len(e.verifier.calls), len(e.queue.all()))
	}
	// BDAT gets one reply per recipient too.
	c.do("MAIL FROM:<x@remote.test>", "250")
	c.do("RCPT TO:<alice@example.org>", "250")
	c.do("RCPT TO:<bob@example.org>", "250")
	body := "Subject: chunk\r\n\r\nx\r\n"
	c.send("BDAT " + itoa(len(body)) + " LAST\r\n" + body)
	c.expect("250 2.0.0 <alice@example.org>")
	c.expect("250 2.0.0 <bob@example.org>")
	c.do("QUIT", "221")
}

func TestLMTPTrustedNetworks(t *testing.T) {
	e := newEnv(t, envOptions{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, unix: true})
	c := e.dial(LMTP)
	c.expect("554 5.7.1")
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.br.ReadByte(); err == nil {
		t.Fatal("the connection stayed open")
	}
	// A unix socket is trusted whatever the networks.
	uc, err := net.Dial("unix", e.unixSock)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	u := &client{t: t, conn: uc, br: bufio.NewReader(uc)}
	u.expect("220 ")
	u.do("LHLO mta.example", "250 ")
	u.do("MAIL FROM:<x@remote.test>", "250")
	u.do("RCPT TO:<alice@example.org>", "250")
	u.data(testMessage("x@remote.test", "alice@example.org", "unix"), "250 2.0.0 <alice@example.org>")
	got := e.mailbox("alice@example.org", "INBOX")
	if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <x@remote.test>\r\nReceived: from mta.example (unix socket)\r\n\tby "+testHost+" (postfach) with LMTP id ") {
		t.Fatalf("stored %q", got)
	}
}

package smtp

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func capabilities(ehlo string) map[string]bool {
	caps := map[string]bool{}
	for _, l := range strings.Split(strings.TrimRight(ehlo, "\r\n"), "\r\n")[1:] {
		kw, _, _ := strings.Cut(l[4:], " ")
		caps[kw] = true
	}
	return caps
}

func TestMXCapabilities(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial(MX)
	c.expect("220 " + testHost + " ESMTP")
	caps := capabilities(c.do("EHLO client.example", "250 "))
	for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS"} {
		if !caps[want] {
			t.Errorf("EHLO lacks %s: %v", want, caps)
		}
	}
	for _, not := range []string{"AUTH", "REQUIRETLS", "BINARYMIME"} {
		if caps[not] {
			t.Errorf("EHLO on the MX before TLS offers %s", not)
		}
	}
	c.startTLS()
	// RFC 3207 section 4.2: EHLO again before anything else.
	c.do("MAIL FROM:<bob@remote.test>", "503 5.5.1")
	caps = capabilities(c.do("EHLO client.example", "250 "))
	if caps["STARTTLS"] || !caps["REQUIRETLS"] || caps["AUTH"] {
		t.Errorf("EHLO on the MX after TLS: %v", caps)
	}
	c.do("STARTTLS", "503 5.5.1")
	c.do("QUIT", "221")
}

func TestMXDelivers(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial(MX)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.startTLS()
	c.do("EHLO client.example", "250 ")
	c.do("MAIL FROM:<bob@remote.test> SIZE=500", "250 2.0.0")
	c.do("RCPT TO:<alice@example.org>", "250 2.0.0")
	c.do("RCPT TO:<Alice+News@EXAMPLE.org>", "250 2.0.0") // the same mailbox
	msg := "Authentication-Results: " + testHost + "; dkim=pass (forged)\r\n" +
		"Authentication-Results: other.example; spf=pass\r\n" +
		testMessage("bob@remote.test", "alice@example.org", "hello") + ".leading dot\r\n"
	c.data(msg, "250 2.0.0 Delivered")
	got := e.mailbox("alice@example.org", "INBOX")
	if len(got) != 1 {
		t.Fatalf("INBOX holds %d messages", len(got))
	}
	m := got[0]
	for _, want := range []string{
		"Return-Path: <bob@remote.test>\r\nReceived: from client.example ([127.0.0.1])\r\n\tby " + testHost + " (postfach) with ESMTPS id ",
		"\r\n\t(version=TLS1.3 cipher=TLS_AES_128_GCM_SHA256) tls TLS_AES_128_GCM_SHA256;\r\n\t",
		"Authentication-Results: " + testHost + "; spf=pass smtp.mailfrom=bob@remote.test\r\n",
		"Authentication-Results: other.example; spf=pass\r\n",
		"\r\n.leading dot\r\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("stored message lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "(forged)") {
		t.Errorf("an Authentication-Results field in our name survived:\n%s", m)
	}
	if strings.Contains(m, "for <") {
		t.Errorf("Received names a recipient of a message to several:\n%s", m)
	}
	// The verifier saw the message as received, before our fields.
	in := e.verifier.calls[0]
	if in.MailFrom != "bob@remote.test" || in.HELO != "client.example" || in.RemoteIP.String() != "127.0.0.1" || in.Size != int64(len(dotStuff(msg)))-1 {
		t.Errorf("verifier input %+v (size of message %d)", in, len(msg))
	}
	// The session goes on.
	c.do("MAIL FROM:<> ", "250")
	c.do("RCPT TO:<bob@example.org>", "250")
	c.data("Subject: bounce\r\n\r\nx\r\n", "250 2.0.0")
	b := e.mailbox("bob@example.org", "INBOX")
	if len(b) != 1 || !strings.HasPrefix(b[0], "Return-Path: <>\r\nReceived: ") || !strings.Contains(b[0], "for <bob@example.org>") {
		t.Errorf("bounce stored as %q", b)
	}
	c.do("QUIT", "221 2.0.0")
}

func TestMXRecipients(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxRecipients: 3}})
	c := e.dial(MX)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.do("MAIL FROM:<bob@remote.test>", "250")
	c.do("RCPT TO:<nobody@example.org>", "550 5.1.1")
	c.do("RCPT TO:<someone@remote.test>", "550 5.7.1")
	c.do("RCPT TO:<x@[127.0.0.1]>", "550 5.7.1")
	c.do("RCPT TO:<bad address>", "501 5.5.2")
	c.do("RCPT TO:<a@b..c>", "501 5.1.3")
	c.do("RCPT TO:<jörg@example.org>", "553 5.6.7") // no SMTPUTF8
	c.do("RCPT TO:<alice@example.org>", "250")
	c.do("RCPT TO:<postmaster@example.net>", "250") // RFC 5321 section 4.5.1
	c.do("RCPT TO:<sales@example.org>", "250")      // alice, and friend@remote.test through the queue
	c.do("RCPT TO:<bob@example.org>", "452 4.5.3")
	c.data(testMessage("bob@remote.test", "sales@example.org", "to many"), "250 2.0.0 Accepted for delivery")
	if n := len(e.mailbox("alice@example.org", "INBOX")); n != 1 {
		t.Errorf("alice has %d messages, want 1 (direct and through the alias)", n)
	}
	if n := len(e.mailbox("postmaster@example.org", "INBOX")); n != 1 {
		t.Errorf("postmaster has %d messages", n)
	}
	q := e.queue.all()
	if len(q) != 1 || strings.Join(q[0].env.To, ",") != "friend@remote.test" || q[0].env.From != "bob@remote.test" || q[0].env.Account != "" {
		t.Fatalf("queued %+v", q)
	}
	if !strings.HasPrefix(q[0].body, "Received: from client.example") || !strings.Contains(q[0].body, "Subject: to many") {
		t.Errorf("queued body %q", q[0].body)
	}
}

func TestMXSMTPUTF8(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	if _, err := e.st.AddAccount(ctx, "jörg@example.org", ""); err != nil {
		t.Fatal(err)
	}
	c := e.dial(MX)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.do("MAIL FROM:<müller@remote.test>", "553 5.6.7")
	c.do("MAIL FROM:<müller@remote.test> SMTPUTF8", "250")
	c.do("RCPT TO:<jörg@example.org>", "250")
	c.data("From: müller@remote.test\r\nSubject: grüße\r\n\r\nhallo\r\n", "250")
	got := e.mailbox("jörg@example.org", "INBOX")
	if len(got) != 1 || !strings.Contains(got[0], " with UTF8SMTP id ") || !strings.HasPrefix(got[0], "Return-Path: <müller@remote.test>") {
		t.Fatalf("stored %q", got)
	}
}

func TestMXAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial(MX)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.do("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", "502 5.7.0")
	for _, tc := range []struct{ from, want string }{
		{"x@reject.test", "550 5.7.1 DMARC policy of reject.test says reject"},
		{"x@defer.test", "451 4.7.5"},
		{"x@quarantine.test", "250 2.0.0"},
	} {
		c.do("MAIL FROM:<"+tc.from+">", "250")
		c.do("RCPT TO:<bob@example.org>", "250")
		c.data(testMessage(tc.from, "bob@example.org", tc.from), tc.want)
	}
	if n := len(e.mailbox("bob@example.org", "INBOX")); n != 0 {
		t.Errorf("INBOX has %d messages", n)
	}
	junk := e.mailbox("bob@example.org", "Junk")
	if len(junk) != 1 || !strings.Contains(junk[0], "Subject: x@quarantine.test") {
		t.Errorf("Junk holds %q", junk)
	}
}

func TestMXLocalFailures(t *testing.T) {
	// A recipient's account goes between RCPT and DATA. With a queue the
	// copy goes there (the queue bounces it with a DSN) and the reply is
	// 250; without one, a message for nobody else is refused, and one
	// that others received is not sent again for the lost copy.
	for _, noQueue := range []bool{false, true} {
		e := newEnv(t, envOptions{noQueue: noQueue})
		c := e.dial(MX)
		c.expect("220 ")
		c.do("EHLO client.example", "250 ")
		c.do("MAIL FROM:<x@remote.test>", "250")
		c.do("RCPT TO:<carol@example.net>", "250")
		if err := e.st.RemoveAccount(t.Context(), "carol@example.net"); err != nil {
			t.Fatal(err)
		}
		want := "250 2.0.0"
		if noQueue {
			want = "550 5.1.1"
		}
		c.data(testMessage("x@remote.test", "carol@example.net", "gone"), want)
		c.do("MAIL FROM:<x@remote.test>", "250")
		c.do("RCPT TO:<alice@example.org>", "250")
		c.do("RCPT TO:<bob@example.org>", "250")
		if err := e.st.RemoveAccount(t.Context(), "bob@example.org"); err != nil {
			t.Fatal(err)
		}
		c.data(testMessage("x@remote.test", "alice@example.org", "half"), "250 2.0.0")
		if n := len(e.mailbox("alice@example.org", "INBOX")); n != 1 {
			t.Errorf("alice has %d messages", n)
		}
		if noQueue {
			continue
		}
		q := e.queue.all()
		if len(q) != 2 || q[0].env.To[0] != "carol@example.net" || q[1].env.To[0] != "bob@example.org" || len(q[1].env.To) != 1 {
			t.Errorf("queued %+v", q)
		}
	}
}

func TestMXBDAT(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxCommandLength: 512}})
	c := e.dial(MX)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.do("MAIL FROM:<bob@remote.test> BODY=8BITMIME", "250")
	c.do("RCPT TO:<alice@example.org>", "250")
	// A chunk is raw: a line far over the command limit, and a line that
	// is just "." pass untouched.
	long := strings.Repeat("x", 3000)
	part1 := "Subject: chunked\r\n\r\n" + long + "\r\n.\r\n"
	part2 := "BDAT 5 LAST is not a command here\r\n"
	c.send("BDAT " + itoa(len(part1)) + "\r\n" + part1)
	c.expect("250 2.0.0")
	c.send("BDAT " + itoa(len(part2)) + " LAST\r\n" + part2)
	c.expect("250 2.0.0")
	got := e.mailbox("alice@example.org", "INBOX")
	if len(got) != 1 || !strings.HasSuffix(got[0], "\r\n\r\n"+long+"\r\n.\r\n"+part2) {
		t.Fatalf("stored %q", got)
	}
	c.do("NOOP", "250")
}

func TestShutdown(t *testing.T) {
	e := newEnv(t, envOptions{})
	idle := e.dial(MX)
	idle.expect("220 ")
	idle.do("EHLO idle.example", "250 ")
	busy := e.dial(MX)
	busy.expect("220 ")
	busy.do("EHLO busy.example", "250 ")
	busy.do("MAIL FROM:<bob@remote.test>", "250")
	busy.do("RCPT TO:<alice@example.org>", "250")
	done := make(chan error, 1)
	go func() { done <- e.srv.Shutdown(t.Context()) }()
	// The idle session is told at once; the busy one finishes its
	// message first.
	idle.expect("421 4.3.2")
	time.Sleep(50 * time.Millisecond)
	busy.data(testMessage("bob@remote.test", "alice@example.org", "last"), "250 2.0.0")
	busy.expect("421 4.3.2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(e.mailbox("alice@example.org", "INBOX")); n != 1 {
		t.Errorf("alice has %d messages", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

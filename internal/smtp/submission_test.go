package smtp

import (
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"postfach/internal/auth"
)

func plainAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// login opens a submission session on 587 with STARTTLS and AUTH PLAIN.
func (e *testEnv) login(user string) *client {
	e.t.Helper()
	c := e.dial(Submission)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.startTLS()
	c.do("EHLO client.example", "250 ")
	c.do("AUTH PLAIN "+plainAuth(user, testPassword), "235 2.0.0")
	return c
}

func TestSubmissionNeedsTLSAndAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial(Submission)
	c.expect("220 ")
	caps := capabilities(c.do("EHLO client.example", "250 "))
	if caps["AUTH"] || !caps["STARTTLS"] || caps["REQUIRETLS"] {
		t.Fatalf("EHLO before TLS: %v", caps)
	}
	// RFC 3207 section 4 and RFC 4954 section 4: nothing before TLS.
	c.do("AUTH PLAIN "+plainAuth("alice@example.org", testPassword), "538 5.7.11")
	c.do("MAIL FROM:<alice@example.org>", "530 5.7.0 Must issue a STARTTLS command first")
	c.do("STARTTLS now", "501 5.5.4")
	c.startTLS()
	ehlo := c.do("EHLO client.example", "250 ")
	caps = capabilities(ehlo)
	if !caps["AUTH"] || caps["STARTTLS"] || !caps["REQUIRETLS"] || !strings.Contains(ehlo, " PLAIN LOGIN\r\n") {
		t.Fatalf("EHLO after TLS: %q", ehlo)
	}
	c.do("MAIL FROM:<alice@example.org>", "530 5.7.0 Authentication required")
	c.do("AUTH PLAIN "+plainAuth("alice@example.org", "wrong"), "535 5.7.8")
	c.do("AUTH PLAIN =", "501 5.5.2")
	c.do("AUTH CRAM-MD5", "504 5.5.4")
	c.send("AUTH PLAIN\r\n")
	c.expect("334 ")
	c.do("*", "501 5.0.0")
	c.send("AUTH LOGIN\r\n")
	c.expect("334 VXNlcm5hbWU6") // "Username:"
	c.send(base64.StdEncoding.EncodeToString([]byte("alice@example.org")) + "\r\n")
	c.expect("334 UGFzc3dvcmQ6") // "Password:"
	c.do(base64.StdEncoding.EncodeToString([]byte(testPassword)), "235 2.0.0")
	c.do("AUTH PLAIN "+plainAuth("alice@example.org", testPassword), "503 5.5.1")
	c.do("MAIL FROM:<alice@example.org>", "250")
}

func TestSubmissionSendsAsOwnAddresses(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login("alice@example.org")
	c.do("MAIL FROM:<bob@example.org>", "550 5.7.1")
	c.do("MAIL FROM:<>", "550 5.7.1")
	c.do("MAIL FROM:<alice@example.net>", "550 5.7.1")
	c.do("MAIL FROM:<alice+lists@example.org>", "250")
	c.do("RSET", "250")
	c.do("MAIL FROM:<sales@example.org>", "250") // an alias naming alice
	c.do("RCPT TO:<bob@example.org>", "250")
	for _, tc := range []struct{ header, want string }{
		{"From: Bob <bob@example.org>\r\n", "550 5.7.1 From address <bob@example.org> does not belong to alice@example.org"},
		{"From: Alice <alice@example.org>, Bob <bob@example.org>\r\nSender: alice@example.org\r\n", "550 5.7.1 From address <bob@example.org>"},
		{"From: alice@example.org\r\nSender: bob@example.org\r\n", "550 5.7.1 From address <bob@example.org>"},
		{"From: alice@example.org\r\nFrom: alice@example.org\r\n", "550 5.6.0"},
		{"Subject: no author\r\n", "550 5.6.0"},
		{"From: <alice@example.org\r\n", "550 5.6.0"},
		{"From: \"alice@example.org\" <bob@example.org>\r\n", "550 5.7.1 From address <bob@example.org>"},
	} {
		c.data(tc.header+"To: bob@example.org\r\nSubject: x\r\n\r\nbody\r\n", tc.want)
		c.do("MAIL FROM:<alice@example.org>", "250")
		c.do("RCPT TO:<bob@example.org>", "250")
	}
	c.data("From: =?utf-8?q?Alice?= <Alice+x@Example.org>\r\nTo: bob@example.org\r\nSubject: ok\r\n\r\nbody\r\n", "250 2.0.0")
	if n := len(e.mailbox("bob@example.org", "INBOX")); n != 1 {
		t.Fatalf("bob has %d messages", n)
	}
}

func TestSubmissionDelivery(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login("alice@example.org")
	c.do("MAIL FROM:<alice@example.org> RET=HDRS ENVID=abc123 REQUIRETLS", "250")
	c.do("RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE", "250")
	c.do("RCPT TO:<nobody@example.org>", "550 5.1.1")
	c.do("RCPT TO:<dave@remote.test> NOTIFY=NEVER ORCPT=rfc822;dave@remote.test", "250")
	c.do("RCPT TO:<sales@example.org>", "250") // alice herself, and friend@remote.test
	// No Date, no Message-ID: the server adds them (RFC 6409 section 8).
	c.data("From: Alice <alice@example.org>\r\nTo: bob@example.org, dave@remote.test\r\nSubject: hi\r\n\r\nHello.\r\n", "250 2.0.0")

	b := e.mailbox("bob@example.org", "INBOX")
	if len(b) != 1 {
		t.Fatalf("bob has %d messages", len(b))
	}
	m := b[0]
	for _, want := range []string{
		"Return-Path: <alice@example.org>\r\nDKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=test;\r\n",
		"\r\nReceived: from client.example ([127.0.0.1])\r\n\tby " + testHost + " (postfach) with ESMTPSA id ",
		"\r\nDate: ", "\r\nMessage-ID: <", "@" + testHost + ">\r\n",
		"From: Alice <alice@example.org>\r\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("bob's copy lacks %q:\n%s", want, m)
		}
	}
	// The signature covers the message as stored, from Received on.
	signed := e.signer.signed[0]
	if !strings.HasSuffix(m, signed) || !strings.HasPrefix(signed, "Received: ") {
		t.Errorf("signed %q, stored %q", signed, m)
	}
	if n := len(e.mailbox("alice@example.org", "INBOX")); n != 1 {
		t.Errorf("alice has %d messages (through sales@)", n)
	}

	q := e.queue.all()
	if len(q) != 1 {
		t.Fatalf("queued %d messages", len(q))
	}
	env := q[0].env
	if env.From != "alice@example.org" || env.Account != "alice@example.org" || env.Return != "HDRS" || env.EnvID != "abc123" || !env.RequireTLS ||
		strings.Join(env.To, ",") != "dave@remote.test,friend@remote.test" ||
		strings.Join(env.Notify[0], ",") != "NEVER" || env.ORcpt[0] != "rfc822;dave@remote.test" || env.Notify[1] != nil {
		t.Errorf("envelope %+v", env)
	}
	if !strings.HasPrefix(q[0].body, "DKIM-Signature: ") || !strings.HasSuffix(m, q[0].body) {
		t.Errorf("queued body %q", q[0].body)
	}
}

func TestSubmissionWithoutQueue(t *testing.T) {
	e := newEnv(t, envOptions{noQueue: true})
	c := e.login("alice@example.org")
	c.do("MAIL FROM:<alice@example.org>", "250")
	c.do("RCPT TO:<dave@remote.test>", "451 4.3.0")
	c.do("RCPT TO:<bob@example.org>", "250")
	c.data(testMessage("alice@example.org", "bob@example.org", "local only"), "250")
}

func TestSubmissionsImplicitTLS(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.dial(Submissions)
	c.expect("220 ")
	ehlo := c.do("EHLO client.example", "250 ")
	if caps := capabilities(ehlo); !caps["AUTH"] || caps["STARTTLS"] || !caps["REQUIRETLS"] {
		t.Fatalf("EHLO on 465: %q", ehlo)
	}
	c.do("STARTTLS", "503 5.5.1")
	c.do("AUTH PLAIN "+plainAuth("carol@example.net", testPassword), "235")
	c.do("MAIL FROM:<carol@example.net>", "250")
	c.do("RCPT TO:<alice@example.org>", "250")
	// example.net has no DKIM key: sent unsigned.
	c.data(testMessage("carol@example.net", "alice@example.org", "465"), "250 2.0.0")
	a := e.mailbox("alice@example.org", "INBOX")
	if len(a) != 1 || strings.Contains(a[0], "DKIM-Signature") || !strings.Contains(a[0], " with ESMTPSA id ") {
		t.Fatalf("alice has %q", a)
	}
}

func TestSubmissionRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxMessagesPerHour: 2, MaxRecipientsPerHour: 3}})
	c := e.login("alice@example.org")
	send := func(rcpts ...string) {
		t.Helper()
		c.do("MAIL FROM:<alice@example.org>", "250")
		for _, r := range rcpts {
			c.do("RCPT TO:<"+r+">", "250")
		}
		c.data(testMessage("alice@example.org", rcpts[0], "rate"), "250")
	}
	send("bob@example.org", "carol@example.net")
	c.do("MAIL FROM:<alice@example.org>", "250")
	c.do("RCPT TO:<bob@example.org>", "250")
	c.do("RCPT TO:<carol@example.net>", "450 4.7.1")
	c.data(testMessage("alice@example.org", "bob@example.org", "rate"), "250")
	c.do("MAIL FROM:<alice@example.org>", "451 4.7.1")
	// Another account has its own budget.
	d := e.login("bob@example.org")
	d.do("MAIL FROM:<bob@example.org>", "250")
	// The hour moves on.
	e.srv.rate.setClock(func() time.Time { return time.Now().Add(61 * time.Minute) })
	c.do("MAIL FROM:<alice@example.org>", "250")
}

func TestSubmissionRevoked(t *testing.T) {
	revoke := make(chan struct{})
	e := newEnv(t, envOptions{auth: func(a auth.Authenticator) auth.Authenticator {
		return &revocableAuth{Authenticator: a, revoked: revoke}
	}})
	c := e.login("alice@example.org")
	c.do("MAIL FROM:<alice@example.org>", "250")
	close(revoke)
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.send("RCPT TO:<bob@example.org>\r\n")
	for {
		_, err := c.br.ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the session outlived its credential")
		}
		if err != nil {
			break
		}
	}
}

func TestSubmissionLoginTimeout(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{LoginTimeout: 300 * time.Millisecond}})
	c := e.dial(Submission)
	c.expect("220 ")
	c.do("EHLO client.example", "250 ")
	c.expect("421 4.4.2")
	// An MX session has no login to wait for.
	m := e.dial(MX)
	m.expect("220 ")
	time.Sleep(400 * time.Millisecond)
	m.do("NOOP", "250")
}

package imap_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestGreetingAndCapabilitiesBeforeTLS(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Dial(t, env.IMAP, false)
	if !strings.HasPrefix(c.Greeting, "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED") {
		t.Fatalf("greeting %q", c.Greeting)
	}
	if strings.Contains(c.Greeting, "AUTH=") {
		t.Fatalf("plaintext greeting offers a mechanism: %q", c.Greeting)
	}
	r := c.Expect("LOGIN alice@example.org secret", "NO")
	if !strings.HasPrefix(r.Text, "[PRIVACYREQUIRED]") {
		t.Fatalf("LOGIN before TLS: %s", r)
	}
	r = c.Expect("AUTHENTICATE PLAIN "+plain("alice@example.org", "secret"), "NO")
	if !strings.HasPrefix(r.Text, "[PRIVACYREQUIRED]") {
		t.Fatalf("AUTHENTICATE before TLS: %s", r)
	}
	c.Expect("SELECT INBOX", "BAD")
	c.StartTLS()
	r = c.MustOK("CAPABILITY")
	caps := r.Find("CAPABILITY")
	if strings.Contains(caps, "STARTTLS") || strings.Contains(caps, "LOGINDISABLED") || !strings.Contains(caps, "AUTH=PLAIN") {
		t.Fatalf("capabilities after STARTTLS: %q", caps)
	}
	r = c.MustOK("LOGIN alice@example.org secret")
	if !strings.Contains(r.Text, "[CAPABILITY ") || !strings.Contains(r.Text, "UIDPLUS") {
		t.Fatalf("LOGIN OK lacks capabilities: %s", r)
	}
	c.MustOK("SELECT INBOX")
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestStartTLSRefusesInjectedCommands(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Dial(t, env.IMAP, false)
	// A command pipelined behind STARTTLS in the clear must not be run
	// as if it came over TLS.
	c.Write("a STARTTLS\r\nb LOGIN alice@example.org secret\r\n")
	if line := c.ReadLine(); !strings.HasPrefix(line, "a OK") {
		t.Fatalf("STARTTLS: %q", line)
	}
	c.ExpectClosed()
}

func TestLoginFailuresLookAlike(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Dial(t, env.IMAPS, true)
	wrong := c.Expect("LOGIN alice@example.org wrong", "NO")
	unknown := c.Expect("LOGIN nobody@example.org secret", "NO")
	if wrong.Text != unknown.Text || !strings.HasPrefix(wrong.Text, "[AUTHENTICATIONFAILED]") {
		t.Fatalf("wrong password %q, unknown user %q", wrong.Text, unknown.Text)
	}
	// Still not authenticated.
	c.Expect("SELECT INBOX", "BAD")
	c.MustOK("LOGIN ALICE@Example.ORG secret")
}

func TestAuthenticatePlain(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	t.Run("SASL-IR", func(t *testing.T) {
		c := imaptest.Dial(t, env.IMAPS, true)
		if !strings.Contains(c.Greeting, "AUTH=PLAIN") || !strings.Contains(c.Greeting, "SASL-IR") {
			t.Fatalf("greeting over TLS: %q", c.Greeting)
		}
		c.MustOK("AUTHENTICATE PLAIN " + plain("alice@example.org", "secret"))
		c.MustOK("SELECT INBOX")
	})
	t.Run("continuation", func(t *testing.T) {
		c := imaptest.Dial(t, env.IMAPS, true)
		r := c.Do("AUTHENTICATE PLAIN")
		if r.Status != "+" {
			t.Fatalf("want continuation, got %s", r)
		}
		c.Write(plain("bob@example.org", "secret") + "\r\n")
		if r := c.Read("t1"); r.Status != "OK" {
			t.Fatalf("AUTHENTICATE: %s", r)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := imaptest.Dial(t, env.IMAPS, true)
		c.Do("AUTHENTICATE PLAIN")
		c.Write("*\r\n")
		if r := c.Read("t1"); r.Status != "BAD" {
			t.Fatalf("cancelled AUTHENTICATE: %s", r)
		}
		c.MustOK("NOOP")
	})
	t.Run("wrong", func(t *testing.T) {
		c := imaptest.Dial(t, env.IMAPS, true)
		r := c.Expect("AUTHENTICATE PLAIN "+plain("alice@example.org", "nope"), "NO")
		if !strings.HasPrefix(r.Text, "[AUTHENTICATIONFAILED]") {
			t.Fatal(r)
		}
		c.Expect("AUTHENTICATE PLAIN !!!notbase64", "BAD")
		c.Expect("AUTHENTICATE CRAM-MD5", "NO")
	})
}

func TestStateRules(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Dial(t, env.IMAPS, true)
	for _, cmd := range []string{"FETCH 1 FLAGS", "LIST \"\" *", "ENABLE IMAP4rev2", "IDLE", "CLOSE"} {
		c.Expect(cmd, "BAD")
	}
	c.MustOK("LOGIN alice@example.org secret")
	c.Expect("LOGIN alice@example.org secret", "BAD")
	c.Expect("STARTTLS", "BAD")
	for _, cmd := range []string{"FETCH 1 FLAGS", "STORE 1 +FLAGS \\Seen", "EXPUNGE", "CLOSE", "SEARCH ALL", "UID FETCH 1 FLAGS"} {
		c.Expect(cmd, "BAD")
	}
	c.Expect("FOO BAR", "BAD")
	c.Expect("UID LIST", "BAD")
	c.MustOK("NOOP")
	r := c.MustOK("ID (\"name\" \"test\")")
	if !r.Has(`ID ("name" "postfach"`) {
		t.Fatal(r)
	}
	c.MustOK("ID NIL")
	r = c.MustOK("NAMESPACE")
	if !r.Has(`NAMESPACE (("" "/")) NIL NIL`) {
		t.Fatal(r)
	}
	c.Write("z LOGOUT\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "* BYE") {
		t.Fatal(l)
	}
	if l := c.ReadLine(); !strings.HasPrefix(l, "z OK") {
		t.Fatal(l)
	}
	c.ExpectClosed()
}

func TestEnableIMAP4rev2(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	capsBefore := c.MustOK("CAPABILITY").Find("CAPABILITY")
	r := c.MustOK("ENABLE IMAP4rev2 X-UNKNOWN")
	if r.Find("ENABLED") != "ENABLED IMAP4rev2" {
		t.Fatalf("ENABLE: %s", r)
	}
	if r := c.MustOK("ENABLE IMAP4rev2"); r.Find("ENABLED") != "ENABLED" {
		t.Fatalf("second ENABLE: %s", r)
	}
	if caps := c.MustOK("CAPABILITY").Find("CAPABILITY"); caps != capsBefore {
		t.Fatalf("ENABLE changed capabilities: %q -> %q", capsBefore, caps)
	}
	c.Append("INBOX", "", imaptest.Message("hello", "body"))
	r = c.MustOK("SELECT INBOX")
	if r.Has("RECENT") {
		t.Fatalf("IMAP4rev2 SELECT reports RECENT: %s", r)
	}
	if !r.Has(`LIST () "/" INBOX`) {
		t.Fatalf("IMAP4rev2 SELECT lacks LIST: %s", r)
	}
	r = c.MustOK("SEARCH ALL")
	if !r.Has(`ESEARCH (TAG "t`) || !r.Has("ALL 1") {
		t.Fatalf("IMAP4rev2 SEARCH: %s", r)
	}
	r = c.MustOK("FETCH 1 FLAGS")
	if r.Has(`\Recent`) {
		t.Fatalf("IMAP4rev2 FETCH shows \\Recent: %s", r)
	}
	// UTF-8 mailbox names, no modified UTF-7.
	c.MustOK(`CREATE "Entwürfe/Größe"`)
	r = c.MustOK(`LIST "" "Entw*"`)
	if !r.Has(`"Entwürfe/Größe"`) && !r.Has("Entwürfe/Größe") {
		t.Fatalf("LIST UTF-8: %s", r)
	}
}

func TestUnauthenticate(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.MustOK("SELECT INBOX")
	c.MustOK("UNAUTHENTICATE")
	c.Expect("SELECT INBOX", "BAD")
	c.MustOK("LOGIN bob@example.org secret")
	c.MustOK("SELECT INBOX")
}

package imap_test

import (
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestNewAccountMailboxes(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	r := c.MustOK(`LIST "" "*"`)
	want := []string{
		`LIST (\HasNoChildren) "/" INBOX`,
		`LIST (\HasNoChildren \Archive) "/" Archive`,
		`LIST (\HasNoChildren \Drafts) "/" Drafts`,
		`LIST (\HasNoChildren \Junk) "/" Junk`,
		`LIST (\HasNoChildren \Sent) "/" Sent`,
		`LIST (\HasNoChildren \Trash) "/" Trash`,
	}
	if strings.Join(r.Untagged, "\n") != strings.Join(want, "\n") {
		t.Fatalf("LIST:\n%s\nwant:\n%s", strings.Join(r.Untagged, "\n"), strings.Join(want, "\n"))
	}
	r = c.MustOK(`LIST (SPECIAL-USE) "" "*"`)
	if len(r.Untagged) != 5 || r.Has("INBOX") {
		t.Fatalf("LIST (SPECIAL-USE): %s", r)
	}
	r = c.MustOK(`LIST "" "*" RETURN (SUBSCRIBED)`)
	for _, l := range r.Untagged {
		if !strings.Contains(l, `\Subscribed`) {
			t.Fatalf("default mailbox not subscribed: %q", l)
		}
	}
	r = c.MustOK(`LIST "" ""`)
	if r.Find("LIST") != `LIST (\Noselect) "/" ""` {
		t.Fatalf("delimiter query: %s", r)
	}
}

func TestCreateDeleteRename(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.MustOK("CREATE Projects/2026/Q4")
	r := c.MustOK(`LIST "" "Projects*"`)
	want := []string{
		`LIST (\HasChildren) "/" Projects`,
		`LIST (\HasChildren) "/" Projects/2026`,
		`LIST (\HasNoChildren) "/" Projects/2026/Q4`,
	}
	if strings.Join(r.Untagged, "\n") != strings.Join(want, "\n") {
		t.Fatalf("LIST after CREATE:\n%s", strings.Join(r.Untagged, "\n"))
	}
	r = c.MustOK(`LIST "" "Projects/%"`)
	if len(r.Untagged) != 1 || !r.Has("Projects/2026") {
		t.Fatalf("%%: %s", r)
	}
	r = c.MustOK(`LIST "Projects/" "%"`)
	if len(r.Untagged) != 1 || !r.Has("Projects/2026") {
		t.Fatalf("reference: %s", r)
	}
	r = c.Expect("CREATE Projects", "NO")
	if !strings.HasPrefix(r.Text, "[ALREADYEXISTS]") {
		t.Fatal(r)
	}
	c.Expect("CREATE INBOX", "NO")
	c.Expect("CREATE inbox", "NO")
	c.MustOK("CREATE Trailing/")
	c.MustOK("SELECT Trailing")

	// RENAME moves the hierarchy and keeps UIDVALIDITY.
	c.Append("Projects/2026/Q4", "", imaptest.Message("report", "numbers"))
	before := c.MustOK("STATUS Projects/2026/Q4 (UIDVALIDITY MESSAGES)").Find("STATUS")
	c.MustOK("RENAME Projects Work")
	after := c.MustOK("STATUS Work/2026/Q4 (UIDVALIDITY MESSAGES)").Find("STATUS")
	if strings.TrimPrefix(before, "STATUS Projects/2026/Q4") != strings.TrimPrefix(after, "STATUS Work/2026/Q4") {
		t.Fatalf("RENAME changed status: %q -> %q", before, after)
	}
	c.Expect("SELECT Projects/2026/Q4", "NO")
	c.Expect("RENAME Work Work/Inner", "NO")
	c.Expect("RENAME Nope Other", "NO")
	r = c.Expect("RENAME Work Archive", "NO")
	if !strings.HasPrefix(r.Text, "[ALREADYEXISTS]") {
		t.Fatal(r)
	}

	// DELETE keeps inferiors; the parent becomes a hierarchy level only.
	c.MustOK("DELETE Work/2026")
	r = c.MustOK(`LIST "" "Work*"`)
	want = []string{
		`LIST (\HasChildren) "/" Work`,
		`LIST (\Noselect \HasChildren) "/" Work/2026`,
		`LIST (\HasNoChildren) "/" Work/2026/Q4`,
	}
	if strings.Join(r.Untagged, "\n") != strings.Join(want, "\n") {
		t.Fatalf("LIST after DELETE:\n%s", strings.Join(r.Untagged, "\n"))
	}
	c.Expect("SELECT Work/2026", "NO")
	c.Expect("DELETE INBOX", "NO")
	c.Expect("DELETE Nope", "NO")
}

func TestRenameInbox(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.Append("INBOX", "", imaptest.Message("one", "1"))
	c.Append("INBOX", "", imaptest.Message("two", "2"))
	watcher := imaptest.Login(t, env, "alice@example.org")
	watcher.MustOK("SELECT INBOX")
	c.MustOK("RENAME INBOX Old-Inbox")
	// A session with INBOX selected sees the messages leave.
	if r := watcher.MustOK("NOOP"); strings.Join(r.Untagged, ",") != "1 EXPUNGE,1 EXPUNGE" {
		t.Fatalf("INBOX watcher after RENAME: %s", r)
	}
	if s := c.MustOK("STATUS Old-Inbox (MESSAGES)").Find("STATUS"); !strings.Contains(s, "MESSAGES 2") {
		t.Fatal(s)
	}
	if s := c.MustOK("STATUS INBOX (MESSAGES UIDNEXT)").Find("STATUS"); !strings.Contains(s, "MESSAGES 0") {
		t.Fatal(s)
	}
	c.MustOK("SELECT INBOX")
}

func TestSubscriptionsAndLsub(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.MustOK("CREATE Lists/golang")
	c.MustOK("SUBSCRIBE Lists/golang")
	c.Expect("SUBSCRIBE DoesNotExist", "NO")
	r := c.MustOK(`LSUB "" "Lists/*"`)
	if r.Find("LSUB") != `LSUB () "/" Lists/golang` {
		t.Fatal(r)
	}
	r = c.MustOK(`LSUB "" "%"`)
	if !r.Has(`LSUB (\Noselect) "/" Lists`) {
		t.Fatalf("LSUB %%: %s", r)
	}
	r = c.MustOK(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	if !r.Has(`"/" Lists ("CHILDINFO" ("SUBSCRIBED"))`) {
		t.Fatalf("RECURSIVEMATCH: %s", r)
	}
	c.Expect(`LIST (RECURSIVEMATCH) "" "%"`, "BAD")
	c.MustOK("DELETE Lists/golang")
	// The subscription outlives the mailbox (RFC 9051 section 6.3.7).
	r = c.MustOK(`LIST (SUBSCRIBED) "" "Lists/*"`)
	if !r.Has(`\NonExistent`) || !r.Has(`\Subscribed`) {
		t.Fatalf("LIST (SUBSCRIBED) of a deleted mailbox: %s", r)
	}
	c.MustOK("UNSUBSCRIBE Lists/golang")
	if r := c.MustOK(`LSUB "" "Lists/*"`); len(r.Untagged) != 0 {
		t.Fatal(r)
	}
}

func TestListStatusAndStatus(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	msg := imaptest.Message("sized", "x")
	c.Append("INBOX", `\Seen`, msg)
	c.Append("INBOX", `\Deleted`, msg)
	r := c.MustOK("STATUS INBOX (MESSAGES UNSEEN DELETED SIZE UIDNEXT UIDVALIDITY RECENT)")
	s := r.Find("STATUS")
	for _, want := range []string{"MESSAGES 2", "UNSEEN 1", "DELETED 1", "UIDNEXT 3", "RECENT 2"} {
		if !strings.Contains(s, want) {
			t.Fatalf("STATUS %q lacks %q", s, want)
		}
	}
	if !strings.Contains(s, "SIZE "+itoa(2*len(msg))) {
		t.Fatalf("STATUS %q: want SIZE %d", s, 2*len(msg))
	}
	c.Expect("STATUS INBOX (BOGUS)", "BAD")
	c.Expect("STATUS INBOX ()", "BAD")
	c.Expect("STATUS Nope (MESSAGES)", "NO")
	r = c.MustOK(`LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))`)
	if !r.Has("STATUS INBOX (MESSAGES 2 UNSEEN 1)") || !r.Has("STATUS Trash (MESSAGES 0 UNSEEN 0)") {
		t.Fatalf("LIST-STATUS: %s", r)
	}
}

func TestModifiedUTF7Names(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	// "Entwürfe" in modified UTF-7, as an IMAP4rev1 client sends it.
	c.MustOK("CREATE Entw&APw-rfe")
	r := c.MustOK(`LIST "" "Entw*"`)
	if !r.Has(`"/" Entw&APw-rfe`) {
		t.Fatalf("rev1 LIST: %s", r)
	}
	c.Expect("CREATE Bad&Jjo", "NO")
	// Raw UTF-8 from an IMAP4rev1 client is unambiguous (modified UTF-7
	// has no 8-bit octets) and accepted, as go-imap sends it; it is
	// listed back in modified UTF-7. Invalid UTF-8 is refused.
	c.MustOK("CREATE \"8bit\xc3\xbc\"")
	if r := c.MustOK(`LIST "" "8bit*"`); !r.Has(`"/" 8bit&APw-`) {
		t.Fatalf("rev1 LIST of a UTF-8 name: %s", r)
	}
	if r := c.Do("CREATE \"8bit\xff\""); r.Status == "OK" {
		t.Fatalf("CREATE with invalid UTF-8: %s", r)
	}
	c2 := imaptest.Login(t, env, "alice@example.org")
	c2.MustOK("ENABLE IMAP4rev2")
	r = c2.MustOK(`LIST "" "Entw*"`)
	if !r.Has("Entwürfe") {
		t.Fatalf("rev2 LIST: %s", r)
	}
}

func TestTenantIsolationByName(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	bob := imaptest.Login(t, env, "bob@example.org")
	bob.MustOK("CREATE Secret")
	bob.Append("Secret", "", imaptest.Message("bob only", "private"))
	alice := imaptest.Login(t, env, "alice@example.org")
	for _, name := range []string{
		"../bob@example.org/Secret", "/etc/passwd", "bob@example.org/Secret",
		"Secret", "~bob/Secret", "#shared/Secret", "INBOX/../../Secret",
		`"..\\Secret"`, "\"a\x01b\"", "\"\u202eSecret\"",
	} {
		r := alice.Do("SELECT " + name)
		if r.Status == "OK" {
			t.Fatalf("SELECT %s succeeded for alice: %s", name, r)
		}
		if r := alice.Do("STATUS " + name + " (MESSAGES)"); r.Status == "OK" {
			t.Fatalf("STATUS %s: %s", name, r)
		}
	}
	for _, name := range []string{"../escape", "/abs", "a//b", ".", "..", "a/./b"} {
		if r := alice.Do(`CREATE "` + name + `"`); r.Status == "OK" {
			t.Fatalf("CREATE %q succeeded", name)
		}
	}
	if r := alice.MustOK(`LIST "" "*"`); r.Has("Secret") {
		t.Fatalf("alice sees bob's mailbox: %s", r)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

package imap_test

import (
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

func TestNotify(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	other := imaptest.Login(t, env, "alice@example.org")
	other.MustOK("CREATE Lists/Go")
	c.Append("Lists/Go", "", "Subject: one\r\n\r\n1\r\n")

	// Validation (RFC 5465 section 8) and BADEVENT (section 3).
	c.Expect("NOTIFY SET (personal (MessageNew))", "BAD")
	c.Expect("NOTIFY SET (personal (FlagChange))", "BAD")
	c.Expect("NOTIFY SET (inboxes (MessageNew (UID) MessageExpunge))", "BAD")
	if r := c.Expect("NOTIFY SET (personal (AnnotationChange))", "NO"); !strings.Contains(r.Text, "BADEVENT (MessageNew") {
		t.Errorf("BADEVENT: %s", r)
	}

	// STATUS indicator: a STATUS for each watched mailbox, now.
	c.MustOK("SELECT INBOX")
	r := c.MustOK("NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))")
	if !r.Has(`STATUS Lists/Go (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `) || r.Has("STATUS INBOX") {
		t.Errorf("NOTIFY SET STATUS: %s", r)
	}

	// A message to a watched mailbox that is not selected: STATUS,
	// pushed during IDLE.
	c.Write("i1 IDLE\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	other.Append("Lists/Go", "", "Subject: two\r\n\r\n2\r\n")
	if l := readWithin(t, c, 5*time.Second); !strings.HasPrefix(l, "* STATUS Lists/Go (MESSAGES 2 UIDNEXT 3 ") {
		t.Errorf("IDLE push for Lists/Go: %q", l)
	}
	// A new message in the selected mailbox: EXISTS, then the FETCH the
	// SELECTED group asked for (section 5.2).
	other.Append("INBOX", `\Flagged`, "Subject: three\r\n\r\n3\r\n")
	if l := readWithin(t, c, 5*time.Second); l != "* 1 EXISTS" {
		t.Errorf("IDLE push for INBOX: %q", l)
	}
	l := readWithin(t, c, 5*time.Second)
	if l == "* 1 RECENT" { // IMAP4rev1
		l = readWithin(t, c, 5*time.Second)
	}
	if !strings.HasPrefix(l, "* 1 FETCH (UID 1 FLAGS (") || !strings.Contains(l, `\Flagged`) {
		t.Errorf("MessageNew fetch: %q", l)
	}
	c.Write("DONE\r\n")
	c.Read("i1")

	// Mailbox events: create, rename, subscribe, delete.
	other.MustOK("CREATE Projects")
	if r := c.MustOK("NOOP"); !r.Has(`LIST () "/" Projects`) {
		t.Errorf("MailboxName on CREATE: %s", r)
	}
	other.MustOK("RENAME Projects Work")
	if r := c.MustOK("NOOP"); !r.Has(`LIST () "/" Work ("OLDNAME" (Projects))`) {
		t.Errorf("MailboxName on RENAME: %s", r)
	}
	other.MustOK("SUBSCRIBE Work")
	if r := c.MustOK("NOOP"); !r.Has(`LIST (\Subscribed) "/" Work`) {
		t.Errorf("SubscriptionChange: %s", r)
	}
	other.MustOK("DELETE Work")
	if r := c.MustOK("NOOP"); !r.Has(`LIST (\NonExistent) "/" Work`) {
		t.Errorf("MailboxName on DELETE: %s", r)
	}
	// Flag changes in a watched mailbox: STATUS (UNSEEN changes).
	other.MustOK("SELECT Lists/Go")
	other.MustOK("STORE 1:2 +FLAGS (\\Seen)")
	if r := c.MustOK("NOOP"); !r.Has("STATUS Lists/Go (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ") || !r.Has("UNSEEN 0") {
		t.Errorf("FlagChange: %s", r)
	}
	// A mailbox nobody watches stays quiet; NOTIFY NONE ends it all.
	other.Append("Sent", "", "Subject: four\r\n\r\n4\r\n")
	if r := c.MustOK("NOOP"); r.Has("STATUS Sent") {
		t.Errorf("unwatched mailbox reported: %s", r)
	}
	c.MustOK("NOTIFY NONE")
	other.Append("Lists/Go", "", "Subject: five\r\n\r\n5\r\n")
	if r := c.MustOK("NOOP"); r.Has("STATUS") {
		t.Errorf("after NOTIFY NONE: %s", r)
	}
}

// readWithin reads one line, failing if none comes in time.
func readWithin(t *testing.T, c *imaptest.Client, d time.Duration) string {
	t.Helper()
	c.Conn().SetReadDeadline(time.Now().Add(d))
	defer c.Conn().SetReadDeadline(time.Time{})
	return c.ReadLine()
}

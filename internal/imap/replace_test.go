package imap_test

import (
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestReplace(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.Append("Drafts", `\Draft`, "Subject: draft 1\r\n\r\nfirst\r\n")
	c.Append("Drafts", `\Draft`, "Subject: other\r\n\r\nother\r\n")
	c.MustOK("SELECT Drafts")
	msg := "Subject: draft 2\r\n\r\nsecond\r\n"
	// RFC 8508 section 3.2: APPENDUID in an untagged OK, then the new
	// message exists, then the old one is expunged.
	r := c.MustOK(fmt.Sprintf("REPLACE 1 Drafts (\\Draft) {%d+}\r\n%s", len(msg), msg))
	if !r.Has("OK [APPENDUID ") || !r.Has("1 EXPUNGE") || !r.Has("3 EXISTS") {
		t.Errorf("REPLACE: %s", r)
	}
	r = c.MustOK("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	all := strings.Join(r.Untagged, "\n")
	if strings.Contains(all, "draft 1") || !strings.Contains(all, "draft 2") || !strings.Contains(all, "UID 3 ") {
		t.Errorf("after REPLACE: %s", all)
	}
	// UID REPLACE into another mailbox: the draft leaves Drafts.
	r = c.MustOK(fmt.Sprintf("UID REPLACE 3 Sent {%d+}\r\n%s", len(msg), msg))
	if !r.Has("OK [APPENDUID ") || !r.Has("2 EXPUNGE") {
		t.Errorf("UID REPLACE to Sent: %s", r)
	}
	if st := c.MustOK("STATUS Sent (MESSAGES)"); !st.Has("MESSAGES 1") {
		t.Errorf("Sent: %s", st)
	}
	// A missing target leaves the old message; so does a bad number.
	c.Expect(fmt.Sprintf("REPLACE 1 Nowhere {%d+}\r\n%s", len(msg), msg), "NO")
	c.Expect(fmt.Sprintf("REPLACE 9 Drafts {%d+}\r\n%s", len(msg), msg), "BAD")
	c.Expect(fmt.Sprintf("UID REPLACE 99 Drafts {%d+}\r\n%s", len(msg), msg), "NO")
	if r := c.MustOK("SEARCH ALL"); r.Find("SEARCH") != "SEARCH 1" {
		t.Errorf("after failed REPLACEs: %s", r)
	}
	// With QRESYNC the removal is VANISHED.
	c.MustOK("ENABLE QRESYNC")
	r = c.MustOK(fmt.Sprintf("REPLACE 1 Drafts {%d+}\r\n%s", len(msg), msg))
	if !r.Has("VANISHED ") || r.Has("EXPUNGE") {
		t.Errorf("REPLACE with QRESYNC: %s", r)
	}
	// Not on a read-only mailbox.
	c.MustOK("EXAMINE Drafts")
	if r := c.Expect(fmt.Sprintf("REPLACE 1 Drafts {%d+}\r\n%s", len(msg), msg), "NO"); !strings.Contains(r.Text, "READ-ONLY") {
		t.Errorf("REPLACE on EXAMINE: %s", r)
	}
}

package imap_test

import (
	"regexp"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestUIDOnly(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	if r := c.MustOK("CAPABILITY"); !r.Has("UIDONLY") {
		t.Fatalf("UIDONLY not advertised: %s", r)
	}
	for i := 0; i < 5; i++ {
		c.Append("INBOX", "", imaptest.Message("m", "x"))
	}
	c.MustOK("SELECT INBOX")
	c.MustOK("UID STORE 1,2 +FLAGS.SILENT (\\Deleted)")
	c.MustOK("CLOSE") // UIDs 3, 4, 5 remain
	if r := c.MustOK("ENABLE UIDONLY"); r.Find("ENABLED") != "ENABLED UIDONLY" {
		t.Fatalf("ENABLE: %s", r)
	}
	r := c.MustOK("SELECT INBOX")
	if !r.Has("3 EXISTS") || r.Has("[UNSEEN") {
		t.Errorf("SELECT under UIDONLY: %s", r)
	}

	// Message numbers are refused, in every command that takes them and
	// in search keys (RFC 9586 section 3).
	for _, cmd := range []string{
		"FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "COPY 1 Trash", "MOVE 1 Trash",
		"SORT (DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "UID SEARCH 1:2", "UID SEARCH NOT (OR 1 SEEN)",
		"UID SORT (DATE) UTF-8 1", "UID THREAD ORDEREDSUBJECT UTF-8 1", "ESEARCH IN (personal) 1:*",
	} {
		if r := c.Expect(cmd, "BAD"); !strings.HasPrefix(r.Text, "[UIDREQUIRED]") {
			t.Errorf("%s: %s", cmd, r)
		}
	}
	c.Write("r REPLACE 1 INBOX {5+}\r\nx: y\n\r\n")
	if r := c.Read("r"); r.Status != "BAD" || !strings.HasPrefix(r.Text, "[UIDREQUIRED]") {
		t.Errorf("REPLACE: %s", r)
	}

	// UID FETCH answers with UIDFETCH, without a UID item unless asked
	// for (section 3.3).
	r = c.MustOK("UID FETCH 3:* (FLAGS)")
	if got := strings.Join(r.Untagged, "|"); got != "3 UIDFETCH (FLAGS ())|4 UIDFETCH (FLAGS ())|5 UIDFETCH (FLAGS ())" {
		t.Errorf("UID FETCH: %q", got)
	}
	if r := c.MustOK("UID FETCH 4 (UID RFC822.SIZE)"); len(r.Untagged) != 1 || !regexp.MustCompile(`^4 UIDFETCH \(UID 4 RFC822\.SIZE \d+\)$`).MatchString(r.Untagged[0]) {
		t.Errorf("UID FETCH (UID): %s", r)
	}
	// STORE responses, with MODSEQ once CONDSTORE is on.
	if r := c.MustOK(`UID STORE 4 +FLAGS (\Flagged)`); strings.Join(r.Untagged, "|") != `4 UIDFETCH (FLAGS (\Flagged))` {
		t.Errorf("UID STORE: %s", r)
	}
	c.MustOK("ENABLE CONDSTORE")
	if r := c.MustOK(`UID STORE 4 +FLAGS.SILENT (\Seen)`); len(r.Untagged) != 1 || !regexp.MustCompile(`^4 UIDFETCH \(MODSEQ \(\d+\)\)$`).MatchString(r.Untagged[0]) {
		t.Errorf("UID STORE .SILENT with CONDSTORE: %s", r)
	}
	// Searches by UID, and "$", work.
	if r := c.MustOK("UID SEARCH RETURN (SAVE ALL) UNSEEN"); !strings.HasSuffix(r.Find("ESEARCH"), "UID ALL 3,5") {
		t.Errorf("UID SEARCH: %s", r)
	}
	c.MustOK("UID SEARCH UID $")

	// Another session's changes arrive as UIDFETCH and VANISHED.
	other := imaptest.Login(t, env, "alice@example.org")
	other.MustOK("SELECT INBOX")
	other.MustOK(`UID STORE 3 +FLAGS (\Answered)`)
	other.MustOK(`UID STORE 5 +FLAGS (\Deleted)`)
	other.MustOK("UID EXPUNGE 5")
	r = c.MustOK("NOOP")
	if !r.Has("VANISHED 5") || r.Has("EXPUNGE") || !regexp.MustCompile(`^3 UIDFETCH \(FLAGS \(\\Answered\) MODSEQ \(\d+\)\)$`).MatchString(r.Find("3 UIDFETCH")) {
		t.Errorf("unsolicited changes: %s", r)
	}
	// This session's own expunges too; plain EXPUNGE takes no numbers.
	c.MustOK(`UID STORE 4 +FLAGS.SILENT (\Deleted)`)
	if r := c.MustOK("EXPUNGE"); !r.Has("VANISHED 4") || r.Has(" EXPUNGE") {
		t.Errorf("EXPUNGE under UIDONLY: %s", r)
	}
	c.Append("INBOX", "", imaptest.Message("new", "y"))
	if r := c.MustOK("UID MOVE 3 Trash"); !r.Has("VANISHED 3") || r.Has("EXPUNGE") {
		t.Errorf("MOVE under UIDONLY: %s", r)
	}
	// QRESYNC's sequence match data takes message numbers.
	c.MustOK("ENABLE QRESYNC")
	if r := c.Expect("SELECT INBOX (QRESYNC (1 1 1:10 (1 3)))", "BAD"); !strings.HasPrefix(r.Text, "[UIDREQUIRED]") {
		t.Errorf("QRESYNC seq-match: %s", r)
	}
	// UNAUTHENTICATE ends what ENABLE began (RFC 8437 section 3).
	c.MustOK("UNAUTHENTICATE")
	c.MustOK("LOGIN alice@example.org " + imaptest.Password)
	c.MustOK("SELECT INBOX")
	if r := c.MustOK("FETCH 1 (UID)"); !strings.HasPrefix(r.Find("1 FETCH"), "1 FETCH (UID ") {
		t.Errorf("FETCH after UNAUTHENTICATE: %s", r)
	}
}

package imap_test

import (
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

// TestAppendTarget: APPEND finds its mailbox by name in the store's write
// (namedAppender): a missing one is NO [TRYCREATE] (RFC 9051 section
// 6.3.12) and stays missing; INBOX in any case is INBOX; a mailbox renamed
// away is missing under its old name; the selected mailbox's sessions
// learn of the new message and its keywords keep the mailbox's spelling.
func TestAppendTarget(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	msg := "Subject: target\r\n\r\nbody\r\n"
	appendTo := func(mailbox, flags, status string) *imaptest.Response {
		t.Helper()
		return c.Expect(fmt.Sprintf("APPEND %s (%s) {%d+}\r\n%s", mailbox, flags, len(msg), msg), status)
	}

	if r := appendTo("Projects", "", "NO"); !strings.HasPrefix(r.Text, "[TRYCREATE]") {
		t.Errorf("APPEND to a missing mailbox: %s", r)
	}
	if r := c.MustOK("LIST \"\" Projects"); len(r.Untagged) != 0 {
		t.Errorf("APPEND created the mailbox: %s", r)
	}
	c.MustOK("CREATE Projects")
	if r := appendTo("Projects", "", "OK"); !strings.HasPrefix(r.Text, "[APPENDUID ") || !strings.Contains(r.Text, " 1]") {
		t.Errorf("APPEND after CREATE: %s", r)
	}
	c.MustOK("RENAME Projects Archive2026")
	if r := appendTo("Projects", "", "NO"); !strings.HasPrefix(r.Text, "[TRYCREATE]") {
		t.Errorf("APPEND to a renamed mailbox's old name: %s", r)
	}
	if r := c.MustOK("STATUS Archive2026 (MESSAGES)"); !r.Has("MESSAGES 1") {
		t.Errorf("renamed mailbox: %s", r)
	}

	// A second session watches INBOX, where a keyword is in use.
	w := imaptest.Login(t, env, "alice@example.org")
	c.Append("INBOX", "$Important", msg)
	w.MustOK("SELECT INBOX")
	if r := appendTo("inbox", `\Seen $IMPORTANT`, "OK"); !strings.HasPrefix(r.Text, "[APPENDUID ") || !strings.Contains(r.Text, " 2]") {
		t.Errorf("APPEND to inbox: %s", r)
	}
	if r := w.MustOK("NOOP"); !r.Has("2 EXISTS") {
		t.Errorf("watching session after APPEND: %s", r)
	}
	c.MustOK("SELECT INBOX")
	if r := appendTo("INBOX", "$important", "OK"); !strings.Contains(r.Text, " 3]") || !r.Has("3 EXISTS") {
		t.Errorf("APPEND to the selected mailbox: %s %s", r, r.Text)
	}
	r := c.MustOK("FETCH 1:* (FLAGS)")
	for _, line := range r.Untagged {
		if strings.Contains(line, "FETCH") && !strings.Contains(line, "$Important") {
			t.Errorf("keyword not spelled as the mailbox does: %s", line)
		}
	}
}

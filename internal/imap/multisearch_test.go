package imap_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

// multisearchEnv makes RFC 7377 section 3's mailboxes: folder1, and
// folder2 with banana, peach and salmon below it (and one level further
// down, salmon/roe). Message i of each mailbox has subject "chad" when i
// is odd and is \Seen when i is even.
func multisearchEnv(t *testing.T) (*imaptest.Client, map[string]string) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	uidvalidity := map[string]string{}
	for _, mb := range []string{"INBOX", "folder1", "folder2", "folder2/banana", "folder2/peach", "folder2/salmon", "folder2/salmon/roe"} {
		if mb != "INBOX" {
			c.MustOK("CREATE " + mb)
		}
		for i := 1; i <= 4; i++ {
			subject := "other"
			if i%2 == 1 {
				subject = "chad"
			}
			flags := ""
			if i%2 == 0 {
				flags = `\Seen`
			}
			c.Append(mb, flags, imaptest.Message(subject, "body"))
		}
		st := c.MustOK("STATUS " + mb + " (UIDVALIDITY)").Find("STATUS")
		uidvalidity[mb] = regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(st)[1]
	}
	c.MustOK("SUBSCRIBE folder2/peach")
	return c, uidvalidity
}

func TestMultisearch(t *testing.T) {
	c, uv := multisearchEnv(t)
	if r := c.MustOK("CAPABILITY"); !r.Has("MULTISEARCH") {
		t.Fatalf("MULTISEARCH not advertised: %s", r)
	}
	line := func(tag, mb, rest string) string {
		return fmt.Sprintf("ESEARCH (TAG %q MAILBOX %s UIDVALIDITY %s) UID %s", tag, mb, uv[mb], rest)
	}
	for _, tc := range []struct {
		cmd  string
		want []string // for tag "t"
	}{
		// RFC 7377 section 3, on our mailboxes.
		{`ESEARCH IN (mailboxes "folder1" subtree "folder2") unseen`, []string{
			line("t", "folder1", "ALL 1,3"), line("t", "folder2", "ALL 1,3"), line("t", "folder2/banana", "ALL 1,3"),
			line("t", "folder2/peach", "ALL 1,3"), line("t", "folder2/salmon", "ALL 1,3"), line("t", "folder2/salmon/roe", "ALL 1,3")}},
		{`ESEARCH IN (mailboxes "folder1" subtree-one "folder2") subject "chad"`, []string{
			line("t", "folder1", "ALL 1,3"), line("t", "folder2", "ALL 1,3"), line("t", "folder2/banana", "ALL 1,3"),
			line("t", "folder2/peach", "ALL 1,3"), line("t", "folder2/salmon", "ALL 1,3")}},
		// Result options apply per mailbox; mailboxes without matches
		// get no response, even with COUNT (section 2.1).
		{`ESEARCH IN (inboxes subscribed) RETURN (MIN MAX COUNT) SEEN`, []string{
			line("t", "INBOX", "MIN 2 MAX 4 COUNT 2"), line("t", "folder2/peach", "MIN 2 MAX 4 COUNT 2")}},
		{`ESEARCH IN (personal) SUBJECT nothing-matches`, nil},
		{`ESEARCH IN (mailboxes (folder1 "nowhere" INBOX)) RETURN (COUNT) ALL`, []string{line("t", "INBOX", "COUNT 4"), line("t", "folder1", "COUNT 4")}},
		// Sequence numbers of an unselected mailbox are its messages'
		// positions, and a range beyond the end is no error.
		{`ESEARCH IN (mailboxes folder1) 2:100`, []string{line("t", "folder1", "ALL 2:4")}},
		{`ESEARCH IN (mailboxes folder1) RETURN (PARTIAL -1:-2) ALL`, []string{line("t", "folder1", "PARTIAL (-1:-2 3:4)")}},
	} {
		c.Write("t " + tc.cmd + "\r\n")
		r := c.Read("t")
		if r.Status != "OK" || strings.Join(r.Untagged, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\ngot  %s\nwant %q", tc.cmd, r, tc.want)
		}
	}
	// MODSEQ reports each mailbox's highest (RFC 7162 section 3.1.10).
	r := c.MustOK(`ESEARCH IN (mailboxes folder1) MODSEQ 1`)
	if len(r.Untagged) != 1 || !regexp.MustCompile(`UID ALL 1:4 MODSEQ \d+$`).MatchString(r.Find("ESEARCH")) {
		t.Errorf("ESEARCH MODSEQ: %s", r)
	}

	// The selected mailbox: needs one, stays selected, "$" only alone.
	c.Expect("ESEARCH ALL", "BAD")
	c.Expect("ESEARCH IN (selected) ALL", "BAD")
	c.MustOK("SELECT folder1")
	r = c.MustOK("ESEARCH RETURN (SAVE MIN) UNSEEN")
	if len(r.Untagged) != 1 || !strings.HasSuffix(r.Untagged[0], fmt.Sprintf(`MAILBOX folder1 UIDVALIDITY %s) UID MIN 1`, uv["folder1"])) {
		t.Errorf("ESEARCH RETURN (SAVE MIN): %s", r)
	}
	if r := c.MustOK("UID FETCH $ (UID)"); len(r.Untagged) != 1 || !strings.Contains(r.Untagged[0], "UID 1") {
		t.Errorf("$ after ESEARCH SAVE MIN: %s", r)
	}
	c.Expect("ESEARCH IN (selected personal) RETURN (SAVE) ALL", "BAD")
	r = c.MustOK("ESEARCH IN (personal) RETURN (COUNT) $")
	if len(r.Untagged) != 1 || !strings.Contains(r.Untagged[0], `MAILBOX folder1 `) {
		t.Errorf("$ matches only in the selected mailbox: %s", r)
	}
	r = c.MustOK("ESEARCH IN (selected mailboxes folder1) 1")
	if len(r.Untagged) != 1 || !strings.HasSuffix(r.Untagged[0], "UID ALL 1") {
		t.Errorf("the selected mailbox named twice: %s", r)
	}
	c.MustOK("FETCH 1:4 (FLAGS)")
	c.Expect("ESEARCH CHARSET KOI8-R ALL", "NO")

	// Pipelined: each response carries its command's tag.
	c.Write("p1 ESEARCH IN (mailboxes folder2/banana) 1\r\np2 ESEARCH IN (mailboxes folder2/peach) 2\r\n")
	r1, r2 := c.Read("p1"), c.Read("p2")
	if len(r1.Untagged) != 1 || r1.Untagged[0] != line("p1", "folder2/banana", "ALL 1") ||
		len(r2.Untagged) != 1 || r2.Untagged[0] != line("p2", "folder2/peach", "ALL 2") {
		t.Errorf("pipelined: %s\n%s", r1, r2)
	}
}

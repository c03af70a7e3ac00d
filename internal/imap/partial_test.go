package imap_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestPartial(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	fill(t, c, 10)
	c.MustOK("SELECT INBOX")
	c.MustOK("STORE 2,4 +FLAGS (\\Deleted)")
	// Undeleted: 1 3 5 6 7 8 9 10.
	for _, tc := range []struct{ cmd, want string }{
		{"SEARCH RETURN (PARTIAL 1:3) UNDELETED", "PARTIAL (1:3 1,3,5)"},
		{"SEARCH RETURN (PARTIAL 4:100 COUNT) UNDELETED", "COUNT 8 PARTIAL (4:100 6:10)"},
		{"SEARCH RETURN (PARTIAL -1:-2) UNDELETED", "PARTIAL (-1:-2 9:10)"},
		{"SEARCH RETURN (PARTIAL -8:-100) UNDELETED", "PARTIAL (-8:-100 1)"},
		{"SEARCH RETURN (PARTIAL 9:20) UNDELETED", "PARTIAL (9:20 NIL)"},
		{"SEARCH RETURN (MIN PARTIAL 2:2) UNDELETED", "MIN 1 PARTIAL (2:2 3)"},
	} {
		r := c.MustOK(tc.cmd)
		if got := r.Find("ESEARCH"); !strings.HasSuffix(got, tc.want) {
			t.Errorf("%s: got %q, want suffix %q", tc.cmd, got, tc.want)
		}
	}
	// SAVE with PARTIAL keeps the page in "$" (RFC 9394 section 3.2).
	c.MustOK("SEARCH RETURN (SAVE PARTIAL 2:3) UNDELETED")
	if got := c.MustOK("FETCH $ (UID)"); len(got.Untagged) != 2 || !got.Has("3 FETCH") || !got.Has("5 FETCH") {
		t.Errorf("$ after SAVE PARTIAL: %s", got)
	}
	// UID FETCH ... (PARTIAL): positions within the set.
	r := c.MustOK("UID FETCH 3:10 (FLAGS) (PARTIAL -1:-3)")
	var uids []string
	for _, l := range r.Untagged {
		uids = append(uids, strings.Fields(l)[3])
	}
	if strings.Join(uids, " ") != "8 9 10" {
		t.Errorf("UID FETCH PARTIAL -1:-3: %s", r)
	}
	r = c.MustOK("UID FETCH 1:* (FLAGS) (PARTIAL 2:3)")
	if len(r.Untagged) != 2 || !r.Has("UID 2 ") || !r.Has("UID 3 ") {
		t.Errorf("UID FETCH PARTIAL 2:3: %s", r)
	}
	// With CHANGEDSINCE: the page first, then the changed ones in it.
	hi := highestModSeq(t, c.MustOK("SELECT INBOX"))
	c.MustOK("STORE 9 +FLAGS (\\Seen)")
	r = c.MustOK(fmt.Sprintf("UID FETCH 1:* (FLAGS) (PARTIAL -1:-3 CHANGEDSINCE %d)", hi))
	// CHANGEDSINCE is the session's first CONDSTORE enabling command, so
	// an untagged OK [HIGHESTMODSEQ] comes first (RFC 7162 section 3.1).
	fetches := slices.DeleteFunc(slices.Clone(r.Untagged), func(l string) bool { return !strings.Contains(l, " FETCH ") })
	if len(fetches) != 1 || !r.Has("UID 9 ") || !r.Has("OK [HIGHESTMODSEQ ") {
		t.Errorf("PARTIAL with CHANGEDSINCE: %s", r)
	}
	c.Expect("FETCH 1:* (FLAGS) (PARTIAL 1:2)", "BAD")
}

package imap_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

// multisearchFuzzyEnv holds three mailboxes for MULTISEARCH with RELEVANCY
// (RFC 6203 section 4): INBOX with four matches for "budget", one of them
// misspelt; Work, whose better match (the shorter text) has the higher
// UID, so that score order and UID order differ; and Empty, with no
// match. The full-text index is complete before the first search, so
// that scores do not change between two searches.
func multisearchFuzzyEnv(t *testing.T) (*imaptest.Client, map[string]string) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	boxes := map[string][]struct{ subject, body string }{
		"INBOX": {
			{"lunch", "nothing of interest here"},                    // 1
			{"Budget review", "the quarterly budget review is here"}, // 2
			{"typo", "quartely budgte"},                              // 3
			{"same", "budget"},                                       // 4
			{"budgets", "budgets were discussed"},                    // 5
		},
		"Work": {
			{"same", "budget " + strings.Repeat("and more words ", 150)}, // 1: longer, lower score
			{"lunch", "nothing of interest here"},                        // 2
			{"same", "budget"},                                           // 3
		},
		"Empty": {{"lunch", "nothing of interest here"}},
	}
	uidvalidity := map[string]string{}
	for _, mb := range []string{"INBOX", "Work", "Empty"} {
		if mb != "INBOX" {
			c.MustOK("CREATE " + mb)
		}
		for _, m := range boxes[mb] {
			c.Append(mb, "", imaptest.Message(m.subject, m.body))
		}
		st := c.MustOK("STATUS " + mb + " (UIDVALIDITY)").Find("STATUS")
		uidvalidity[mb] = regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(st)[1]
	}
	if err := env.Server.Store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, uidvalidity
}

// scoreList formats scores as RELEVANCY's score-list holds them.
func scoreList(scores []int) string {
	return strings.Trim(fmt.Sprint(scores), "[]")
}

func TestMultisearchRelevancy(t *testing.T) {
	c, uv := multisearchFuzzyEnv(t)
	const query = `FUZZY BODY budget`

	// Each mailbox's scores as SEARCH gives them with the mailbox
	// selected: the reference MULTISEARCH must agree with.
	scoresOf := func(mb, program, wantAll string) []int {
		t.Helper()
		c.MustOK("EXAMINE " + mb)
		line := c.MustOK("UID SEARCH RETURN (ALL RELEVANCY) " + program).Find("ESEARCH")
		if !strings.Contains(line, " UID ALL "+wantAll+" RELEVANCY (") {
			t.Fatalf("SEARCH %s in %s: %q, want ALL %s", program, mb, line, wantAll)
		}
		return relevancy(t, line)
	}
	inbox := scoresOf("INBOX", query, "2:5")
	work := scoresOf("Work", query, "1,3")
	inboxNotSame := scoresOf("INBOX", "NOT SUBJECT same "+query, "2:3,5")
	// The best match of a mailbox scores 100, the same text in more
	// words less.
	if len(inbox) != 4 || slices.Max(inbox) != 100 || slices.Min(inbox) == 100 {
		t.Fatalf("SEARCH relevancy in INBOX, for UIDs 2 3 4 5: %v", inbox)
	}
	if len(work) != 2 || work[1] != 100 || work[0] >= 100 {
		t.Fatalf("SEARCH relevancy in Work, for UIDs 1 3: %v", work)
	}

	// INBOX stays selected: MULTISEARCH searches it through the
	// session's view and Work and Empty through snapshots.
	c.MustOK("SELECT INBOX")
	line := func(tag, mb, rest string) string {
		return fmt.Sprintf("ESEARCH (TAG %q MAILBOX %s UIDVALIDITY %s) UID %s", tag, mb, uv[mb], rest)
	}
	for _, tc := range []struct {
		cmd  string
		want []string // for tag "t"
	}{
		// Section 4: the scores in the order of ALL, which is not the
		// order of the scores in Work; Empty has no match and no
		// response (RFC 7377 section 2.1).
		{`ESEARCH IN (personal) RETURN (ALL RELEVANCY) ` + query, []string{
			line("t", "INBOX", "ALL 2:5 RELEVANCY ("+scoreList(inbox)+")"),
			line("t", "Work", "ALL 1,3 RELEVANCY ("+scoreList(work)+")")}},
		{`ESEARCH IN (mailboxes Work) RETURN (RELEVANCY ALL) ` + query, []string{
			line("t", "Work", fmt.Sprintf("ALL 1,3 RELEVANCY (%d 100)", work[0]))}},
		// Without ALL, as SEARCH: the scores of all matches, in UID
		// order; MIN, MAX and COUNT do not narrow them.
		{`ESEARCH IN (mailboxes Work) RETURN (RELEVANCY) ` + query, []string{
			line("t", "Work", "RELEVANCY ("+scoreList(work)+")")}},
		{`ESEARCH IN (mailboxes Work inboxes) RETURN (COUNT RELEVANCY) ` + query, []string{
			line("t", "INBOX", "COUNT 4 RELEVANCY ("+scoreList(inbox)+")"),
			line("t", "Work", "COUNT 2 RELEVANCY ("+scoreList(work)+")")}},
		{`ESEARCH IN (mailboxes Work) RETURN (MAX RELEVANCY) ` + query, []string{
			line("t", "Work", "MAX 3 RELEVANCY ("+scoreList(work)+")")}},
		// With PARTIAL, the scores of the page (RFC 9394), as SEARCH.
		{`ESEARCH IN (personal) RETURN (PARTIAL 2:3 RELEVANCY) ` + query, []string{
			line("t", "INBOX", "PARTIAL (2:3 3:4) RELEVANCY ("+scoreList(inbox[1:3])+")"),
			line("t", "Work", "PARTIAL (2:3 3) RELEVANCY (100)")}},
		{`ESEARCH IN (mailboxes Work) RETURN (PARTIAL -1:-1 RELEVANCY) ` + query, []string{
			line("t", "Work", "PARTIAL (-1:-1 3) RELEVANCY (100)")}},
		// FUZZY may stand anywhere in the program; keys outside it
		// match exactly and narrow the matches, which are scored anew.
		{`ESEARCH IN (mailboxes Work) RETURN (ALL RELEVANCY) UID 1 ` + query, []string{
			line("t", "Work", "ALL 1 RELEVANCY (100)")}},
		{`ESEARCH IN (personal) RETURN (ALL RELEVANCY) NOT SUBJECT same ` + query, []string{
			line("t", "INBOX", "ALL 2:3,5 RELEVANCY ("+scoreList(inboxNotSame)+")")}},
	} {
		c.Write("t " + tc.cmd + "\r\n")
		r := c.Read("t")
		if r.Status != "OK" || strings.Join(r.Untagged, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\ngot  %s\nwant %q", tc.cmd, r, tc.want)
		}
	}

	// RELEVANCY needs a FUZZY key (section 4): BAD, and no mailbox is
	// searched.
	for _, cmd := range []string{
		`ESEARCH IN (personal) RETURN (RELEVANCY ALL) BODY budget`,
		`ESEARCH IN (mailboxes Work) RETURN (RELEVANCY) ALL`,
	} {
		if r := c.Expect(cmd, "BAD"); len(r.Untagged) != 0 {
			t.Errorf("%s: untagged responses %q", cmd, r.Untagged)
		}
	}

	// SAVE with RELEVANCY in the selected mailbox: the scores, and "$"
	// holds every match, as after SEARCH RETURN (SAVE RELEVANCY).
	c.Write("s ESEARCH RETURN (SAVE RELEVANCY) " + query + "\r\n")
	r := c.Read("s")
	if want := line("s", "INBOX", "RELEVANCY ("+scoreList(inbox)+")"); r.Status != "OK" || len(r.Untagged) != 1 || r.Untagged[0] != want {
		t.Errorf("ESEARCH RETURN (SAVE RELEVANCY):\ngot  %s\nwant %q", r, want)
	}
	if got := c.MustOK("UID SEARCH $").Find("SEARCH"); got != "SEARCH 2 3 4 5" {
		t.Errorf("$ after ESEARCH RETURN (SAVE RELEVANCY): %q", got)
	}
}

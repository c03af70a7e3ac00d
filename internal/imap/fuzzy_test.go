package imap_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

// fuzzyEnv holds messages that FUZZY ranks differently.
func fuzzyEnv(t *testing.T) *imaptest.Client {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	for _, m := range []struct{ subject, body string }{
		{"Quarterly budget review", "the quarterly budget review is attached"}, // 1
		{"budgets", "budgets were discussed"},                                  // 2
		{"misc", "quarterly numbers only"},                                     // 3
		{"lunch", "nothing of interest here"},                                  // 4
		{"typo", "quartely budgte"},                                            // 5
		{"same", "budget"},                                                     // 6
		{"same", "budget " + strings.Repeat("and more words ", 150)},           // 7: longer, lower score
	} {
		c.Append("INBOX", "", imaptest.Message(m.subject, m.body))
	}
	c.MustOK("SELECT INBOX")
	return c
}

// relevancy parses "RELEVANCY (a b c)" out of an ESEARCH line.
func relevancy(t *testing.T, line string) []int {
	t.Helper()
	_, list, ok := strings.Cut(line, "RELEVANCY (")
	if !ok {
		t.Fatalf("no RELEVANCY in %q", line)
	}
	list, _, _ = strings.Cut(list, ")")
	var out []int
	for _, f := range strings.Fields(list) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 100 {
			t.Fatalf("score %q in %q", f, line)
		}
		out = append(out, n)
	}
	return out
}

func TestSearchFuzzy(t *testing.T) {
	c := fuzzyEnv(t)
	if !c.MustOK("CAPABILITY").Has("SEARCH=FUZZY") {
		t.Fatal("SEARCH=FUZZY not advertised")
	}
	for _, tc := range []struct{ query, want string }{
		{`FUZZY BODY "quarterly budget"`, "1 5"},
		{`FUZZY (SUBJECT "quartely")`, "1"},
		{`FUZZY SUBJECT budgte`, "1 2"},
		{`FUZZY SUBJECT same BODY budget`, "6 7"},          // BODY outside FUZZY: exact
		{`FUZZY (SUBJECT same NOT BODY wrds)`, "6"},        // "wrds" ~ "words", under NOT
		{`OR FUZZY BODY numbrs FUZZY SUBJECT lnch`, "3 4"}, // approximate in both branches
		{`FUZZY (SUBJECT "IMAP break")`, ""},               // the RFC's example, nothing like it here
		{`FUZZY BODY qu`, "1 3 5"},                         // too short for words: a substring
		{`FUZZY (UNSEEN SUBJECT typo)`, "5"},               // flags stay exact
		{`UID 2:6 FUZZY BODY budget`, "2 5 6"},
	} {
		r := c.MustOK("SEARCH " + tc.query)
		if got := strings.TrimSpace(strings.TrimPrefix(r.Find("SEARCH"), "SEARCH")); got != tc.want {
			t.Errorf("SEARCH %s = %q, want %q", tc.query, got, tc.want)
		}
	}
	// RFC 6203 section 4: the scores of ALL, the best 100.
	r := c.MustOK(`SEARCH RETURN (RELEVANCY ALL) FUZZY BODY "quarterly budget"`)
	line := r.Find("ESEARCH")
	if !strings.Contains(line, " ALL 1,5 ") {
		t.Fatalf("ESEARCH: %q", line)
	}
	if rel := relevancy(t, line); len(rel) != 2 || rel[0] != 100 || rel[1] >= 100 {
		t.Errorf("relevancy %v", rel)
	}
	r = c.MustOK(`UID SEARCH RETURN (COUNT RELEVANCY) FUZZY BODY budget`)
	if line := r.Find("ESEARCH"); !strings.Contains(line, "COUNT 5") || len(relevancy(t, line)) != 5 {
		t.Errorf("COUNT RELEVANCY: %q", line)
	}
	// RELEVANCY needs FUZZY.
	c.Expect(`SEARCH RETURN (RELEVANCY) BODY budget`, "BAD")
	c.Expect(`SORT (RELEVANCY) UTF-8 BODY budget`, "BAD")
	// SAVE with RELEVANCY keeps every match.
	c.MustOK(`SEARCH RETURN (SAVE RELEVANCY) FUZZY BODY "quarterly budget"`)
	if got := c.MustOK("SEARCH $").Find("SEARCH"); got != "SEARCH 1 5" {
		t.Errorf("$ after SAVE RELEVANCY: %q", got)
	}
}

func TestSortRelevancy(t *testing.T) {
	c := fuzzyEnv(t)
	for _, tc := range []struct{ query, want string }{
		// Section 6: highest score first.
		{`SORT (RELEVANCY) UTF-8 FUZZY BODY "quarterly budget"`, "1 5"},
		{`SORT (REVERSE RELEVANCY) UTF-8 FUZZY BODY "quarterly budget"`, "5 1"},
		// Within equal subjects, relevancy decides; the shorter text of
		// 6 ranks above 7.
		{`SORT (SUBJECT RELEVANCY) UTF-8 FUZZY BODY budget`, "2 1 6 7 5"},
		{`SORT (SUBJECT REVERSE RELEVANCY) UTF-8 FUZZY BODY budget`, "2 1 7 6 5"},
		{`SORT (REVERSE SUBJECT RELEVANCY ARRIVAL) UTF-8 FUZZY BODY budget`, "5 6 7 1 2"},
		{`SORT (ARRIVAL) UTF-8 FUZZY BODY budget`, "1 2 5 6 7"},
	} {
		r := c.MustOK(tc.query)
		if got := strings.TrimSpace(strings.TrimPrefix(r.Find("SORT"), "SORT")); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.query, got, tc.want)
		}
	}
	// ESORT with RELEVANCY: scores in sort order, so descending.
	r := c.MustOK(`SORT RETURN (RELEVANCY ALL) (RELEVANCY) UTF-8 FUZZY BODY budget`)
	line := r.Find("ESEARCH")
	rel := relevancy(t, line)
	if len(rel) != 5 || rel[0] != 100 {
		t.Fatalf("ESORT: %q", line)
	}
	for i := 1; i < len(rel); i++ {
		if rel[i] > rel[i-1] {
			t.Errorf("scores not in descending order: %v", rel)
		}
	}
	r = c.MustOK(`UID SORT RETURN (RELEVANCY COUNT) (ARRIVAL) UTF-8 FUZZY BODY "quarterly budget"`)
	if line := r.Find("ESEARCH"); !strings.Contains(line, "COUNT 2") || fmt.Sprint(relevancy(t, line)[0]) != "100" {
		t.Errorf("ESORT by arrival: %q", line)
	}
}

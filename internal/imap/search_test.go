package imap_test

import (
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func searchEnv(t *testing.T) *imaptest.Client {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	msgs := []struct{ flags, date, subject, from, body string }{
		{`\Seen`, "01-Jan-2026 10:00:00 +0000", "Quarterly report", "Bob <bob@example.org>", "numbers and more numbers"},
		{`\Flagged`, "15-Mar-2026 23:30:00 -0500", "Grüße aus München", "Jürgen <juergen@example.de>", "Straße und Größe"},
		{`\Seen \Answered $Work`, "20-Nov-2026 08:00:00 +0100", "Lunch?", "Carol <carol@example.org>", "pizza at noon"},
		{`\Deleted`, "24-Nov-2026 12:00:00 +0000", "Re: Quarterly report", "Bob <bob@example.org>", "see attached"},
	}
	for i, m := range msgs {
		raw := fmt.Sprintf("From: %s\r\nTo: alice@example.org\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d@x>\r\nX-Tag: tag%d\r\n\r\n%s\r\n",
			m.from, m.subject, dateHeader(m.date), i, i, m.body)
		r := c.Do(fmt.Sprintf("APPEND INBOX (%s) \"%s\" {%d+}\r\n%s", m.flags, m.date, len(raw), raw))
		if r.Status != "OK" {
			t.Fatalf("APPEND: %s", r)
		}
	}
	c.MustOK("SELECT INBOX")
	return c
}

// dateHeader turns an IMAP date-time into an RFC 5322 Date value.
func dateHeader(d string) string {
	// "01-Jan-2026 10:00:00 +0000" -> "01 Jan 2026 10:00:00 +0000"
	return strings.Replace(strings.Replace(d, "-", " ", 2), " +", " +", 1)
}

func TestSearchCriteria(t *testing.T) {
	c := searchEnv(t)
	cases := []struct{ query, want string }{
		{"ALL", "1 2 3 4"},
		{"SEEN", "1 3"},
		{"UNSEEN", "2 4"},
		{"FLAGGED", "2"},
		{"ANSWERED UNDELETED", "3"},
		{"DELETED", "4"},
		{"KEYWORD $Work", "3"},
		{"KEYWORD $work", "3"},
		{"UNKEYWORD $Work", "1 2 4"},
		{"SUBJECT quarterly", "1 4"},
		{"SUBJECT \"RE: QUARTERLY\"", "4"},
		{"CHARSET UTF-8 SUBJECT \"grüsse\"", ""},
		{"CHARSET UTF-8 SUBJECT \"GRÜSSE\"", ""},
		{"CHARSET UTF-8 SUBJECT \"MÜNCHEN\"", "2"},
		{"FROM bob", "1 4"},
		{"FROM \"example.de\"", "2"},
		{"TO alice", "1 2 3 4"},
		{"HEADER X-Tag tag2", "3"},
		{"HEADER X-Tag \"\"", "1 2 3 4"},
		{"HEADER X-Missing \"\"", ""},
		{"BODY pizza", "3"},
		{"CHARSET UTF-8 BODY \"STRASSE\"", ""},
		{"CHARSET UTF-8 BODY \"straße\"", "2"},
		{"TEXT noon", "3"},
		{"TEXT carol", "3"},
		{"SINCE 20-Nov-2026", "3 4"},
		{"BEFORE 20-Nov-2026", "1 2"},
		{"ON 15-Mar-2026", "2"},
		{"SENTON 15-Mar-2026", "2"},
		{"SENTSINCE 1-Nov-2026 SENTBEFORE 24-Nov-2026", "3"},
		{"LARGER 150 SMALLER 100000", "1 2 3 4"},
		{"SMALLER 10", ""},
		{"NOT SEEN", "2 4"},
		{"OR FLAGGED DELETED", "2 4"},
		{"OR (SEEN FROM carol) SUBJECT lunch", "3"},
		{"(SEEN) (UNANSWERED)", "1"},
		{"2:3", "2 3"},
		{"2:*", "2 3 4"},
		{"UID 1,4", "1 4"},
		{"UID 3:*", "3 4"},
		{"1:10", "1 2 3 4"},
		{"NOT 1:2", "3 4"},
		{"RECENT", "1 2 3 4"},
		{"NEW", "2 4"},
		{"OLD", ""},
		{"YOUNGER 2000000000", "1 2 3 4"},
		{"OLDER 2000000000", ""},
	}
	for _, tc := range cases {
		r := c.Do("SEARCH " + tc.query)
		if r.Status != "OK" {
			t.Errorf("SEARCH %s: %s", tc.query, r)
			continue
		}
		got := strings.TrimSpace(strings.TrimPrefix(r.Find("SEARCH"), "SEARCH"))
		if got != tc.want {
			t.Errorf("SEARCH %s = %q, want %q", tc.query, got, tc.want)
		}
	}
	for _, bad := range []string{"BOGUS", "SINCE notadate", "OR SEEN", "(SEEN", "KEYWORD \\Seen", "CHARSET UTF-8"} {
		c.Expect("SEARCH "+bad, "BAD")
	}
	r := c.Expect("SEARCH CHARSET KOI8-R SUBJECT x", "NO")
	if !strings.HasPrefix(r.Text, "[BADCHARSET") {
		t.Fatal(r)
	}
}

func TestSearchUIDAndEsearch(t *testing.T) {
	c := searchEnv(t)
	c.MustOK("STORE 1 +FLAGS (\\Deleted)")
	c.MustOK("UID EXPUNGE 1") // UIDs 2 3 4 remain as 1 2 3
	if got := c.MustOK("UID SEARCH SUBJECT quarterly").Find("SEARCH"); got != "SEARCH 4" {
		t.Fatal(got)
	}
	if got := c.MustOK("SEARCH SUBJECT quarterly").Find("SEARCH"); got != "SEARCH 3" {
		t.Fatal(got)
	}
	r := c.MustOK("SEARCH RETURN (MIN MAX COUNT) ALL")
	if got := r.Find("ESEARCH"); !strings.HasSuffix(got, ") MIN 1 MAX 3 COUNT 3") {
		t.Fatal(r)
	}
	r = c.MustOK("UID SEARCH RETURN () UNDELETED")
	if got := r.Find("ESEARCH"); !strings.HasSuffix(got, ") UID ALL 2:3") {
		t.Fatal(r)
	}
	r = c.MustOK("SEARCH RETURN (COUNT) SUBJECT nothing-matches")
	if got := r.Find("ESEARCH"); !strings.HasSuffix(got, ") COUNT 0") {
		t.Fatal(r)
	}
	r = c.MustOK("SEARCH RETURN (MIN) SUBJECT nothing-matches")
	if got := r.Find("ESEARCH"); strings.Contains(got, "MIN") {
		t.Fatal(r)
	}
}

func TestSearchRes(t *testing.T) {
	c := searchEnv(t)
	r := c.MustOK("SEARCH RETURN (SAVE) FROM bob")
	if len(r.Untagged) != 0 {
		t.Fatalf("RETURN (SAVE) answered: %s", r)
	}
	r = c.MustOK("FETCH $ (UID)")
	if len(r.Untagged) != 2 || r.Untagged[0] != "1 FETCH (UID 1)" || r.Untagged[1] != "4 FETCH (UID 4)" {
		t.Fatal(r)
	}
	if got := c.MustOK("UID SEARCH UID $ DELETED").Find("SEARCH"); got != "SEARCH 4" {
		t.Fatal(got)
	}
	if got := c.MustOK("SEARCH OR $ 2").Find("SEARCH"); got != "SEARCH 1 2 4" {
		t.Fatal(got)
	}
	c.MustOK("UID STORE $ +FLAGS (\\Flagged)")
	// MIN with SAVE saves only the minimum (RFC 5182 section 2.4).
	c.MustOK("SEARCH RETURN (SAVE MIN) FLAGGED")
	if got := c.MustOK("FETCH $ UID").Untagged; len(got) != 1 || got[0] != "1 FETCH (UID 1)" {
		t.Fatal(got)
	}
	// A failed SEARCH (SAVE) empties "$"; a BAD leaves it alone.
	c.Expect("SEARCH RETURN (SAVE) BOGUS", "BAD")
	if got := c.MustOK("FETCH $ UID").Untagged; len(got) != 1 {
		t.Fatal(got)
	}
	c.Expect("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL", "NO")
	if got := c.MustOK("FETCH $ UID").Untagged; len(got) != 0 {
		t.Fatal(got)
	}
	// Expunged messages leave "$".
	c.MustOK("SEARCH RETURN (SAVE) ALL")
	c.MustOK("EXPUNGE")
	if got := c.MustOK("UID FETCH $ UID").Untagged; len(got) != 3 {
		t.Fatal(got)
	}
}

package imap_test

import (
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

// sortMessages are appended in this order (UIDs 1..6).
var sortMessages = []string{
	"From: Zed <zed@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Re: Lunch\r\nDate: Tue, 3 Feb 2026 10:00:00 +0000\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n\r\nyes\r\n",
	"From: adam@example.org\r\nTo: alice@example.org\r\nSubject: Lunch\r\nDate: Mon, 2 Feb 2026 10:00:00 +0000\r\nMessage-ID: <a@x>\r\n\r\nlunch?\r\n",
	"From: \"Mia\" <mia@example.org>\r\nTo: carl@example.org\r\nCc: dora@example.org\r\nSubject: [list] Budget\r\nDate: Wed, 4 Feb 2026 10:00:00 +0000\r\nMessage-ID: <c@x>\r\n\r\nnumbers, more numbers, and even more numbers\r\n",
	"From: Bea <bea@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: Fwd: budget\r\nDate: Thu, 5 Feb 2026 10:00:00 +0000\r\nMessage-ID: <d@x>\r\n\r\nfwd\r\n",
	"From: zed@example.org\r\nTo: adam@example.org\r\nSubject: Re: Lunch\r\nDate: Sun, 1 Feb 2026 10:00:00 +0000\r\nMessage-ID: <e@x>\r\nIn-Reply-To: <b@x>\r\n\r\nok\r\n",
	"From: Carl <carl@example.org>\r\nSubject: Other\r\nMessage-ID: <f@x>\r\n\r\nno date\r\n",
}

func sortEnv(t *testing.T) *imaptest.Client {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	for _, m := range sortMessages {
		c.Append("INBOX", "", m)
	}
	c.MustOK("SELECT INBOX")
	return c
}

func TestSort(t *testing.T) {
	c := sortEnv(t)
	for _, tc := range []struct{ cmd, want string }{
		// Base subjects: lunch (1,2,5), budget (3,4), other (6).
		{"SORT (SUBJECT) UTF-8 ALL", "SORT 3 4 1 2 5 6"},
		{"SORT (SUBJECT DATE) UTF-8 ALL", "SORT 3 4 5 2 1 6"},
		// Message 6 has no Date: its internal date (now) sorts last.
		{"SORT (DATE) UTF-8 ALL", "SORT 5 2 1 3 4 6"},
		{"SORT (REVERSE DATE) UTF-8 ALL", "SORT 6 4 3 1 2 5"},
		{"SORT (ARRIVAL) UTF-8 ALL", "SORT 1 2 3 4 5 6"},
		// addr-mailbox of the first From: adam bea carl mia zed zed.
		{"SORT (FROM) UTF-8 ALL", "SORT 2 4 6 3 1 5"},
		// Display names: adam@example.org, Bea, Carl, Mia, Zed, zed@example.org.
		{"SORT (DISPLAYFROM) UTF-8 ALL", "SORT 2 4 6 3 1 5"},
		// To: adam alice alice bob carl, and none (empty) first.
		{"SORT (TO) UTF-8 ALL", "SORT 6 5 2 4 1 3"},
		{"SORT (DISPLAYTO) UTF-8 ALL", "SORT 6 5 4 2 1 3"},
		{"SORT (CC ARRIVAL) UTF-8 ALL", "SORT 1 2 4 5 6 3"},
		{"SORT (SIZE) UTF-8 SUBJECT lunch", "SORT 2 5 1"},
		{"UID SORT (REVERSE SUBJECT) US-ASCII NOT SUBJECT other", "SORT 1 2 5 3 4"},
	} {
		r := c.MustOK(tc.cmd)
		if got := r.Find("SORT"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
	// ESORT (RFC 5267): MIN and MAX in sort order, ALL in sort order.
	r := c.MustOK("SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
	if got := r.Find("ESEARCH"); !strings.HasSuffix(got, "MIN 5 MAX 6 COUNT 6 ALL 5,2,1,3:4,6") {
		t.Errorf("ESORT: %q", got)
	}
	r = c.MustOK("UID SORT RETURN () (SUBJECT) UTF-8 ALL")
	if got := r.Find("ESEARCH"); !strings.HasSuffix(got, "UID ALL 3:4,1:2,5:6") {
		t.Errorf("ESORT RETURN (): %q", got)
	}
	c.Expect("SORT (DATE) KOI8-R ALL", "NO")
	c.Expect("SORT (DATE) UTF-8", "BAD")
	if r := c.MustOK("CAPABILITY"); !r.Has("SORT=DISPLAY") || !r.Has("THREAD=REFERENCES") || !r.Has("ESORT") {
		t.Errorf("capabilities: %s", r)
	}
}

func TestThread(t *testing.T) {
	c := sortEnv(t)
	for _, tc := range []struct{ cmd, want string }{
		// By subject: lunch starts with 5 (Feb 1), budget with 3,
		// other with 6; each thread's first message is the parent.
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "THREAD (5 (2)(1))(3 4)(6)"},
		// By references: 2 <- 1 <- 5; budget 3 and 4 merge by subject
		// (4 is a forward, so a child of 3); 6 alone.
		{"THREAD REFERENCES UTF-8 ALL", "THREAD (2 1 5)(3 4)(6)"},
		{"UID THREAD REFERENCES UTF-8 SUBJECT lunch", "THREAD (2 1 5)"},
		{"THREAD REFERENCES UTF-8 SUBJECT nothing-matches", "THREAD"},
	} {
		r := c.MustOK(tc.cmd)
		if got := r.Find("THREAD"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// TestSortThreadOtherSessions: SORT and THREAD answers are served from
// keys the store keeps in memory; they must follow APPEND, EXPUNGE, MOVE
// and COPY made by another session, in UIDs and in sequence numbers.
func TestSortThreadOtherSessions(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	for _, m := range sortMessages {
		c.Append("INBOX", "", m)
	}
	c.MustOK("CREATE Other")
	c.MustOK("SELECT INBOX")
	other := imaptest.Login(t, env, "alice@example.org")
	other.MustOK("SELECT INBOX")
	check := func(step string, want map[string]string) {
		t.Helper()
		c.MustOK("NOOP") // learn of the other session's changes
		for cmd, w := range want {
			for range 2 { // cold, then from memory
				kw := "SORT"
				if strings.Contains(cmd, "THREAD") {
					kw = "THREAD"
				}
				if got := c.MustOK(cmd).Find(kw); got != w {
					t.Errorf("%s: %s: got %q, want %q", step, cmd, got, w)
				}
			}
		}
	}
	check("start", map[string]string{
		"UID SORT (SUBJECT) UTF-8 ALL":            "SORT 3 4 1 2 5 6",
		"UID THREAD REFERENCES UTF-8 ALL":         "THREAD (2 1 5)(3 4)(6)",
		"UID THREAD ORDEREDSUBJECT UTF-8 ALL":     "THREAD (5 (2)(1))(3 4)(6)",
		"SORT (REVERSE DATE SUBJECT) UTF-8 ALL":   "SORT 6 4 3 1 2 5",
		"UID SORT (DISPLAYFROM SIZE) UTF-8 ALL":   "SORT 2 4 6 3 1 5",
		"UID SORT (REVERSE SUBJECT) UTF-8 SEEN":   "SORT",
		"UID SORT (REVERSE SUBJECT) UTF-8 UNSEEN": "SORT 6 1 2 5 3 4",
	})
	// A message with the smallest subject and the earliest date, in
	// reply to 3.
	other.Append("INBOX", "", "Subject: Re: [list] Budget\r\nDate: Sat, 31 Jan 2026 10:00:00 +0000\r\nMessage-ID: <g@x>\r\nIn-Reply-To: <c@x>\r\n\r\nx\r\n")
	check("after APPEND", map[string]string{
		"UID SORT (SUBJECT) UTF-8 ALL":    "SORT 3 4 7 1 2 5 6",
		"UID SORT (DATE) UTF-8 ALL":       "SORT 7 5 2 1 3 4 6",
		"UID THREAD REFERENCES UTF-8 ALL": "THREAD (2 1 5)(3 (7)(4))(6)",
		"SORT (DATE) UTF-8 ALL":           "SORT 7 5 2 1 3 4 6",
	})
	other.MustOK("UID STORE 2 +FLAGS (\\Deleted \\Seen)")
	other.MustOK("EXPUNGE")
	// UIDs 1 3 4 5 6 7 are now sequence numbers 1 2 3 4 5 6.
	check("after EXPUNGE", map[string]string{
		"UID SORT (SUBJECT) UTF-8 ALL":    "SORT 3 4 7 1 5 6",
		"SORT (SUBJECT) UTF-8 ALL":        "SORT 2 3 6 1 4 5",
		"UID THREAD REFERENCES UTF-8 ALL": "THREAD (1 5)(3 (7)(4))(6)",
		"THREAD REFERENCES UTF-8 ALL":     "THREAD (1 4)(2 (6)(3))(5)",
	})
	other.MustOK("UID MOVE 3 Other")
	check("after MOVE out", map[string]string{
		"UID SORT (SUBJECT) UTF-8 ALL":    "SORT 4 7 1 5 6",
		"UID THREAD REFERENCES UTF-8 ALL": "THREAD ((7)(4))(1 5)(6)",
		"SORT (ARRIVAL) UTF-8 ALL":        "SORT 1 2 3 4 5",
	})
	other.MustOK("SELECT Other")
	other.MustOK("UID COPY 1 INBOX")
	check("after COPY in", map[string]string{
		"UID SORT (SUBJECT) UTF-8 ALL":    "SORT 4 7 8 1 5 6",
		"UID THREAD REFERENCES UTF-8 ALL": "THREAD (1 5)(8 (7)(4))(6)",
	})
}

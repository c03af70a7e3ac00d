package imap_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

var (
	emailIDRE   = regexp.MustCompile(`EMAILID \(([A-Za-z0-9_-]+)\)`)
	threadIDRE  = regexp.MustCompile(`THREADID \(([A-Za-z0-9_-]+)\)|THREADID NIL`)
	mailboxIDRE = regexp.MustCompile(`MAILBOXID \(([A-Za-z0-9_-]+)\)`)
)

func TestObjectIDAndSaveDate(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	r := c.MustOK("CREATE Projects")
	created := mailboxIDRE.FindStringSubmatch(r.Text)
	if created == nil {
		t.Fatalf("CREATE without MAILBOXID: %s", r)
	}
	// RENAME keeps the MAILBOXID (RFC 8474 section 4.2).
	c.MustOK("RENAME Projects Work")
	r = c.MustOK("STATUS Work (MAILBOXID MESSAGES)")
	if m := mailboxIDRE.FindStringSubmatch(r.Find("STATUS")); m == nil || m[1] != created[1] {
		t.Errorf("MAILBOXID after RENAME: %s, created as %s", r, created[1])
	}
	c.Append("Work", "", "Subject: first\r\nMessage-ID: <root@x>\r\n\r\na\r\n")
	c.Append("Work", "", "Subject: Re: first\r\nMessage-ID: <r1@x>\r\nReferences: <root@x>\r\n\r\nb\r\n")
	c.Append("Work", "", "Subject: lonely\r\n\r\nno id\r\n")
	sel := c.MustOK("SELECT Work")
	if !sel.Has("OK [MAILBOXID (" + created[1] + ")]") {
		t.Errorf("SELECT without MAILBOXID: %s", sel)
	}
	r = c.MustOK("FETCH 1:3 (EMAILID THREADID SAVEDATE)")
	var emails, threads []string
	for _, l := range r.Untagged {
		e, th := emailIDRE.FindStringSubmatch(l), threadIDRE.FindStringSubmatch(l)
		if e == nil || th == nil || !strings.Contains(l, "SAVEDATE \"") {
			t.Fatalf("FETCH: %q", l)
		}
		emails, threads = append(emails, e[1]), append(threads, th[1])
	}
	if threads[0] == "" || threads[0] != threads[1] || threads[2] != "" {
		t.Errorf("THREADIDs %q: the reply must share its thread's, the message without Message-ID has none", threads)
	}
	// A copy keeps its EMAILID (section 5.1).
	c.MustOK("COPY 1 INBOX")
	c.MustOK("EXAMINE INBOX")
	r = c.MustOK("FETCH 1 (EMAILID)")
	if m := emailIDRE.FindStringSubmatch(r.Untagged[0]); m == nil || m[1] != emails[0] {
		t.Errorf("EMAILID of the copy: %s, original %s", r, emails[0])
	}
	c.MustOK("SELECT Work")
	r = c.MustOK("SEARCH EMAILID " + emails[1])
	if got := r.Find("SEARCH"); got != "SEARCH 2" {
		t.Errorf("SEARCH EMAILID: %q", got)
	}
	r = c.MustOK("UID SEARCH THREADID " + threads[0])
	if got := r.Find("SEARCH"); got != "SEARCH 1 2" {
		t.Errorf("SEARCH THREADID: %q", got)
	}
	if got := c.MustOK("SEARCH EMAILID Enothere").Find("SEARCH"); got != "SEARCH" {
		t.Errorf("SEARCH for an unknown EMAILID: %q", got)
	}
	// SAVEDATE (RFC 8514): saved today, in UTC.
	today := time.Now().UTC().Format("2-Jan-2006")
	if got := c.MustOK("SEARCH SAVEDON " + today).Find("SEARCH"); got != "SEARCH 1 2 3" {
		t.Errorf("SEARCH SAVEDON today: %q", got)
	}
	if got := c.MustOK("SEARCH SAVEDBEFORE " + today).Find("SEARCH"); got != "SEARCH" {
		t.Errorf("SEARCH SAVEDBEFORE today: %q", got)
	}
	if got := c.MustOK("SEARCH SAVEDSINCE 1-Jan-2020 SAVEDATESUPPORTED").Find("SEARCH"); got != "SEARCH 1 2 3" {
		t.Errorf("SEARCH SAVEDSINCE: %q", got)
	}
}

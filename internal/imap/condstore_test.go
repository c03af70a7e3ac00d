package imap_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

var modseqRE = regexp.MustCompile(`MODSEQ \(?(\d+)\)?`)

// modseqOf returns the MODSEQ in a line, or fails.
func modseqOf(t *testing.T, line string) uint64 {
	t.Helper()
	m := modseqRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no MODSEQ in %q", line)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

func highestModSeq(t *testing.T, r *imaptest.Response) uint64 {
	t.Helper()
	l := r.Find("OK [HIGHESTMODSEQ ")
	if l == "" {
		t.Fatalf("no HIGHESTMODSEQ in %s", r)
	}
	n, _ := strconv.ParseUint(strings.Fields(l[len("OK [HIGHESTMODSEQ "):])[0][:len(strings.Fields(l[len("OK [HIGHESTMODSEQ "):])[0])-1], 10, 64)
	return n
}

func fill(t *testing.T, c *imaptest.Client, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if r := c.Append("INBOX", "", fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i)); r.Status != "OK" {
			t.Fatalf("append: %s", r)
		}
	}
}

func TestCondStoreBasics(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	fill(t, c, 5)
	// Before enabling: SELECT reports HIGHESTMODSEQ anyway (RFC 7162
	// section 3.1.2.1), FETCH responses carry no MODSEQ.
	sel := c.MustOK("SELECT INBOX")
	h0 := highestModSeq(t, sel)
	r := c.MustOK("STORE 1 +FLAGS (\\Seen)")
	if r.Has("MODSEQ") {
		t.Errorf("MODSEQ before CONDSTORE was enabled: %s", r)
	}
	// FETCH MODSEQ enables CONDSTORE (section 3.1).
	r = c.MustOK("FETCH 1:2 (MODSEQ)")
	m1 := modseqOf(t, r.Find("1 FETCH"))
	if m1 <= h0 {
		t.Errorf("MODSEQ of the changed message %d not above %d", m1, h0)
	}
	// Now a .SILENT STORE still reports UID and MODSEQ (section 3.2.4).
	r = c.MustOK("STORE 2 +FLAGS.SILENT (\\Flagged)")
	l := r.Find("2 FETCH")
	if !strings.Contains(l, "UID 2") || strings.Contains(l, "FLAGS") || modseqOf(t, l) <= m1 {
		t.Errorf("silent store with CONDSTORE: %s", r)
	}
	m2 := modseqOf(t, l)
	// CHANGEDSINCE returns only messages changed after the value, with
	// MODSEQ implied (section 3.1.4.1).
	r = c.MustOK(fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", m1))
	if len(r.Untagged) != 1 || !strings.Contains(r.Untagged[0], "UID 2") || !strings.Contains(r.Untagged[0], "MODSEQ") {
		t.Errorf("CHANGEDSINCE %d: %s", m1, r)
	}
	// UNCHANGEDSINCE: message 2 changed after m1, message 1 did not.
	r = c.MustOK(fmt.Sprintf("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)", m1))
	if !strings.Contains(r.Text, "[MODIFIED 2]") {
		t.Errorf("conditional store: %s", r)
	}
	if l := r.Find("1 FETCH"); l == "" || modseqOf(t, l) <= m2 {
		t.Errorf("conditional store did not report message 1: %s", r)
	}
	// UID STORE reports UIDs in MODIFIED; UNCHANGEDSINCE 0 always fails.
	r = c.MustOK("UID STORE 3,5 (UNCHANGEDSINCE 0) +FLAGS ($Processed)")
	if !strings.Contains(r.Text, "[MODIFIED 3,5]") {
		t.Errorf("UNCHANGEDSINCE 0: %s", r)
	}
	if r := c.MustOK("FETCH 3 FLAGS"); r.Has("$Processed") {
		t.Errorf("a failed conditional store changed flags: %s", r)
	}
	// SEARCH MODSEQ appends the highest MODSEQ of the result (3.1.6).
	r = c.MustOK(fmt.Sprintf("SEARCH MODSEQ %d", m2))
	if l := r.Find("SEARCH"); !strings.HasPrefix(l, "SEARCH 1 2 (MODSEQ ") {
		t.Errorf("SEARCH MODSEQ: %s", r)
	}
	r = c.MustOK(`SEARCH RETURN (COUNT) MODSEQ "/flags/\\seen" all 1`)
	if l := r.Find("ESEARCH"); !strings.Contains(l, "COUNT 5 MODSEQ ") {
		t.Errorf("ESEARCH MODSEQ: %s", r)
	}
	// STATUS HIGHESTMODSEQ (3.1.7) equals what SELECT says.
	st := c.MustOK("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
	h := c.MustOK("EXAMINE INBOX")
	if want := fmt.Sprintf("HIGHESTMODSEQ %d", highestModSeq(t, h)); !st.Has(want) {
		t.Errorf("STATUS %s, want %s", st, want)
	}
}

func TestCondStoreOtherSession(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	fill(t, c, 3)
	c.MustOK("SELECT INBOX (CONDSTORE)")
	d := imaptest.Login(t, env, "alice@example.org")
	d.MustOK("SELECT INBOX")
	d.MustOK("STORE 2 +FLAGS (\\Deleted)")
	r := c.MustOK("NOOP")
	if l := r.Find("2 FETCH"); !strings.Contains(l, "UID 2") || !strings.Contains(l, `\Deleted`) || modseqOf(t, l) == 0 {
		t.Errorf("unsolicited FETCH after CONDSTORE: %s", r)
	}
}

func TestQResync(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	fill(t, c, 10)
	// QRESYNC needs ENABLE first (RFC 7162 section 3.2.5).
	c.Expect("SELECT INBOX (QRESYNC (1 1))", "BAD")
	if r := c.MustOK("ENABLE QRESYNC"); r.Find("ENABLED") != "ENABLED QRESYNC" {
		t.Errorf("ENABLE: %s", r)
	}
	sel := c.MustOK("SELECT INBOX")
	h := highestModSeq(t, sel)
	uv := strings.TrimSuffix(strings.Fields(sel.Find("OK [UIDVALIDITY "))[2], "]")
	c.MustOK("LOGOUT")

	// Meanwhile: another client expunges 2, 4 and 5, changes 7, and a
	// new message arrives.
	d := imaptest.Login(t, env, "alice@example.org")
	d.MustOK("SELECT INBOX")
	d.MustOK("STORE 2,4,5 +FLAGS (\\Deleted)")
	d.MustOK("EXPUNGE")
	d.MustOK("UID STORE 7 +FLAGS ($Important)")
	d.Append("INBOX", "", "Subject: new\r\n\r\nnew\r\n")

	c = imaptest.Login(t, env, "alice@example.org")
	c.MustOK("ENABLE QRESYNC")
	r := c.MustOK(fmt.Sprintf("SELECT INBOX (QRESYNC (%s %d 1:10))", uv, h))
	if l := r.Find("VANISHED"); l != "VANISHED (EARLIER) 2,4:5" {
		t.Errorf("VANISHED: %q in %s", l, r)
	}
	if l := r.Find("4 FETCH"); !strings.Contains(l, "UID 7") || !strings.Contains(l, "$Important") || modseqOf(t, l) <= h {
		t.Errorf("changed message: %s", r)
	}
	if r.Find("8 FETCH (UID 11") != "" {
		t.Errorf("the new message belongs to EXISTS, not FETCH: %s", r)
	}
	if !r.Has("8 EXISTS") {
		t.Errorf("EXISTS: %s", r)
	}
	// Known UIDs narrow the report.
	r = c.MustOK(fmt.Sprintf("SELECT INBOX (QRESYNC (%s %d 1:3))", uv, h))
	if l := r.Find("VANISHED"); l != "VANISHED (EARLIER) 2" {
		t.Errorf("VANISHED with known UIDs 1:3: %q", l)
	}
	if !r.Has("OK [CLOSED]") {
		t.Errorf("no CLOSED when switching mailboxes: %s", r)
	}
	// A matching sequence pair (3 -> UID 6) says the client knows every
	// expunge up to UID 6.
	r = c.MustOK(fmt.Sprintf("SELECT INBOX (QRESYNC (%s %d 1:10 (3 6)))", uv, h))
	if l := r.Find("VANISHED"); l != "" {
		t.Errorf("VANISHED despite matching sequence data: %q", l)
	}
	// A wrong UIDVALIDITY: nothing but the plain SELECT responses.
	r = c.MustOK(fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", 12345, h))
	if r.Has("VANISHED") || r.Has("FETCH") {
		t.Errorf("UIDVALIDITY mismatch still resynced: %s", r)
	}
	// UID FETCH ... (CHANGEDSINCE m VANISHED).
	r = c.MustOK(fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", h))
	if l := r.Find("VANISHED"); l != "VANISHED (EARLIER) 2,4:5" || !r.Has("UID 7 ") || !r.Has("UID 11 ") {
		t.Errorf("UID FETCH VANISHED: %s", r)
	}
	c.Expect(fmt.Sprintf("FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", h), "BAD")
	c.Expect("UID FETCH 1:* (FLAGS) (VANISHED)", "BAD")
	// With QRESYNC, EXPUNGE is reported as VANISHED (section 3.2.7).
	c.MustOK("STORE 1 +FLAGS (\\Deleted)")
	r = c.MustOK("EXPUNGE")
	if l := r.Find("VANISHED"); l != "VANISHED 1" || r.Has("EXPUNGE") {
		t.Errorf("EXPUNGE with QRESYNC: %s", r)
	}
	// ...also for another session's expunge.
	d.MustOK("UID STORE 3 +FLAGS (\\Deleted)")
	d.MustOK("UID EXPUNGE 3")
	if r := c.MustOK("NOOP"); r.Find("VANISHED") != "VANISHED 3" {
		t.Errorf("unsolicited VANISHED: %s", r)
	}
}

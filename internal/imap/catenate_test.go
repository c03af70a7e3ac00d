package imap_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// draftHeader and draftParts make the RFC 4469 appendix A draft: a
// multipart/mixed message of a text/plain part and a zip attachment.
const draftHeader = "From: Bob Ar <bar@example.org>\r\nTo: foo@example.net\r\nSubject: About our holiday trip\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"------------030308070208000400050907\"\r\n\r\n"

const (
	draftPart1MIME = "Content-Type: text/plain; charset=us-ascii; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
	draftPart1     = "Our travel agent has sent the schedule.\r\n\r\nCheers,\r\nBob"
	draftPart2MIME = "Content-Type: application/x-zip-compressed; name=\"trip.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	draftPart2     = "UEsDBBQAAAAIAAAAIQAAAAAAAgAAAAAAAAAIAAAAdHJpcC50eHQDAFBLAQI="
	draftBoundary  = "\r\n--------------030308070208000400050907"
)

func draftMessage() string {
	return draftHeader + draftBoundary[2:] + "\r\n" + draftPart1MIME + draftPart1 + draftBoundary + "\r\n" +
		draftPart2MIME + draftPart2 + draftBoundary + "--\r\n"
}

var (
	appendUIDRE = regexp.MustCompile(`APPENDUID (\d+) (\d+)`)
	literalBody = regexp.MustCompile(`(?s)BODY\[\] \{\d+\}(.*)\)$`)
)

// appendedUID returns the UID an APPEND's APPENDUID names.
func appendedUID(t *testing.T, r *imaptest.Response) (uidValidity, uid string) {
	t.Helper()
	m := appendUIDRE.FindStringSubmatch(r.Text + strings.Join(r.Untagged, "\n"))
	if m == nil {
		t.Fatalf("no APPENDUID in %s", r)
	}
	return m[1], m[2]
}

// fetchBody returns a message's octets by UID, without setting \Seen.
func fetchBody(t *testing.T, c *imaptest.Client, uid string) string {
	t.Helper()
	r := c.MustOK("UID FETCH " + uid + " BODY.PEEK[]")
	for _, l := range r.Untagged {
		if m := literalBody.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no body in %s", r)
	return ""
}

// catenate sends an APPEND ... CATENATE whose TEXT parts go as
// non-synchronizing literals: parts are "URL x" or "TEXT" followed by the
// text in the next element.
func catenate(c *imaptest.Client, head string, parts ...string) *imaptest.Response {
	var b strings.Builder
	b.WriteString(head + " CATENATE (")
	for i := 0; i < len(parts); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if parts[i] == "TEXT" {
			i++
			fmt.Fprintf(&b, "TEXT {%d+}\r\n%s", len(parts[i]), parts[i])
			continue
		}
		b.WriteString(parts[i])
	}
	b.WriteString(")")
	return c.Do(b.String())
}

func TestCatenate(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	if r := c.MustOK("CAPABILITY"); !r.Has(" CATENATE") {
		t.Fatalf("CATENATE not advertised: %s", r)
	}
	uv, uid := appendedUID(t, c.Append("Drafts", `\Draft`, draftMessage()))
	base := "/Drafts;UIDVALIDITY=" + uv + "/;UID=" + uid

	// RFC 4469 example 1: keep the header and the text part, replace
	// the attachment by the whole message (here: the draft itself).
	newPart := "\r\n--------------030308070208000400050907\r\n"
	end := "\r\n--------------030308070208000400050907--\r\n"
	r := catenate(c, `APPEND Drafts (\Seen \Draft $MDNSent)`,
		`URL "`+base+`/;section=HEADER"`, "TEXT", newPart[2:],
		`URL "`+base+`/;section=1.MIME"`, `URL "`+base+`/;section=1"`, "TEXT", newPart,
		`URL "/Drafts/;UID=`+uid+`/;Section=2.MIME"`, `URL "/Drafts/;UID=`+uid+`/;SECTION=2"`, "TEXT", end)
	if r.Status != "OK" {
		t.Fatalf("CATENATE: %s", r)
	}
	_, newUID := appendedUID(t, r)
	want := draftHeader + newPart[2:] + draftPart1MIME + draftPart1 + newPart + draftPart2MIME + draftPart2 + end
	c.MustOK("EXAMINE Drafts")
	if got := fetchBody(t, c, newUID); got != want {
		t.Errorf("catenated message:\n%q\nwant\n%q", got, want)
	}
	// Reading the parts did not set \Seen on the draft (section 3).
	if r := c.MustOK("UID FETCH " + uid + " FLAGS"); r.Has(`\Seen`) {
		t.Errorf("the source draft got \\Seen: %s", r)
	}

	// Relative to the selected mailbox, with PARTIAL (RFC 5092 section
	// 11): offset 6, 5 octets, and offset 6 to the end.
	c.MustOK("SELECT Drafts")
	r = catenate(c, "APPEND Drafts", `URL ";UID=`+uid+`/;SECTION=1/;PARTIAL=4.6"`, "TEXT", "|", `URL ";uid=`+uid+`/;section=1/;partial=47"`)
	if r.Status != "OK" {
		t.Fatalf("relative CATENATE: %s", r)
	}
	_, partUID := appendedUID(t, r)
	if got, want := fetchBody(t, c, partUID), draftPart1[4:10]+"|"+draftPart1[47:]; got != want {
		t.Errorf("partial parts: %q, want %q", got, want)
	}
	// A relative mailbox name replaces the base's last level.
	c.MustOK("CREATE Lists/Go")
	c.MustOK("CREATE Lists/Rust")
	_, goUID := appendedUID(t, c.Append("Lists/Go", "", "Subject: gophers\r\n\r\nhi\r\n"))
	c.MustOK("SELECT Lists/Rust")
	r = catenate(c, "APPEND INBOX", `URL "Go/;UID=`+goUID+`"`)
	if r.Status != "OK" {
		t.Fatalf("sibling CATENATE: %s", r)
	}
	c.MustOK("UNSELECT")

	// Bad URLs: NO [BADURL url] naming the first bad one, and nothing
	// stored, even in a MULTIAPPEND whose first message is fine.
	before := c.MustOK("STATUS Drafts (MESSAGES)").Find("STATUS")
	for _, url := range []string{
		"/Drafts/;UID=999",
		"/Drafts;UIDVALIDITY=1/;UID=" + uid,
		base + "/;SECTION=3",
		base + "/;SECTION=1.5.9",
		"/Nowhere/;UID=1",
		";UID=" + uid, // no mailbox selected
		"imap://alice@example.org/Drafts/;UID=" + uid,
		"/Drafts",
		"/Drafts/;UID=" + uid + ";URLAUTH=anonymous:internal:0123",
	} {
		r := c.Do(fmt.Sprintf("APPEND Drafts {2+}\r\nok CATENATE (TEXT {2+}\r\nhi URL %q URL \"/Drafts/;UID=998\")", url))
		if r.Status != "NO" || !strings.HasPrefix(r.Text, "[BADURL "+url+"]") {
			t.Errorf("URL %q: %s", url, r)
		}
	}
	if after := c.MustOK("STATUS Drafts (MESSAGES)").Find("STATUS"); after != before {
		t.Errorf("a refused APPEND stored messages: %s, then %s", before, after)
	}
	// A BADURL text holds no "]" and no control characters.
	r = c.Do("APPEND Drafts CATENATE (URL {8+}\r\n/x]y\r\n;z)")
	if r.Status != "NO" || !strings.HasPrefix(r.Text, "[BADURL /x%5Dy%0D%0A;z]") {
		t.Errorf("escaped BADURL: %s", r)
	}
	// An empty result is refused like an empty APPEND.
	c.Expect(`APPEND Drafts CATENATE (URL "`+base+`/;SECTION=1/;PARTIAL=5000")`, "NO")

	// A URL names this account's mail only: bob's INBOX holds UID 2,
	// alice's does not, and no URL form reaches another user.
	bob := imaptest.Login(t, env, "bob@example.org")
	bob.Append("INBOX", "", imaptest.Message("bob's secret", "for bob only"))
	bob.Append("INBOX", "", imaptest.Message("bob's secret", "for bob only"))
	for _, url := range []string{"/INBOX/;UID=2", "imap://bob@example.org/INBOX/;UID=2", "/~bob/INBOX/;UID=2", "//example.org/INBOX/;UID=2"} {
		if r := c.Do(fmt.Sprintf("APPEND Drafts CATENATE (URL %q)", url)); r.Status != "NO" || !strings.Contains(r.Text, "BADURL") {
			t.Errorf("URL %q: %s", url, r)
		}
	}
}

// TestCatenateDigest builds one message from 300 others, as a digest
// does: each part's body is opened when the store reads it and closed
// after, so the command does not hold 300 files open.
func TestCatenateDigest(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	var msgs []string
	head := "Subject: digest\r\nContent-Type: text/plain\r\n"
	var b strings.Builder
	fmt.Fprintf(&b, "APPEND Sent CATENATE (TEXT {%d+}\r\n%s", len(head), head)
	for i := range 300 {
		m := fmt.Sprintf("Subject: part %d\r\n\r\nbody %d\r\n", i, i)
		msgs = append(msgs, m)
		_, uid := appendedUID(t, c.Append("INBOX", "", m))
		fmt.Fprintf(&b, " URL \"/INBOX/;UID=%s\"", uid)
	}
	b.WriteString(")")
	_, digest := appendedUID(t, c.MustOK(b.String()))
	c.MustOK("SELECT Sent")
	want := head + strings.Join(msgs, "")
	if got := fetchBody(t, c, digest); got != want {
		t.Errorf("digest: %d octets, want %d", len(got), len(want))
	}
}

func TestCatenateTooBig(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxMessageSize = 4096
	}})
	c := imaptest.Login(t, env, "alice@example.org")
	body := "Subject: big\r\n\r\n" + strings.Repeat("x", 2500) + "\r\n"
	_, uid := appendedUID(t, c.Append("INBOX", "", body))
	url := `URL "/INBOX/;UID=` + uid + `"`
	c.MustOK("APPEND INBOX CATENATE (" + url + ")")
	r := c.Expect("APPEND INBOX CATENATE ("+url+" "+url+")", "NO")
	if !strings.HasPrefix(r.Text, "[TOOBIG]") {
		t.Errorf("two copies over the limit: %s", r)
	}
	if n := c.MustOK("STATUS INBOX (MESSAGES)").Find("STATUS"); !strings.HasSuffix(n, "(MESSAGES 2)") {
		t.Errorf("after TOOBIG: %s", n)
	}
}

// TestCatenateMultiappendAndReplace covers CATENATE inside a MULTIAPPEND
// (RFC 3502) and in REPLACE (RFC 8508 section 4.2, whose own example this
// follows: the replacement reuses the message it replaces).
func TestCatenateMultiappendAndReplace(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	_, uid := appendedUID(t, c.Append("Drafts", `\Draft`, "Subject: Fireworks\r\n\r\nwow\r\n"))
	r := c.MustOK(fmt.Sprintf("APPEND Drafts CATENATE (TEXT {10+}\r\nX-A: one\r\n URL \"/Drafts/;UID=%s\") {13+}\r\nplain\r\n\r\nhi\r\n CATENATE (TEXT {10+}\r\nX-B: two\r\n URL \"/Drafts/;UID=%s\")", uid, uid))
	m := regexp.MustCompile(`APPENDUID \d+ (\d+):(\d+)`).FindStringSubmatch(r.Text)
	if m == nil {
		t.Fatalf("MULTIAPPEND: %s", r)
	}
	first, _ := strconv.Atoi(m[1])
	last, _ := strconv.Atoi(m[2])
	if last-first != 2 {
		t.Fatalf("MULTIAPPEND stored %s", m[0])
	}
	c.MustOK("SELECT Drafts")
	if got := fetchBody(t, c, m[1]); got != "X-A: one\r\nSubject: Fireworks\r\n\r\nwow\r\n" {
		t.Errorf("first catenated message: %q", got)
	}
	if got := fetchBody(t, c, m[2]); got != "X-B: two\r\nSubject: Fireworks\r\n\r\nwow\r\n" {
		t.Errorf("third catenated message: %q", got)
	}

	// RFC 8508 section 4.2: the user completes the draft.
	text := "To: Mitzy <miss.mitzy@example.org>\r\nSubject: My view of the fireworks\r\n"
	r = c.MustOK(fmt.Sprintf("UID REPLACE %s Drafts CATENATE (TEXT {%d+}\r\n%s URL \"/Drafts/;UID=%s/;SECTION=TEXT\")", uid, len(text)+2, text+"\r\n", uid))
	_, newUID := appendedUID(t, r)
	if !r.Has("VANISHED") && !r.Has("EXPUNGE") {
		t.Errorf("REPLACE did not remove the old draft: %s", r)
	}
	if got := fetchBody(t, c, newUID); got != text+"\r\nwow\r\n" {
		t.Errorf("replacement: %q", got)
	}
	// A bad URL leaves the old message in place.
	r = c.Expect(fmt.Sprintf("UID REPLACE %s Drafts CATENATE (URL \"/Drafts/;UID=%s\")", newUID, uid), "NO")
	if !strings.Contains(r.Text, "BADURL") {
		t.Errorf("REPLACE with an expunged URL: %s", r)
	}
	if got := fetchBody(t, c, newUID); got != text+"\r\nwow\r\n" {
		t.Errorf("after a refused REPLACE: %q", got)
	}
}

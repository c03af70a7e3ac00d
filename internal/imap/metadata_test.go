package imap_test

import (
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestMetadata(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.MustOK(`SETMETADATA INBOX (/private/comment "My inbox" /shared/vendor/x/a "1" /shared/vendor/x/a/b "2")`)
	r := c.MustOK("GETMETADATA INBOX /private/Comment")
	if got := r.Find("METADATA"); got != `METADATA INBOX (/private/comment "My inbox")` {
		t.Errorf("GETMETADATA: %q", got)
	}
	// A value with a line break comes back as a literal.
	multi := "line 1\r\nline 2"
	c.MustOK(fmt.Sprintf("SETMETADATA INBOX (/private/note {%d+}\r\n%s)", len(multi), multi))
	if r := c.MustOK("GETMETADATA INBOX /private/note"); !strings.Contains(strings.Join(r.Untagged, ""), multi) {
		t.Errorf("literal value: %s", r)
	}
	// DEPTH (section 4.2.2).
	for _, tc := range []struct{ opts, want string }{
		{"", `(/shared/vendor/x "`},
		{"(DEPTH 1) ", `(/shared/vendor/x/a "1")`},
		{"(DEPTH infinity) ", `(/shared/vendor/x/a "1" /shared/vendor/x/a/b "2")`},
	} {
		r := c.MustOK("GETMETADATA " + tc.opts + "INBOX /shared/vendor/x")
		got := r.Find("METADATA")
		if tc.opts == "" {
			if got != "" {
				t.Errorf("DEPTH 0 of an entry without a value: %q", got)
			}
			continue
		}
		if !strings.HasSuffix(got, tc.want) {
			t.Errorf("GETMETADATA %s: %q, want suffix %q", tc.opts, got, tc.want)
		}
	}
	// MAXSIZE leaves out longer values (section 4.2.1).
	r = c.MustOK("GETMETADATA (MAXSIZE 3) INBOX (/private/comment /shared/vendor/x/a)")
	if got := r.Find("METADATA"); got != `METADATA INBOX (/shared/vendor/x/a "1")` || !strings.Contains(r.Text, "[METADATA LONGENTRIES 8]") {
		t.Errorf("MAXSIZE: %s", r)
	}
	// Server annotations: the empty mailbox name.
	c.MustOK(`SETMETADATA "" (/private/vendor/client/theme "dark")`)
	if got := c.MustOK(`GETMETADATA "" /private/vendor/client/theme`).Find("METADATA"); got != `METADATA "" (/private/vendor/client/theme "dark")` {
		t.Errorf("server annotation: %q", got)
	}
	// NIL removes.
	c.MustOK("SETMETADATA INBOX (/private/comment NIL)")
	if r := c.MustOK("GETMETADATA INBOX /private/comment"); r.Find("METADATA") != "" {
		t.Errorf("after NIL: %s", r)
	}
	// Bad names, missing mailboxes, too large values.
	c.Expect(`SETMETADATA INBOX (/comment "x")`, "BAD")
	c.Expect(`SETMETADATA INBOX (/private/a* "x")`, "BAD")
	c.Expect(`GETMETADATA INBOX /private/`, "BAD")
	c.Expect(`SETMETADATA Nowhere (/private/comment "x")`, "NO")
	big := strings.Repeat("x", 17<<10)
	c.Write(fmt.Sprintf("big SETMETADATA INBOX (/private/big {%d+}\r\n%s)\r\n", len(big), big))
	if r := c.Read("big"); r.Status == "OK" {
		t.Errorf("a %d-octet value was accepted", len(big))
	}
	// A deleted mailbox takes its annotations along.
	c.MustOK("CREATE Temp")
	c.MustOK(`SETMETADATA Temp (/private/comment "soon gone")`)
	c.MustOK("DELETE Temp")
	c.MustOK("CREATE Temp")
	if r := c.MustOK("GETMETADATA Temp /private/comment"); r.Find("METADATA") != "" {
		t.Errorf("annotation outlived its mailbox: %s", r)
	}
	// TOOMANY (section 4.3).
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, " /private/n%d \"v\"", i)
	}
	c.MustOK("SETMETADATA Temp (" + b.String()[1:] + ")")
	b.Reset()
	for i := 200; i < 300; i++ {
		fmt.Fprintf(&b, " /private/n%d \"v\"", i)
	}
	if r := c.Expect("SETMETADATA Temp ("+b.String()[1:]+")", "NO"); !strings.Contains(r.Text, "[METADATA TOOMANY]") {
		t.Errorf("TOOMANY: %s", r)
	}
	if r := c.MustOK("GETMETADATA (DEPTH 1) Temp /private"); strings.Contains(r.Find("METADATA"), "/private/n250") {
		t.Error("a refused SETMETADATA stored some entries")
	}
}

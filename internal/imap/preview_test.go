package imap_test

import (
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestFetchPreview(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	if !c.MustOK("CAPABILITY").Has(" PREVIEW") {
		t.Fatal("PREVIEW not advertised")
	}
	for _, raw := range []string{
		"Subject: one\r\n\r\nPreview text!\r\n",
		"Subject: two\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
		"Subject: three\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Grüße &amp; \"Küsse\"</p>\r\n",
		"Subject: four\r\n\r\n" + strings.Repeat("Lorem ipsum dolor sit amet, ", 20) + "\r\n",
	} {
		c.Append("INBOX", "", raw)
	}
	c.MustOK("SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		// RFC 8970 section 3.2's example.
		{"FETCH 1 (PREVIEW)", `1 FETCH (PREVIEW "Preview text!")`},
		// Nothing to preview: the empty string, not NIL.
		{"FETCH 2 (PREVIEW)", `2 FETCH (PREVIEW "")`},
		// LAZY: ready at delivery, so there.
		{"FETCH 1 (PREVIEW (LAZY) UID)", `1 FETCH (PREVIEW "Preview text!" UID 1)`},
		{"UID FETCH 2 (PREVIEW (LAZY))", `2 FETCH (UID 2 PREVIEW "")`},
		// 8-bit text goes in a literal in IMAP4rev1 (the test client
		// joins the literal to its line).
		{"FETCH 3 (PREVIEW)", "3 FETCH (PREVIEW {18}Grüße & \"Küsse\")"},
	} {
		r := c.MustOK(tc.cmd)
		if len(r.Untagged) != 1 || r.Untagged[0] != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, r.Untagged, tc.want)
		}
	}
	// At most 200 characters (section 3.3).
	r := c.MustOK("FETCH 4 (PREVIEW)")
	line := r.Find("4 FETCH")
	text := strings.TrimSuffix(strings.TrimPrefix(line, `4 FETCH (PREVIEW "`), `")`)
	if n := len([]rune(text)); n > 200 || n < 190 || !strings.HasPrefix(text, "Lorem ipsum dolor sit amet, Lorem") {
		t.Errorf("long preview (%d characters): %q", n, line)
	}
	// PREVIEW with other items, over several messages, and in IMAP4rev2
	// as a quoted string.
	r = c.MustOK("FETCH 1:3 (FLAGS PREVIEW)")
	if len(r.Untagged) != 3 {
		t.Fatalf("FETCH 1:3: %q", r.Untagged)
	}
	c.MustOK("ENABLE IMAP4rev2")
	r = c.MustOK("FETCH 3 (PREVIEW)")
	if r.Untagged[0] != `3 FETCH (PREVIEW "Grüße & \"Küsse\"")` {
		t.Errorf("in IMAP4rev2: %q", r.Untagged)
	}
	c.Expect("FETCH 1 (PREVIEW (EAGER))", "BAD")
}

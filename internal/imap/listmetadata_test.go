package imap_test

import (
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestListMetadata(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	if r := c.MustOK("CAPABILITY"); !r.Has("LIST-METADATA") {
		t.Fatalf("LIST-METADATA not advertised: %s", r)
	}
	c.MustOK("CREATE foo")
	c.MustOK("CREATE foo/bar")
	c.MustOK(`SETMETADATA INBOX (/shared/comment "My own comment")`)
	c.MustOK(`SETMETADATA foo (/shared/comment "Foo's shared comment" /private/comment "Foo's private comment")`)
	c.MustOK(`SETMETADATA foo/bar (/private/vendor/x/color "#ff0000" /private/comment "a long private comment")`)

	for _, tc := range []struct {
		cmd  string
		want []string
		code string
	}{
		// RFC 9590 section 4's example, on our server: each LIST line
		// followed by the entries the mailbox has.
		{`LIST "" % RETURN (METADATA (/shared/comment /private/comment))`, []string{
			`LIST (\HasNoChildren) "/" INBOX`, `METADATA INBOX (/shared/comment "My own comment")`,
			`LIST (\HasNoChildren \Archive) "/" Archive`, `LIST (\HasNoChildren \Drafts) "/" Drafts`,
			`LIST (\HasNoChildren \Junk) "/" Junk`, `LIST (\HasNoChildren \Sent) "/" Sent`, `LIST (\HasNoChildren \Trash) "/" Trash`,
			`LIST (\HasChildren) "/" foo`, `METADATA foo (/shared/comment "Foo's shared comment" /private/comment "Foo's private comment")`}, ""},
		// GETMETADATA's options: MAXSIZE (RFC 5464 section 4.2.1), in
		// either place, and DEPTH.
		{`LIST "" foo* RETURN (METADATA (MAXSIZE 21) (/private/comment))`, []string{
			`LIST (\HasChildren) "/" foo`, `METADATA foo (/private/comment "Foo's private comment")`,
			`LIST (\HasNoChildren) "/" foo/bar`}, "[METADATA LONGENTRIES 22]"},
		{`LIST "" foo/% RETURN (METADATA (/private DEPTH infinity))`, []string{
			`LIST (\HasNoChildren) "/" foo/bar`, `METADATA foo/bar (/private/comment "a long private comment" /private/vendor/x/color "#ff0000")`}, ""},
		{`LIST "" INBOX RETURN (STATUS (MESSAGES) METADATA /shared/comment)`, []string{
			`LIST (\HasNoChildren) "/" INBOX`, `METADATA INBOX (/shared/comment "My own comment")`, `STATUS INBOX (MESSAGES 0)`}, ""},
	} {
		r := c.MustOK(tc.cmd)
		if strings.Join(r.Untagged, "\n") != strings.Join(tc.want, "\n") || !strings.HasPrefix(r.Text, tc.code) {
			t.Errorf("%s:\ngot  %s\nwant %q %s", tc.cmd, r, tc.want, tc.code)
		}
	}
	c.Expect(`LIST "" % RETURN (METADATA (/comment))`, "BAD")
	c.Expect(`LIST "" % RETURN (METADATA ())`, "BAD")
}

package imap_test

import (
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

// complexMessage follows the shape of RFC 9051 section 6.4.5.1's example:
// text, attachment, an encapsulated multipart message, and a nested
// multipart holding another message.
const complexMessage = "From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>, undisclosed-recipients:;\r\n" +
	"Cc: \"Carol, C.\" <carol@example.org>\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and parts\r\n" +
	"Date: Tue, 24 Nov 2026 09:30:00 +0100\r\n" +
	"Message-ID: <complex@example.org>\r\n" +
	"In-Reply-To: <parent@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--outer\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Gr=C3=BC=C3=9Fe, Bob!\r\n" +
	"--outer\r\n" +
	"Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
	"\r\n" +
	"AAECAwQ=\r\n" +
	"--outer\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"From: Dave <dave@example.org>\r\n" +
	"Subject: inner\r\n" +
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"plain inner\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html\r\n" +
	"\r\n" +
	"<p>html inner</p>\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n" +
	"epilogue\r\n"

func fetchEnv(t *testing.T) *imaptest.Client {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.Append("INBOX", `\Flagged $Work`, complexMessage)
	c.Append("INBOX", "", imaptest.Message("simple", "just text"))
	c.MustOK("SELECT INBOX")
	return c
}

func fetch1(t *testing.T, c *imaptest.Client, items string) string {
	t.Helper()
	r := c.MustOK("FETCH 1 " + items)
	if len(r.Untagged) != 1 {
		t.Fatalf("FETCH 1 %s: %s", items, r)
	}
	return r.Untagged[0]
}

func TestFetchSections(t *testing.T) {
	c := fetchEnv(t)
	cases := []struct{ items, want string }{
		{"BODY.PEEK[1]", "BODY[1] {21}Gr=C3=BC=C3=9Fe, Bob!"},
		{"BODY.PEEK[1.MIME]", "BODY[1.MIME] {88}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
		{"BODY.PEEK[2]", "BODY[2] {8}AAECAwQ="},
		{"BODY.PEEK[3.HEADER]", "BODY[3.HEADER] {104}From: Dave <dave@example.org>\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"},
		{"BODY.PEEK[3.1]", "BODY[3.1] {11}plain inner"},
		{"BODY.PEEK[3.2]", "BODY[3.2] {17}<p>html inner</p>"},
		{"BODY.PEEK[3.2.MIME]", "BODY[3.2.MIME] {27}Content-Type: text/html\r\n\r\n"},
		{"BODY.PEEK[HEADER.FIELDS (subject MESSAGE-id)]", "BODY[HEADER.FIELDS (subject MESSAGE-id)] {85}Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and parts\r\nMessage-ID: <complex@example.org>\r\n\r\n"},
		{"BODY.PEEK[3.HEADER.FIELDS.NOT (From Content-Type)]", "BODY[3.HEADER.FIELDS.NOT (From Content-Type)] {18}Subject: inner\r\n\r\n"},
		{"BODY.PEEK[1]<4.6>", "BODY[1]<4> {6}3=BC=C"},
		{"BODY.PEEK[1]<100.6>", "BODY[1]<100> {0}"},
		{"BODY.PEEK[HEADER]<0.4>", "BODY[HEADER]<0> {4}From"},
		{"BODY.PEEK[9]", "BODY[9] NIL"},
		{"BODY.PEEK[1.HEADER]", "BODY[1.HEADER] NIL"},
		{"BINARY.PEEK[1]", "BINARY[1] {13}Grüße, Bob!"},
		{"BINARY.SIZE[2]", "BINARY.SIZE[2] 5"},
		{"BINARY.PEEK[2]", "BINARY[2] ~{5}\x00\x01\x02\x03\x04"},
		{"BINARY.PEEK[2]<1.2>", "BINARY[2]<1> ~{2}\x01\x02"},
	}
	for _, tc := range cases {
		got := fetch1(t, c, "("+tc.items+")")
		want := "1 FETCH (" + tc.want + ")"
		if got != want {
			t.Errorf("FETCH %s:\n got %q\nwant %q", tc.items, got, want)
		}
	}
	// Whole message and its parts, by size.
	whole := fetch1(t, c, "(BODY.PEEK[])")
	if !strings.HasSuffix(whole, complexMessage+")") {
		t.Errorf("BODY[] does not return the message")
	}
	text := fetch1(t, c, "(BODY.PEEK[TEXT])")
	if !strings.HasPrefix(text, "1 FETCH (BODY[TEXT] {") || !strings.Contains(text, "preamble\r\n--outer") || !strings.HasSuffix(text, "epilogue\r\n)") {
		t.Errorf("BODY[TEXT]: %q", text)
	}
	c.Expect("FETCH 1 (BINARY.PEEK[3])", "NO")
	c.Expect("FETCH 1 (BINARY[HEADER])", "BAD")
	c.Expect("FETCH 1 (BODY.PEEK)", "BAD")
	c.Expect("FETCH 1 (NOSUCHITEM)", "BAD")
}

func TestFetchStructure(t *testing.T) {
	c := fetchEnv(t)
	env := fetch1(t, c, "ENVELOPE")
	wantEnv := `1 FETCH (ENVELOPE ("Tue, 24 Nov 2026 09:30:00 +0100" "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and parts" ` +
		`(("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) ` +
		`(("Bob" NIL "bob" "example.org")(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ` +
		`(("Carol, C." NIL "carol" "example.org")) NIL "<parent@example.org>" "<complex@example.org>"))`
	if env != wantEnv {
		t.Errorf("ENVELOPE:\n got %s\nwant %s", env, wantEnv)
	}
	bs := fetch1(t, c, "BODYSTRUCTURE")
	for _, want := range []string{
		`("text" "plain" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE" 21 0 NIL NIL NIL NIL)`,
		`("application" "octet-stream" ("name" "data.bin") NIL NIL "BASE64" 8 NIL ("attachment" ("filename" "data.bin")) NIL NIL)`,
		`("message" "rfc822" NIL NIL NIL "7BIT" `,
		`"alternative" ("boundary" "inner") NIL NIL NIL)`,
		`"mixed" ("boundary" "outer") NIL NIL NIL))`,
	} {
		if !strings.Contains(bs, want) {
			t.Errorf("BODYSTRUCTURE lacks %s:\n%s", want, bs)
		}
	}
	body := fetch1(t, c, "BODY")
	if strings.Contains(body, "boundary") || !strings.Contains(body, `"mixed")`) {
		t.Errorf("BODY (non-extensible): %s", body)
	}
	all := fetch1(t, c, "ALL")
	for _, want := range []string{"FLAGS (\\Flagged \\Recent $Work)", "INTERNALDATE \"", "RFC822.SIZE " + itoa(len(complexMessage)), "ENVELOPE ("} {
		if !strings.Contains(all, want) {
			t.Errorf("FETCH ALL lacks %q: %s", want, all)
		}
	}
}

func TestFetchSetsSeen(t *testing.T) {
	c := fetchEnv(t)
	// PEEK leaves \Seen alone.
	if got := fetch1(t, c, "(BODY.PEEK[1] FLAGS)"); strings.Contains(got, `\Seen`) {
		t.Fatal(got)
	}
	// BODY[...] sets it and reports the new flags.
	got := fetch1(t, c, "BODY[1]")
	if !strings.Contains(got, `FLAGS (\Flagged \Seen \Recent $Work)`) {
		t.Fatalf("BODY[1] did not report \\Seen: %q", got)
	}
	// RFC822.TEXT on the second message, via UID FETCH.
	r := c.MustOK("UID FETCH 2 RFC822.TEXT")
	if !strings.Contains(r.Untagged[0], "UID 2") || !strings.Contains(r.Untagged[0], `\Seen`) {
		t.Fatalf("UID FETCH RFC822.TEXT: %s", r)
	}
	// EXAMINE never sets \Seen.
	c.MustOK("STORE 1:2 -FLAGS (\\Seen)")
	c.MustOK("EXAMINE INBOX")
	if got := fetch1(t, c, "(BODY[1] FLAGS)"); strings.Contains(got, `\Seen`) {
		t.Fatalf("EXAMINE set \\Seen: %q", got)
	}
}

func TestFetchSequenceSets(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	for i := 0; i < 5; i++ {
		c.Append("INBOX", "", imaptest.Message("m", "x"))
	}
	c.MustOK("SELECT INBOX")
	c.MustOK("STORE 2 +FLAGS.SILENT (\\Deleted)")
	c.MustOK("EXPUNGE") // UIDs now 1 3 4 5
	if r := c.MustOK("FETCH 1:* UID"); len(r.Untagged) != 4 || r.Untagged[1] != "2 FETCH (UID 3)" {
		t.Fatal(r)
	}
	if r := c.MustOK("FETCH *:3 UID"); len(r.Untagged) != 2 {
		t.Fatal(r)
	}
	if r := c.MustOK("UID FETCH 2 UID"); len(r.Untagged) != 0 {
		t.Fatalf("expunged UID: %s", r)
	}
	if r := c.MustOK("UID FETCH 4:* FLAGS"); len(r.Untagged) != 2 || !strings.HasPrefix(r.Untagged[0], "3 FETCH (UID 4 FLAGS") {
		t.Fatal(r)
	}
	// RFC 9051 section 6.4.9: n:* with n above every UID still names the
	// highest message.
	if r := c.MustOK("UID FETCH 100:* UID"); len(r.Untagged) != 1 || r.Untagged[0] != "4 FETCH (UID 5)" {
		t.Fatal(r)
	}
	c.Expect("FETCH 5 UID", "BAD")
	c.Expect("FETCH 0 UID", "BAD")
	c.Expect("FETCH 1,9 UID", "BAD")
	c.MustOK("FETCH 1,3,1:2 UID")
}

func TestFetchEnvelopeOddAddresses(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	msg := "From: localpart\r\nTo: <@route:x@y.example>\r\nSubject: odd\x00nul\r\n\r\nbody\r\n"
	// NUL needs a literal8 (RFC 3516).
	c.MustOK(fmt.Sprintf("APPEND INBOX ~{%d+}\r\n%s", len(msg), msg))
	c.MustOK("SELECT INBOX")
	got := fetch1(t, c, "ENVELOPE")
	// No NUL reaches the client, and a missing host is "" (NIL would
	// read as a group marker).
	if strings.Contains(got, "\x00") || !strings.Contains(got, `((NIL NIL "localpart" ""))`) {
		t.Fatalf("ENVELOPE: %q", got)
	}
}

package fts

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"postfach/internal/mime"
	"postfach/internal/store"
	"postfach/internal/store/match"
)

// multipartMessage has a quoted-printable Latin-1 plain part, a base64
// HTML alternative, an attachment with an encoded file name and a
// forwarded message.
const multipartMessage = "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n" +
	"To: team@example.org\r\n" +
	"Subject: =?iso-8859-1?q?Gr=FC=DFe?= aus Köln\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=alt\r\n" +
	"\r\n" +
	"--alt\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Die Versp=E4tung betr=E4gt zwei Stunden.\r\n" +
	"> quoted earlier mail\r\n" +
	"--alt\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+RGllIDxiPlZlcnNww6R0dW5nPC9iPiBiZXRyw6RndCZuYnNwO3p3ZWkgU3R1bmRlbi48L3A+\r\n" +
	"--alt--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/pdf; name=\"=?utf-8?q?Fahrplan_M=C3=A4rz.pdf?=\"\r\n" +
	"Content-Disposition: attachment; filename*=utf-8''Fahrplan%20M%C3%A4rz.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--outer\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"From: Anna <anna@example.net>\r\n" +
	"Subject: Weitergeleitet\r\n" +
	"\r\n" +
	"Inner body text.\r\n" +
	"--outer--\r\n"

func parse(t testing.TB, raw string) (*mime.Part, *bytes.Reader) {
	t.Helper()
	p, err := mime.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return p, bytes.NewReader([]byte(raw))
}

func TestExtract(t *testing.T) {
	root, r := parse(t, multipartMessage)
	d, err := Extract(r, root)
	if err != nil {
		t.Fatal(err)
	}
	if d.Truncated {
		t.Error("Truncated set")
	}
	for _, tc := range []struct {
		field, text, want string
	}{
		{"header", d.Header, "subject: grüße aus köln"},
		{"header", d.Header, "from: jörg <joerg@example.org>"},
		{"header", d.Header, "subject: weitergeleitet"}, // encapsulated message
		{"body", d.Body, "die verspätung beträgt zwei stunden."},
		{"body", d.Body, "die verspätung beträgt zwei stunden"}, // from the HTML
		{"body", d.Body, "inner body text."},
		{"names", d.Names, "fahrplan märz.pdf"},
	} {
		if !strings.Contains(tc.text, tc.want) {
			t.Errorf("%s lacks %q:\n%s", tc.field, tc.want, tc.text)
		}
	}
	if strings.Contains(d.Body, "<b>") || strings.Contains(d.Body, "jvberi") {
		t.Errorf("body holds markup or attachment data:\n%s", d.Body)
	}
	if want := d.Header + "\n" + d.Body + "\n" + d.Names; d.Text() != want || d.Size() != len(want)-2 {
		t.Error("Text or Size disagree with the fields")
	}
}

func TestExtractTruncated(t *testing.T) {
	big := "Subject: big\r\n\r\n" + strings.Repeat("Zeile mit Text \r\n", MaxText/16)
	root, r := parse(t, big)
	d, err := Extract(r, root)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Truncated || d.Size() > MaxText+2*utf8.UTFMax {
		t.Fatalf("Truncated %v, size %d", d.Truncated, d.Size())
	}
	if !strings.HasPrefix(d.Body, "zeile mit text") {
		t.Errorf("body starts %q", d.Body[:20])
	}
}

// TestExtractAgreesWithMatcher: for random needles cut from messages, a
// substring test on the Document answers SEARCH BODY and TEXT as the
// matcher does on the message itself.
func TestExtractAgreesWithMatcher(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := []string{multipartMessage,
		"Subject: =?utf-8?b?w4TDlsOc?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nStra\xc3\x9fe, a\xcc\x88pfel, \xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3, K\xe2\x84\xaa\r\n",
		"Subject: latin\r\nContent-Type: text/plain\r\n\r\nna\xefve caf\xe9\r\n",
		"Content-Type: text/html\r\n\r\n<div>One</div><div>two &amp; three&nbsp;four</div><script>hidden()</script>\r\n",
	}
	for _, raw := range msgs {
		root, r := parse(t, raw)
		d, err := Extract(r, root)
		if err != nil {
			t.Fatal(err)
		}
		content := match.NewBlobContent(r, root)
		var sb strings.Builder
		content.WriteBody(&sb)
		content.WriteHeader(&sb)
		source := []rune(sb.String() + " ÄÖÜ ss ß K k σ ς absent")
		for range 300 {
			i := rng.IntN(len(source))
			n := 1 + rng.IntN(8)
			needle := string(source[i:min(len(source), i+n)])
			if rng.IntN(3) == 0 {
				needle = strings.ToUpper(needle)
			}
			for _, text := range []bool{false, true} {
				c := store.SearchCriteria{Body: []string{needle}}
				want := strings.Contains(d.Body, match.Fold(needle))
				if text {
					c = store.SearchCriteria{Text: []string{needle}}
					want = want || strings.Contains(d.Header, match.Fold(needle))
				}
				m, err := match.Compile(&c)
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Match(&match.Message{Content: content})
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("TEXT=%v %q: matcher %v, document %v", text, needle, got, want)
				}
			}
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(multipartMessage)
	f.Add("Content-Type: text/html\r\n\r\n<p>x</p>")
	f.Fuzz(func(t *testing.T, raw string) {
		root, r := parse(t, raw)
		d, err := Extract(r, root)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{d.Header, d.Body, d.Names} {
			if !utf8.ValidString(s) || match.Fold(s) != s {
				t.Fatalf("field not valid folded UTF-8: %q", s)
			}
		}
		p, err := Preview(r, root)
		if err != nil {
			t.Fatal(err)
		}
		checkPreview(t, p)
	})
}

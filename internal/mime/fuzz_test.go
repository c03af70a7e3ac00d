package mime

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addGoldenSeeds adds the messages of the golden files as seeds.
func addGoldenSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/parse/*.txt")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if i := bytes.Index(data, []byte("\n----\n")); i >= 0 {
			f.Add(data[:i+1])
			f.Add(bytes.ReplaceAll(data[:i+1], []byte("\n"), []byte("\r\n")))
		}
	}
}

func FuzzParse(f *testing.F) {
	addGoldenSeeds(f)
	f.Add([]byte(crlf(forwardMsg)))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a\r\n--a--\r\n--a\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/digest; boundary=\"\"\r\n\r\n--\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=" + strings.Repeat("x", 1100) + "\r\n\r\n--" + strings.Repeat("x", 1100) + "\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := parseChecked(t, data)
		exercise(t, data, root)
	})
}

func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{
		`"Doe, John" <john@example.com>, mary@x.test`,
		"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
		"A Group(Some people):Chris Jones <c@(Chris's host.)public.example>, joe@example.org;",
		"<@a.test,@b.test:joe@c.test>",
		`"john doe"@example.com, nodomain, a@[1.2.3.4]`,
		"=?utf-8?q?J=C3=B6rg?= <j@x>, \"unterminated <u@x>",
		"a: b: c@d;; <> Name <> >>> @@@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list := ParseAddressList(s)
		depth := 0
		for _, a := range list {
			if a.Group {
				if a.Mailbox != "" {
					depth++
				} else {
					depth--
				}
				if depth < 0 || depth > 1 {
					t.Fatalf("unbalanced groups in %q: %+v", s, list)
				}
				continue
			}
			if a.Name == "" && a.Mailbox == "" && a.Host == "" && a.Adl == "" {
				t.Fatalf("empty address from %q: %+v", s, list)
			}
		}
		if depth != 0 {
			t.Fatalf("unterminated group from %q: %+v", s, list)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"Fri, 21 Nov 1997 09:55:06 -0600",
		"Thu, 13 Feb 69 23:32:54 -0330",
		"Mon Jan  2 15:04:05 2006",
		"2-Jan-2006 15:04:05 +01:00 (CET)",
		"Mon, 2 Jan 2006 15:04:05.999 EST",
		"2006-01-02T15:04:05Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDate(s)
		if !ok {
			if !d.IsZero() {
				t.Fatalf("no date but %v", d)
			}
			return
		}
		if y := d.Year(); y < 1000 || y > 9999 {
			t.Fatalf("ParseDate(%q) = %v: year out of range", s, d)
		}
	})
}

func FuzzDecodeHeaderValue(f *testing.F) {
	for _, s := range []string{
		"=?UTF-8?B?R3LDvMOfZQ==?= =?utf-8?q?a_b?=",
		"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=",
		"=?utf-8?B?ww==?= =?utf-8?B?pA==?=",
		"caf\xe9 =?x-bogus?q?a?= =? =?utf-8*en?q?hi?=",
		"=?KOI8-R?B?8NLJ18XU?=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := DecodeHeaderValue(s)
		if !utf8.ValidString(got) {
			t.Fatalf("DecodeHeaderValue(%q) = %q: invalid UTF-8", s, got)
		}
		if !strings.Contains(s, "=?") && utf8.ValidString(s) && got != s {
			t.Fatalf("DecodeHeaderValue(%q) = %q: changed plain text", s, got)
		}
	})
}

// FuzzHeaderEnd: HeaderEnd finds where Parse says the root's body starts,
// from the whole message and from every prefix that holds the answer.
func FuzzHeaderEnd(f *testing.F) {
	addGoldenSeeds(f)
	f.Add([]byte("A: b\r\n\r\nbody"))
	f.Add([]byte("A: b\r\n\r"))
	f.Add([]byte("\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		end, ok := HeaderEnd(data)
		if !ok {
			end = int64(len(data))
		}
		if end != root.BodyStart {
			t.Fatalf("HeaderEnd %d (found %v), Parse's BodyStart %d", end, ok, root.BodyStart)
		}
		for k := range len(data) {
			if e, ok := HeaderEnd(data[:k]); ok && e != root.BodyStart {
				t.Fatalf("HeaderEnd of the first %d octets: %d, want %d", k, e, root.BodyStart)
			}
		}
		// ParseHeader's fields are those of HeaderFields.
		var names []string
		for name, raw := range HeaderFields(data[:end]) {
			if !bytes.HasPrefix(raw, name) {
				t.Fatalf("field %q does not start with its name %q", raw, name)
			}
			names = append(names, string(name))
		}
		fields := ParseHeader(data[:end])
		if len(fields) != len(names) {
			t.Fatalf("%d fields, HeaderFields %d", len(fields), len(names))
		}
		for i, f := range fields {
			if f.Name != names[i] {
				t.Fatalf("field %d: %q, HeaderFields %q", i, f.Name, names[i])
			}
		}
	})
}

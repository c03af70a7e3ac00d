package mime

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const forwardMsg = `From: a@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain; charset=utf-8

outer text
--b1
Content-Type: message/rfc822

From: inner@example.net
Subject: inner

--b2 is not open here
--b1
Content-Type: message/rfc822

Subject: inner multipart
Content-Type: multipart/alternative; boundary=b2

--b2
Content-Type: text/plain

alt one
--b2
Content-Type: text/html

<p>alt&nbsp;two</p>
--b2--
--b1
Content-Type: application/octet-stream; name="=?utf-8?q?f=C3=BC.bin?="
Content-Transfer-Encoding: base64

AAEC
--b1--
`

func TestWalkOrder(t *testing.T) {
	raw := crlf(forwardMsg)
	root := parseChecked(t, []byte(raw))
	var got []string
	err := Walk(root, func(p *Part) error {
		got = append(got, p.Type+"/"+p.Subtype)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "multipart/mixed text/plain message/rfc822 text/plain message/rfc822 multipart/alternative text/plain text/html application/octet-stream"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("walk order:\n%s\nwant:\n%s", s, want)
	}

	// SkipChildren skips encapsulated messages; other errors stop.
	got = got[:0]
	Walk(root, func(p *Part) error {
		got = append(got, p.Subtype)
		if p.Type == "message" {
			return SkipChildren
		}
		return nil
	})
	if s := strings.Join(got, " "); s != "mixed plain rfc822 rfc822 octet-stream" {
		t.Errorf("SkipChildren walk: %s", s)
	}
	stop := errors.New("stop")
	n := 0
	if err := Walk(root, func(p *Part) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("stop: err %v after %d calls", err, n)
	}
}

func TestSection(t *testing.T) {
	raw := crlf(forwardMsg)
	root := parseChecked(t, []byte(raw))
	simple := parseChecked(t, []byte(crlf("Subject: s\n\nbody\n")))
	rfc822Root := parseChecked(t, []byte(crlf("Content-Type: message/rfc822\n\nSubject: in\n\nx\n")))
	tests := []struct {
		root *Part
		path []int
		want string // type/subtype and body
	}{
		{root, nil, "multipart/mixed"},
		{root, []int{1}, "text/plain outer text"},
		{root, []int{2}, "message/rfc822"},
		{root, []int{2, 1}, "text/plain --b2 is not open here"},
		{root, []int{2, 2}, ""},
		{root, []int{2, 1, 1}, ""},
		{root, []int{3, 1}, "text/plain alt one"},
		{root, []int{3, 2}, "text/html <p>alt&nbsp;two</p>"},
		{root, []int{3, 3}, ""},
		{root, []int{4}, "application/octet-stream AAEC"},
		{root, []int{1, 1}, ""},
		{root, []int{5}, ""},
		{root, []int{0}, ""},
		{simple, []int{1}, "text/plain body\r\n"},
		{simple, []int{1, 1}, ""},
		{simple, []int{2}, ""},
		{rfc822Root, []int{1}, "message/rfc822"},
		{rfc822Root, []int{1, 1}, "text/plain x\r\n"},
	}
	for _, tt := range tests {
		p := Section(tt.root, tt.path)
		got := ""
		if p != nil {
			got = p.Type + "/" + p.Subtype
			if p.Type != "multipart" && p.Message == nil {
				body := rawOf(tt.root, raw, simple, rfc822Root)[p.BodyStart:p.BodyEnd]
				got += " " + body
			}
		}
		if got != tt.want {
			t.Errorf("Section(%v) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// rawOf returns the raw message a test tree was parsed from.
func rawOf(root *Part, raw string, simple, rfc822Root *Part) string {
	switch root {
	case simple:
		return crlf("Subject: s\n\nbody\n")
	case rfc822Root:
		return crlf("Content-Type: message/rfc822\n\nSubject: in\n\nx\n")
	}
	return raw
}

func TestWriteSearchText(t *testing.T) {
	raw := crlf(forwardMsg)
	root := parseChecked(t, []byte(raw))
	var b strings.Builder
	if err := WriteSearchText(&b, strings.NewReader(raw), root, TextOptions{Headers: true, Bodies: true, Filenames: true}); err != nil {
		t.Fatal(err)
	}
	want := crlf(`From: a@example.com
Subject: Grüße
Content-Type: multipart/mixed; boundary=b1
outer text
From: inner@example.net
Subject: inner
--b2 is not open here
Subject: inner multipart
Content-Type: multipart/alternative; boundary=b2
alt one
alt two
fü.bin
`)
	want = strings.ReplaceAll(want, "\r\n", "\n")
	if got := b.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}

	b.Reset()
	WriteSearchText(&b, strings.NewReader(raw), root, TextOptions{Bodies: true})
	if got := b.String(); strings.Contains(got, "Subject") || !strings.Contains(got, "alt two") {
		t.Errorf("bodies only: %q", got)
	}

	// A failing writer stops the walk with its error.
	stop := errors.New("match found")
	err := WriteSearchText(failWriter{stop}, strings.NewReader(raw), root, TextOptions{Headers: true, Bodies: true})
	if err != stop {
		t.Errorf("err = %v, want %v", err, stop)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestLimits(t *testing.T) {
	// Nesting deeper than MaxDepth: the innermost container is opaque.
	var b strings.Builder
	for i := 0; i <= MaxDepth+5; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n--d%d\r\n", i, i)
	}
	b.WriteString("\r\ndeep\r\n")
	raw := b.String()
	root := parseChecked(t, []byte(raw))
	depth, p := 0, root
	for len(p.Parts) > 0 {
		p = p.Parts[0]
		depth++
	}
	if depth != MaxDepth || p.Type != "application" || p.Subtype != "octet-stream" {
		t.Errorf("deepest part at depth %d is %s/%s, want %d application/octet-stream", depth, p.Type, p.Subtype, MaxDepth)
	}

	// More than MaxParts parts: the rest is skipped, offsets stay sane.
	b.Reset()
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < MaxParts+10; i++ {
		b.WriteString("--x\r\n\r\np\r\n")
	}
	b.WriteString("--x--\r\n")
	raw = b.String()
	root = parseChecked(t, []byte(raw))
	if n := len(root.Parts); n != MaxParts-1 {
		t.Errorf("%d parts, want %d", n, MaxParts-1)
	}

	// Encapsulated messages count towards the depth too.
	b.Reset()
	for i := 0; i <= MaxDepth+1; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	raw = b.String()
	root = parseChecked(t, []byte(raw))
	depth, p = 0, root
	for p.Message != nil {
		p = p.Message
		depth++
	}
	if depth != MaxDepth || p.Type != "application" {
		t.Errorf("deepest message at depth %d is %s/%s", depth, p.Type, p.Subtype)
	}
}

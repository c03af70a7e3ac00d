package fts

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func checkPreview(t *testing.T, p string) {
	t.Helper()
	if n := utf8.RuneCountInString(p); n > MaxPreview || !utf8.ValidString(p) {
		t.Fatalf("preview of %d characters, valid %v: %q", n, utf8.ValidString(p), p)
	}
	if strings.TrimSpace(p) != p || strings.Contains(p, "  ") {
		t.Fatalf("preview white space not normalized: %q", p)
	}
	for _, r := range p {
		if unicode.IsControl(r) || r != ' ' && unicode.IsSpace(r) {
			t.Fatalf("preview holds %U: %q", r, p)
		}
	}
}

func TestPreview(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"multipart", multipartMessage, "Die Verspätung beträgt zwei Stunden."},
		{"plain", "Subject: x\r\n\r\n  Hello\tthere,\r\n\r\n  how   are you?\r\n", "Hello there, how are you?"},
		{"quotes", "Subject: x\r\n\r\n> earlier\r\n>> older\r\nMy answer.\r\n> more\r\nEnd.\r\n", "My answer. End."},
		{"html", "Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{}</style><title>T</title></head><body><p>Hi&nbsp;<b>there</b></p>\u200c\u034f<p>Bye</p></body></html>\r\n", "T Hi there Bye"},
		{"attachment only", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n\r\nxxxx\r\n--b--\r\n", ""},
		{"text attachment skipped", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nlog\r\n--b\r\nContent-Type: text/plain\r\n\r\nthe note\r\n--b--\r\n", "the note"},
		{"empty", "Subject: x\r\n\r\n", ""},
		{"control", "Subject: x\r\n\r\na\x00b\x07c\r\n", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, r := parse(t, tc.raw)
			got, err := Preview(r, root)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Preview = %q, want %q", got, tc.want)
			}
			checkPreview(t, got)
		})
	}
}

func TestPreviewLength(t *testing.T) {
	raw := "Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("Größenordnung ", 100) + "\r\n"
	root, r := parse(t, raw)
	got, err := Preview(r, root)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(got); n != MaxPreview && n != MaxPreview-1 {
		t.Errorf("preview has %d characters", n)
	}
	checkPreview(t, got)
	// A long run of quoted lines does not leave the preview empty when
	// text follows within the read bound.
	raw = "Subject: x\r\n\r\n" + strings.Repeat("> quoted line\r\n", 2000) + "Answer below the quote\r\n"
	root, r = parse(t, raw)
	if got, _ := Preview(r, root); got != "Answer below the quote" {
		t.Errorf("preview after quotes = %q", got)
	}
}

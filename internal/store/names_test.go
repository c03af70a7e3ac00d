package store

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanMailboxName(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means ErrInvalidName
	}{
		{"INBOX", "INBOX"},
		{"inbox", "INBOX"},
		{"InBoX", "INBOX"},
		{"inbox/x", "INBOX/x"},
		{"x/inbox", "x/inbox"},
		{"inboxes", "inboxes"},
		{"Archive/2024", "Archive/2024"},
		{"Entwürfe", "Entwürfe"},
		{"Entwu\u0308rfe", "Entwürfe"}, // NFD becomes NFC
		{"日本語/メール", "日本語/メール"},
		{"a b", "a b"},
		{"bob@example.com/INBOX", "bob@example.com/INBOX"},
		{"📁 Work", "📁 Work"},
		{"", ""},
		{"/", ""},
		{"/etc/passwd", ""},
		{"a/", ""},
		{"a//b", ""},
		{"../x", ""},
		{"a/../b", ""},
		{"a/./b", ""},
		{".", ""},
		{"..", ""},
		{"a\x00b", ""},
		{"a\rb", ""},
		{"a\nb", ""},
		{"a\x7fb", ""},
		{"a\u0085b", ""},
		{"a*", ""},
		{"a%b", ""},
		{"#shared/x", ""},
		{"evil\u202etxt.exe", ""},
		{"a\uffffb", ""},
		{"a\ufdd0", ""},
		{"\ue000", ""},
		{"bad\xff", ""},
		{"\ufffd", ""},
		{strings.Repeat("a", MaxMailboxNameLen), strings.Repeat("a", MaxMailboxNameLen)},
		{strings.Repeat("a", MaxMailboxNameLen+1), ""},
		{strings.Repeat("a/", MaxMailboxDepth-1) + "a", strings.Repeat("a/", MaxMailboxDepth-1) + "a"},
		{strings.Repeat("a/", MaxMailboxDepth) + "a", ""},
	} {
		got, err := CleanMailboxName(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("CleanMailboxName(%q) = %q, %v; want ErrInvalidName", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CleanMailboxName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzCleanMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox/a", "a/b/c", "../x", "Entwu\u0308rfe", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanMailboxName(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
			return
		}
		if !utf8.ValidString(got) || len(got) > MaxMailboxNameLen {
			t.Fatalf("bad result %q", got)
		}
		for _, p := range strings.Split(got, "/") {
			if p == "" || p == "." || p == ".." {
				t.Fatalf("%q has component %q", got, p)
			}
		}
		// Canonical names are fixed points.
		again, err := CleanMailboxName(got)
		if err != nil || again != got {
			t.Fatalf("CleanMailboxName(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}

func TestKeywords(t *testing.T) {
	got, err := NormalizeKeywords([]string{"b", "$Forwarded", "A", "$forwarded", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "$Forwarded A b" {
		t.Fatalf("NormalizeKeywords = %q", got)
	}
	for _, bad := range []string{"", `\Seen`, "a b", "a(", "a]", "a%", "a*", `a"`, "ä", "a\x00", strings.Repeat("k", 101)} {
		if _, err := CleanKeyword(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CleanKeyword(%q): %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestCleanSpecialUse(t *testing.T) {
	got, err := CleanSpecialUse([]string{`\sent`, `\Drafts`, `\SENT`})
	if err != nil || strings.Join(got, " ") != `\Drafts \Sent` {
		t.Fatalf("CleanSpecialUse = %q, %v", got, err)
	}
	if _, err := CleanSpecialUse([]string{`\Bogus`}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("unknown attribute: %v", err)
	}
}

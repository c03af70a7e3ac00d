package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordPolicy(t *testing.T) {
	p := PasswordPolicy{MinLength: DefaultMinPasswordLength}
	const addr = "tim.mueller@example.org"
	ok := []string{
		"correct horse battery staple",
		"Tr0ub4dor&3xyz",
		"dragon58302917x",
		"Lorem ipsum dolor",
		"ẞtraße-über-älles", // non-ASCII counts by characters
	}
	for _, pw := range ok {
		if err := p.Check(pw, addr); err != nil {
			t.Errorf("Check(%q) = %v", pw, err)
		}
	}
	for _, tc := range []struct{ pw, reason string }{
		{"short", "at least 12"},
		{"ẞtraße", "it has 6 characters"},
		{"passwordpassword", "most common"},
		{"blahblahblah", "repeats"},
		{"aaaaaaaaaaaa", "repeats"},
		{"abcabcabcabc", "repeats"},
		{"123456789012", "only digits"},
		{"4815162342108", "only digits"},
		{"abcdefghijklm", "counts"},
		{"zyxwvutsrqpo", "counts"},
		{"qwertyuiop123", "most common"},
		{"Password2024!", "most common"},
		{"P@ssw0rd12345", "most common"},
		{"!!iloveyou!!", "most common"},
		{"football1990", "most common"},
		{"Dragon25121990", "most common"}, // a date added
		{"1q2w3e4r5t6y", "most common"},
		{"tim.mueller@example.org", "address"},
		{"Tim.Mueller2024", "address"},
		{"example12345!", "address"},
		{"", "empty"},
		{"has\nnewline in it", "CR or LF"},
	} {
		err := p.Check(tc.pw, addr)
		if err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("Check(%q) = %v, want a refusal mentioning %q", tc.pw, err, tc.reason)
		}
	}
	var we *WeakPasswordError
	if err := p.Check("password", addr); !errors.As(err, &we) {
		t.Errorf("refusal is %T, want *WeakPasswordError", err)
	}
	// A lower minimum still refuses common passwords.
	if err := (PasswordPolicy{MinLength: 6}).Check("monkey", addr); err == nil {
		t.Error("monkey accepted with a 6-character minimum")
	}
}

// TestCommonPasswordList: the embedded list is sorted, lower case,
// without duplicates, and of the announced size.
func TestCommonPasswordList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) < 3000 {
		t.Fatalf("%d entries", len(lines))
	}
	for i, l := range lines {
		if l != strings.ToLower(strings.TrimSpace(l)) || l == "" {
			t.Errorf("entry %q", l)
		}
		if i > 0 && lines[i-1] >= l {
			t.Errorf("not sorted or duplicate at %q", l)
		}
	}
	for _, want := range []string{"123456", "password", "qwerty", "iloveyou", "passwort", "postfach", "letmein"} {
		if !isCommon(want) {
			t.Errorf("%q missing", want)
		}
	}
}

func TestSASLprep(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// RFC 4013 section 3's examples.
		{"I\u00ADX", "IX"},
		{"user", "user"},
		{"USER", "USER"},
		{"\u00AA", "a"},
		{"\u2168", "IX"},
		// Non-ASCII space becomes SPACE.
		{"a\u00A0b", "a b"},
		{"pass word", "pass word"},
		{"caf\u0065\u0301", "caf\u00e9"},
		{"\u05D0\u05D1", "\u05D0\u05D1"},
	} {
		if got, err := SASLprep(tc.in); err != nil || got != tc.want {
			t.Errorf("SASLprep(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"\u0007",       // RFC 4013 section 3: prohibited character
		"\u0627\u0031", // RFC 4013 section 3: bidi check
		"a\tb", "a\u200Eb", "\uE000", "\U000E0001", "\xff", "\u05D0a\u05D1",
	} {
		if got, err := SASLprep(in); !errors.Is(err, ErrSASLprep) {
			t.Errorf("SASLprep(%q) = %q, %v; want ErrSASLprep", in, got, err)
		}
	}
}

func FuzzSASLprep(f *testing.F) {
	for _, s := range []string{"user", "I\u00ADX", "\u2168", "\u0627\u0031", "a\u00A0b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := SASLprep(s)
		if err != nil {
			return
		}
		// Preparing twice changes nothing.
		again, err := SASLprep(out)
		if err != nil || again != out {
			t.Fatalf("SASLprep(%q) = %q, then %q, %v", s, out, again, err)
		}
	})
}

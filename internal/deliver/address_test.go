package deliver

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in     string
		utf8   bool
		want   string // String(); "" when an error is expected
		err    error
		domain string
	}{
		{in: "alice@example.org", want: "alice@example.org"},
		{in: "Alice@EXAMPLE.org", want: "Alice@example.org", domain: "example.org"},
		{in: "a.b+tag@sub.example.org", want: "a.b+tag@sub.example.org"},
		{in: "john doe@example.org", want: `"john doe"@example.org`},
		{in: `we"ird\@example.org`, want: `"we\"ird\\"@example.org`},
		{in: ".dot@example.org", want: `".dot"@example.org`},
		{in: "a..b@example.org", want: `"a..b"@example.org`},
		{in: "x@[192.0.2.1]", want: "x@[192.0.2.1]"},
		{in: "x@[IPv6:2001:DB8::1]", want: "x@[IPv6:2001:db8::1]"},
		{in: "x@[ipv6:::1]", want: "x@[IPv6:::1]"},
		{in: "jörg@bücher.example", utf8: true, want: "jörg@bücher.example"},
		{in: "jörg@example.org", err: ErrAddressUTF8},
		{in: "x@bücher.example", err: ErrAddressUTF8},
		{in: "x@xn--bcher-kva.example", want: "x@xn--bcher-kva.example"},
		{in: "", err: ErrAddressSyntax},
		{in: "@example.org", err: ErrAddressSyntax},
		{in: "alice@", err: ErrAddressSyntax},
		{in: "alice", err: ErrAddressSyntax},
		{in: "alice@example..org", err: ErrAddressSyntax},
		{in: "alice@example.org.", err: ErrAddressSyntax},
		{in: "alice@-example.org", err: ErrAddressSyntax},
		{in: "alice@exa_mple.org", err: ErrAddressSyntax},
		{in: "alice@exa mple.org", err: ErrAddressSyntax},
		{in: "ali\rce@example.org", err: ErrAddressSyntax},
		{in: "ali\x00ce@example.org", err: ErrAddressSyntax},
		{in: "alice@[192.0.2.1", err: ErrAddressSyntax},
		{in: "alice@[300.0.2.1]", err: ErrAddressSyntax},
		{in: "alice@[IPv6:192.0.2.1]", err: ErrAddressSyntax},
		{in: "alice@[tag:stuff]", err: ErrAddressSyntax},
		{in: strings.Repeat("a", 65) + "@example.org", err: ErrAddressSyntax},
		{in: "a@" + strings.Repeat("a", 64) + ".org", err: ErrAddressSyntax},
		{in: "a\xff@example.org", utf8: true, err: ErrAddressSyntax},
		{in: "a\u0085@example.org", utf8: true, err: ErrAddressSyntax},
	} {
		a, err := ParseAddress(tc.in, tc.utf8)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseAddress(%q) = %v, %v; want %v", tc.in, a, err, tc.err)
			}
			continue
		}
		if err != nil || a.String() != tc.want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", tc.in, a.String(), err, tc.want)
		}
		if tc.domain != "" && a.Domain != tc.domain {
			t.Errorf("ParseAddress(%q).Domain = %q", tc.in, a.Domain)
		}
	}
}

func TestASCIIDomain(t *testing.T) {
	a, err := ParseAddress("x@Bücher.Example", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.ASCIIDomain(); got != "xn--bcher-kva.example" {
		t.Errorf("ASCIIDomain = %q", got)
	}
}

func TestSplitSubaddress(t *testing.T) {
	for _, tc := range []struct {
		local, delims, base, tag string
		ok                       bool
	}{
		{"alice+news", "+", "alice", "news", true},
		{"alice+news+more", "+", "alice", "news+more", true},
		{"alice-news", "+-", "alice", "news", true},
		{"alice", "+", "alice", "", false},
		{"+news", "+", "+news", "", false},
		{"alice+", "+", "alice", "", true},
		{"alice+news", "", "alice+news", "", false},
		{"jörg§x", "§", "jörg", "x", true},
	} {
		base, tag, ok := SplitSubaddress(tc.local, tc.delims)
		if base != tc.base || tag != tc.tag || ok != tc.ok {
			t.Errorf("SplitSubaddress(%q, %q) = %q, %q, %v", tc.local, tc.delims, base, tag, ok)
		}
	}
}

// FuzzParseAddress checks that whatever ParseAddress accepts is written
// back without anything that could break a header or a command line, and
// parses again to itself; and that subaddress splitting loses nothing.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"alice@example.org", "john doe@example.org", `a"b\c@x.y`, "x@[192.0.2.1]", "x@[IPv6:::1]", "jörg@bücher.example", "a+b@c.d", "@", "a@b@c", "\r\n.\r\n@x.y"} {
		f.Add(s, true, "+")
	}
	f.Fuzz(func(t *testing.T, s string, utf8ok bool, delims string) {
		a, err := ParseAddress(s, utf8ok)
		if err != nil {
			return
		}
		out := a.String()
		if strings.ContainsAny(out, "\r\n\x00") || !utf8.ValidString(out) {
			t.Fatalf("ParseAddress(%q).String() = %q", s, out)
		}
		if !utf8ok && !isASCII(out) {
			t.Fatalf("non-ASCII result %q without SMTPUTF8", out)
		}
		b, err := ParseAddress(a.Local+"@"+a.Domain, utf8ok)
		if err != nil || b != a {
			t.Fatalf("reparsing %q: %+v, %v; want %+v", s, b, err, a)
		}
		if strings.HasPrefix(out, `"`) == isDotString(a.Local) {
			t.Fatalf("%q: quoting %q disagrees with isDotString", s, out)
		}
		if utf8.ValidString(delims) {
			base, tag, ok := SplitSubaddress(a.Local, delims)
			if ok {
				r, _ := utf8.DecodeRuneInString(a.Local[len(base):])
				if base == "" || base+string(r)+tag != a.Local || !strings.ContainsRune(delims, r) {
					t.Fatalf("SplitSubaddress(%q, %q) = %q, %q", a.Local, delims, base, tag)
				}
			} else if base != a.Local {
				t.Fatalf("SplitSubaddress(%q, %q) without a split changed the base to %q", a.Local, delims, base)
			}
		}
	})
}

package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMessageURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *MessageURL
	}{
		// RFC 4469 appendix A.
		{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", &MessageURL{Mailbox: "Drafts", UIDValidity: 385759045, UID: 20, Section: &Section{Specifier: "HEADER"}}},
		{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME", &MessageURL{Mailbox: "Drafts", UIDValidity: 385759045, UID: 20, Section: &Section{Part: []int{1}, Specifier: "MIME"}}},
		{"/Drafts;UIDVALIDITY=385759045/;UID=20/;Section=2", &MessageURL{Mailbox: "Drafts", UIDValidity: 385759045, UID: 20, Section: &Section{Part: []int{2}}}},
		{"/Drafts;UIDVALIDITY=385759045/;UID=30", &MessageURL{Mailbox: "Drafts", UIDValidity: 385759045, UID: 30}},
		{"/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9", &MessageURL{Mailbox: "INBOX", UIDValidity: 785799047, UID: 113330, Section: &Section{Part: []int{1, 5, 9}}}},
		// RFC 8508 section 4.2: no UIDVALIDITY.
		{"/Drafts/;UID=3002", &MessageURL{Mailbox: "Drafts", UID: 3002}},
		// Relative paths, hierarchy, percent-encoding, PARTIAL.
		{";UID=20", &MessageURL{Relative: true, UID: 20}},
		{";uid=20/;SECTION=TEXT/;PARTIAL=10.20", &MessageURL{Relative: true, UID: 20, Section: &Section{Specifier: "TEXT"}, Partial: &URLPartial{10, 20, true}}},
		{"Sent/;UID=1/;PARTIAL=0", &MessageURL{Mailbox: "Sent", Relative: true, UID: 1, Partial: &URLPartial{}}},
		{"/Lists/Go%20Nuts/;UID=7", &MessageURL{Mailbox: "Lists/Go Nuts", UID: 7}},
		{"/K%C3%B6ln/;UID=7", &MessageURL{Mailbox: "Köln", UID: 7}},
		{"/a;UIDVALIDITY=1/;UID=2/;SECTION=HEADER.FIELDS%20(From%20To)", &MessageURL{Mailbox: "a", UIDValidity: 1, UID: 2, Section: &Section{Specifier: "HEADER.FIELDS", Fields: []string{"From", "To"}}}},
		{"/a/;UID=2/;SECTION=1.HEADER.FIELDS.NOT%20(X/Y)/;PARTIAL=5.1", &MessageURL{Mailbox: "a", UID: 2, Section: &Section{Part: []int{1}, Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X/Y"}}, Partial: &URLPartial{5, 1, true}}},
	} {
		got, err := ParseMessageURL(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMessageURL(%q) = %s, %v; want %s", tc.in, dump(got), err, dump(tc.want))
		}
	}
}

func TestParseMessageURLInvalid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"imap://bob@example.org/INBOX/;UID=1", ErrURLNotLocal},
		{"IMAP://example.org/INBOX/;UID=1", ErrURLNotLocal},
		{"//example.org/INBOX/;UID=1", ErrURLNotLocal},
		{"/INBOX?SUBJECT%20x", ErrURLUnsupported},
		{"/INBOX/;UID=1;URLAUTH=anonymous:internal:91354a473744909de610943775f92038", ErrURLUnsupported},
		{"/INBOX/;UID=1;EXPIRE=2025-01-01T00:00:00Z;URLAUTH=x", ErrURLUnsupported},
		{"/INBOX", ErrURLNoMessage},
		{"/INBOX;UIDVALIDITY=5", ErrURLNoMessage},
		{"/INBOX;UIDVALIDITY=5/", ErrURLNoMessage},
		{"/INBOX;UIDVALIDITY=5/;SECTION=1", ErrURLNoMessage},
		{"", ErrURLNoMessage},
		{"/;UID=1", ErrURLSyntax},
		{"/INBOX;UID=1", ErrURLSyntax},
		{"/INBOX/;UID=0", ErrURLSyntax},
		{"/INBOX/;UID=01", ErrURLSyntax},
		{"/INBOX/;UID=4294967296", ErrURLSyntax},
		{"/INBOX/;UID=x", ErrURLSyntax},
		{"/INBOX;UIDVALIDITY=0/;UID=1", ErrURLSyntax},
		{";UIDVALIDITY=3/;UID=1", ErrURLSyntax},
		{"/INBOX/;UID=1/;SECTION=", ErrURLSyntax},
		{"/INBOX/;UID=1/;SECTION=0", ErrURLSyntax},
		{"/INBOX/;UID=1/;SECTION=FOO", ErrURLSyntax},
		{"/INBOX/;UID=1/;SECTION=1.", ErrURLSyntax},
		{"/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20({3}", ErrURLSyntax},
		{"/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20({0}", ErrURLSyntax},
		{"/INBOX/;UID=1/;PARTIAL=", ErrURLSyntax},
		{"/INBOX/;UID=1/;PARTIAL=1.0", ErrURLSyntax},
		{"/INBOX/;UID=1/;PARTIAL=1.", ErrURLSyntax},
		{"/INBOX/;UID=1x", ErrURLSyntax},
		{"/INBOX/;UID=1;SECTION=1", ErrURLSyntax},
		{"/IN%2/;UID=1", ErrURLSyntax},
		{"/IN%zzBOX/;UID=1", ErrURLSyntax},
		{"/%FF/;UID=1", ErrURLSyntax},
		{"/a/../b/;UID=1", ErrURLSyntax},
		{"/./;UID=1", ErrURLSyntax},
		{"/a//b/;UID=1", ErrURLSyntax},
		{"/a%00/;UID=1", ErrURLSyntax},
		{"/a\r\n/;UID=1", ErrURLSyntax},
	} {
		got, err := ParseMessageURL(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("ParseMessageURL(%q) = %s, %v; want %v", tc.in, dump(got), err, tc.want)
		}
	}
}

// FuzzParseMessageURL checks that the URL parser never panics and that
// what it accepts is a message it can name: a UID, a valid mailbox name,
// and a section that parses again from its own rendering.
func FuzzParseMessageURL(f *testing.F) {
	for _, s := range []string{"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", ";UID=1/;PARTIAL=0.5",
		"/a/;UID=2/;SECTION=1.HEADER.FIELDS.NOT%20(X/Y)/;PARTIAL=5.1", "imap://x/y", "/%C3%B6/;UID=1", "x/;UID=1/;SECTION=1.2.MIME"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseMessageURL(s)
		if err != nil {
			return
		}
		if u.UID == 0 || (!u.Relative && u.Mailbox == "") || !validURLMailbox(u.Mailbox) && u.Mailbox != "" {
			t.Fatalf("%q parsed to %s", s, dump(u))
		}
		if u.Section != nil {
			again, err := ParseSection(sectionText(u.Section))
			if err != nil || !reflect.DeepEqual(again, u.Section) {
				t.Fatalf("%q: section %s renders as %q, which parses to %s, %v", s, dump(u.Section), sectionText(u.Section), dump(again), err)
			}
		}
	})
}

// sectionText renders a section-spec (the test's oracle).
func sectionText(s *Section) string {
	var parts []string
	for _, p := range s.Part {
		parts = append(parts, itoa(p))
	}
	if s.Specifier != "" {
		parts = append(parts, s.Specifier)
	}
	out := strings.Join(parts, ".")
	if s.Fields != nil {
		var q []string
		for _, f := range s.Fields {
			q = append(q, quoteString(f))
		}
		out += " (" + strings.Join(q, " ") + ")"
	}
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func quoteString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

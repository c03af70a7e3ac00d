package match

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"postfach/internal/store"
)

func TestFold(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Hello", "hELLO"},
		{"Straße", "STRAßE"},
		{"ÄÖÜ", "äöü"},
		{"Ä", "A\u0308"}, // NFC
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},
		{"σ", "ς"},
		{"K", "\u212a"}, // Kelvin sign
		{"s", "\u017f"}, // long s
		{"ǅ", "ǆ"},
		{"ДОМ", "дом"},
	} {
		if Fold(tc.a) != Fold(tc.b) {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q; want equal", tc.a, Fold(tc.a), tc.b, Fold(tc.b))
		}
	}
	if Fold("ABC") != "abc" {
		t.Errorf("Fold(ABC) = %q", Fold("ABC"))
	}
	if Fold("a") == Fold("b") || Fold("ß") == Fold("ss") {
		t.Error("Fold merged distinct text") // simple folding keeps ß
	}
}

func TestContains(t *testing.T) {
	text := strings.Repeat("filler text ", 1000) + "Größe MATTERS " + strings.Repeat("x", 5000) + "Ende"
	for _, r := range []io.Reader{
		strings.NewReader(text),
		iotest.OneByteReader(strings.NewReader(text)), // splits runes and needles
		iotest.HalfReader(strings.NewReader(text)),
	} {
		got, err := Contains(r, []string{"GRÖSSE", "größe matters", "ende", "", "absent"})
		if err != nil {
			t.Fatal(err)
		}
		want := []bool{false, true, true, true, false}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Contains = %v, want %v", got, want)
		}
	}
}

func FuzzContains(f *testing.F) {
	f.Add("Hello Wörld", "WÖR", 3)
	f.Add("ab\u0308c", "Ä", 1)
	f.Fuzz(func(t *testing.T, text, needle string, chunk int) {
		if chunk < 1 || chunk > 64 {
			return
		}
		got, err := Contains(iotest.HalfReader(strings.NewReader(text)), []string{needle})
		if err != nil {
			t.Fatal(err)
		}
		// Scanning in pieces must agree with folding the whole text,
		// except where normalization composes across the needle's edge
		// (then the needle is not a substring of the normalized text).
		want := strings.Contains(Fold(text), Fold(needle))
		if got[0] && !want {
			t.Fatalf("Contains(%q, %q) = true, whole-text fold says false", text, needle)
		}
		if !got[0] && want {
			t.Fatalf("Contains(%q, %q) = false, whole-text fold says true", text, needle)
		}
	})
}

type fakeContent struct {
	headers map[string][]string // raw values
	body    string
	reads   int
}

func (f *fakeContent) Header(name string) ([]string, error) {
	vals, ok := f.headers[name]
	if !ok {
		return nil, nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = Fold(v)
	}
	return out, nil
}

func (f *fakeContent) WriteHeader(w io.Writer) error {
	for k, vals := range f.headers {
		for _, v := range vals {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	return nil
}

func (f *fakeContent) WriteBody(w io.Writer) error {
	f.reads++
	_, err := io.WriteString(w, f.body)
	return err
}

func TestMatch(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	msg := &Message{
		UID:    7,
		ModSeq: 40,
		Flags:  store.FlagSeen | store.FlagFlagged,
		// 00:30 on 2 March in +01:00 is 1 March in UTC: dates are taken in
		// the message's own zone.
		InternalDate: time.Date(2024, 3, 2, 0, 30, 0, 0, berlin),
		Keywords:     []string{"$Forwarded", "Work"},
		Size:         1000,
		SentDate:     time.Date(2024, 2, 28, 23, 0, 0, 0, time.FixedZone("", -5*3600)),
		Content: &fakeContent{
			headers: map[string][]string{
				"subject":    {"Grüße aus Köln"},
				"from":       {"Jörg <joerg@example.org>"},
				"x-priority": {""},
			},
			body: "Der Zug hat VERSPÄTUNG.",
		},
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for i, tc := range []struct {
		c    store.SearchCriteria
		want bool
	}{
		{store.SearchCriteria{}, true},
		{store.SearchCriteria{UIDs: []store.UIDSet{{{Start: 1, Stop: 10}}}}, true},
		{store.SearchCriteria{UIDs: []store.UIDSet{{{Start: 1, Stop: 10}}, {{Start: 8, Stop: 9}}}}, false},
		{store.SearchCriteria{Flags: store.FlagSeen}, true},
		{store.SearchCriteria{Flags: store.FlagSeen | store.FlagDeleted}, false},
		{store.SearchCriteria{NotFlags: store.FlagDeleted}, true},
		{store.SearchCriteria{NotFlags: store.FlagFlagged}, false},
		{store.SearchCriteria{Keywords: []string{"work"}}, true},
		{store.SearchCriteria{Keywords: []string{"$Junk"}}, false},
		{store.SearchCriteria{NotKeywords: []string{"$forwarded"}}, false},
		{store.SearchCriteria{Larger: []int64{999}}, true},
		{store.SearchCriteria{Larger: []int64{1000}}, false},
		{store.SearchCriteria{Smaller: []int64{1001}}, true},
		{store.SearchCriteria{Smaller: []int64{1000}}, false},
		{store.SearchCriteria{ModSeq: 40}, true},
		{store.SearchCriteria{ModSeq: 41}, false},
		{store.SearchCriteria{Since: day(2024, 3, 2)}, true},
		{store.SearchCriteria{Since: day(2024, 3, 3)}, false},
		{store.SearchCriteria{Before: day(2024, 3, 2)}, false},
		{store.SearchCriteria{Before: day(2024, 3, 3)}, true},
		{store.SearchCriteria{SentSince: day(2024, 2, 28), SentBefore: day(2024, 2, 29)}, true},
		{store.SearchCriteria{SentSince: day(2024, 2, 29)}, false},
		{store.SearchCriteria{Younger: msg.InternalDate.Add(-time.Second)}, true},
		{store.SearchCriteria{Younger: msg.InternalDate}, false},
		{store.SearchCriteria{Older: msg.InternalDate.Add(time.Second)}, true},
		{store.SearchCriteria{Older: msg.InternalDate}, false},
		{store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Subject", Value: "GRÜSSE"}}}, false},
		{store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Subject", Value: "GRÜßE"}}}, true},
		{store.SearchCriteria{Header: []store.HeaderMatch{{Field: "SUBJECT", Value: "köln"}}}, true},
		{store.SearchCriteria{Header: []store.HeaderMatch{{Field: "X-Priority", Value: ""}}}, true},
		{store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Cc", Value: ""}}}, false},
		{store.SearchCriteria{Header: []store.HeaderMatch{{Field: "from", Value: "JÖRG"}}}, true},
		{store.SearchCriteria{Body: []string{"verspätung"}}, true},
		{store.SearchCriteria{Body: []string{"köln"}}, false},
		{store.SearchCriteria{Text: []string{"köln"}}, true},
		{store.SearchCriteria{Text: []string{"zug", "jörg"}}, true},
		{store.SearchCriteria{Text: []string{"bus"}}, false},
		{store.SearchCriteria{Not: []store.SearchCriteria{{Flags: store.FlagDeleted}}}, true},
		{store.SearchCriteria{Not: []store.SearchCriteria{{Body: []string{"zug"}}}}, false},
		{store.SearchCriteria{Or: [][2]store.SearchCriteria{{{Flags: store.FlagDeleted}, {Body: []string{"zug"}}}}}, true},
		{store.SearchCriteria{Or: [][2]store.SearchCriteria{{{Flags: store.FlagDeleted}, {Body: []string{"bus"}}}}}, false},
	} {
		m, err := Compile(&tc.c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Match(msg)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got != tc.want {
			t.Errorf("%d: %+v: got %v, want %v", i, tc.c, got, tc.want)
		}
	}
}

func TestBodyScannedOnce(t *testing.T) {
	fc := &fakeContent{body: "alpha beta gamma"}
	c := store.SearchCriteria{Body: []string{"alpha", "gamma"}, Or: [][2]store.SearchCriteria{{{Body: []string{"delta"}}, {Text: []string{"beta"}}}}}
	m, err := Compile(&c)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := m.Match(&Message{Content: fc})
	if err != nil || !ok {
		t.Fatalf("Match = %v, %v", ok, err)
	}
	if fc.reads != 1 {
		t.Fatalf("body read %d times, want 1", fc.reads)
	}
}

func TestCompileDepth(t *testing.T) {
	c := store.SearchCriteria{}
	for range maxDepth + 2 {
		c = store.SearchCriteria{Not: []store.SearchCriteria{c}}
	}
	if _, err := Compile(&c); err == nil {
		t.Fatal("deeply nested criteria compiled")
	}
}

func TestCivilDay(t *testing.T) {
	if d := CivilDay(time.Date(1970, 1, 2, 23, 59, 0, 0, time.UTC)); d != 1 {
		t.Errorf("CivilDay = %d, want 1", d)
	}
	if d := CivilDay(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)); d != -1 {
		t.Errorf("CivilDay before epoch = %d, want -1", d)
	}
	east := time.Date(2024, 1, 1, 0, 30, 0, 0, time.FixedZone("", 2*3600))
	if CivilDay(east) != CivilDay(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("CivilDay does not use the time's own zone")
	}
}

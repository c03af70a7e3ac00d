package match

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"postfach/internal/store"
)

func TestTrigrams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"ab", nil},
		{"abc", []string{"abc"}},
		{"hello", []string{"hel", "ell", "llo"}},
		{"aaaa", []string{"aaa"}},
		{"größe", []string{"grö", "röß", "öße"}},
		{"日本語です", []string{"日本語", "本語で", "語です"}},
	} {
		if got := Trigrams(tc.in); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Trigrams(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFuzzyWords(t *testing.T) {
	words := FuzzyWords("Helo, IMAP break-down of it HELO")
	var got []string
	for _, w := range words {
		got = append(got, fmt.Sprintf("%s:%d/%d", w.Word, w.Need, len(w.Grams)))
	}
	// Short words go, repeats go, punctuation splits.
	want := "[helo:1/2 imap:1/2 break:2/3 down:1/2]"
	if fmt.Sprint(got) != want {
		t.Errorf("FuzzyWords = %v, want %v", got, want)
	}
	if FuzzyWords("a b of") != nil {
		t.Error("words of one and two runes were kept")
	}
	long := FuzzyWords(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 2))
	if len(long) != 1 || len(long[0].Grams) != MaxFuzzyGrams || long[0].Need != MaxFuzzyGrams/2 {
		t.Errorf("long word: %+v", long)
	}
	many := FuzzyWords(strings.Repeat("word", 1) + " " + strings.Join(strings.Fields(strings.Repeat("abc bcd cde def efg fgh ghi hij ijk jkl klm lmn mno nop opq pqr qrs rst ", 2)), " "))
	if len(many) != MaxFuzzyWords {
		t.Errorf("%d words, want at most %d", len(many), MaxFuzzyWords)
	}
}

// nameContent adds attachment names to fakeContent.
type nameContent struct {
	fakeContent
	names string
}

func (n *nameContent) WriteNames(w io.Writer) error {
	_, err := io.WriteString(w, n.names)
	return err
}

func TestFuzzyMatch(t *testing.T) {
	msg := &Message{Content: &nameContent{
		fakeContent: fakeContent{
			headers: map[string][]string{"subject": {"Quarterly Budget review"}, "from": {"Dave Example <dave@example.org>"}},
			body:    "Hello team, the numbers for Q3 are attached. Regards",
		},
		names: "report-2024.pdf\n",
	}}
	for i, tc := range []struct {
		f    store.FuzzyMatch
		want bool
	}{
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "helo"}, true},         // hel
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "numbrs teams"}, true}, // num umb of 4; tea eam of 3
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "budget"}, false},      // only in the subject
		{store.FuzzyMatch{In: store.FuzzyText, Value: "budgte"}, true},       // bud udg
		{store.FuzzyMatch{In: store.FuzzyText, Value: "reporr"}, true},       // rep epo por, in the file name
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "reporr"}, false},
		{store.FuzzyMatch{In: store.FuzzyHeader, Field: "Subject", Value: "quartely"}, true},
		{store.FuzzyMatch{In: store.FuzzyHeader, Field: "From", Value: "davd"}, true},
		{store.FuzzyMatch{In: store.FuzzyHeader, Field: "From", Value: "zzzz"}, false},
		{store.FuzzyMatch{In: store.FuzzyHeader, Field: "Cc", Value: "dave"}, false},
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "Q3"}, true},  // no words: substring
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "Q4"}, false}, // no words: substring
		{store.FuzzyMatch{In: store.FuzzyBody, Value: "xyzzy"}, false},
	} {
		c := store.SearchCriteria{Fuzzy: []store.FuzzyMatch{tc.f}}
		m, err := Compile(&c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Match(msg)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got != tc.want {
			t.Errorf("%d: %+v: got %v, want %v", i, tc.f, got, tc.want)
		}
	}
}

// TestFuzzyRule checks the matcher against the rule stated in FuzzyWords'
// documentation, computed the simplest way.
func TestFuzzyRule(t *testing.T) {
	texts := []string{"hello world", "help wanted", "the shell", "wold", "HELLO", "nothing here", "hällo wörld"}
	for _, q := range []string{"helo", "world", "hello wrld", "wörld", "xyz", "he", "hällo"} {
		for _, text := range texts {
			c := store.SearchCriteria{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: q}}}
			m, err := Compile(&c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Match(&Message{Content: &fakeContent{body: text}})
			if err != nil {
				t.Fatal(err)
			}
			if want := simpleFuzzy(q, text); got != want {
				t.Errorf("FUZZY BODY %q on %q: got %v, want %v", q, text, got, want)
			}
		}
	}
}

func simpleFuzzy(q, text string) bool {
	words := FuzzyWords(q)
	if len(words) == 0 {
		return strings.Contains(Fold(text), Fold(q))
	}
	for _, w := range words {
		have := 0
		for _, g := range w.Grams {
			if strings.Contains(Fold(text), g) {
				have++
			}
		}
		if have < w.Need {
			return false
		}
	}
	return true
}

func FuzzFuzzyWords(f *testing.F) {
	f.Add("Helo wörld 日本語")
	f.Add("a\u0308bc")
	f.Add("\xff\xfeabc")
	f.Fuzz(func(t *testing.T, s string) {
		words := FuzzyWords(s)
		if len(words) > MaxFuzzyWords {
			t.Fatalf("%d words", len(words))
		}
		for _, w := range words {
			if utf8.RuneCountInString(w.Word) < 3 || len(w.Grams) == 0 || len(w.Grams) > MaxFuzzyGrams {
				t.Fatalf("word %+v", w)
			}
			if w.Need < 1 || w.Need > len(w.Grams) {
				t.Fatalf("need %d of %d", w.Need, len(w.Grams))
			}
			for _, g := range w.Grams {
				if utf8.RuneCountInString(g) != 3 || !strings.Contains(w.Word, g) {
					t.Fatalf("gram %q of %q", g, w.Word)
				}
			}
			// A word matches itself.
			if !simpleFuzzy(w.Word, w.Word) {
				t.Fatalf("%q does not match itself", w.Word)
			}
		}
	})
}

package match

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"postfach/internal/mime"
	"postfach/internal/store"
)

// FUZZY (RFC 6203 section 3) lets the server decide what matches. Ours is
// trigram similarity, word by word, defined here once so that every
// backend, with or without an index, answers the same:
//
//   - The search string is folded (Fold) and cut into words: runs of
//     letters, digits and combining marks. Words shorter than three runes
//     are dropped, and so are repeats.
//   - A word's grams are its distinct three-rune substrings.
//   - A text matches a word when it contains at least half of the word's
//     grams (rounded up): "helo" (hel, elo) matches "hello" and "help";
//     "budget" (bud, udg, dge, get) matches "budgets" and "budgte".
//   - A text matches the search string when it matches every word. A
//     string without words (only short ones) matches as a substring, as
//     the exact key would.
//
// Trigram presence is what a trigram index answers exactly, so an index
// decides FUZZY without reading message text.

// Bounds on what one fuzzy key may ask: a hostile client could otherwise
// make a search cost words*grams scans.
const (
	MaxFuzzyWords = 16
	MaxFuzzyGrams = 16 // per word
)

// FuzzyWord is one word of a fuzzy search string.
type FuzzyWord struct {
	Word  string   // folded
	Grams []string // distinct trigrams, folded, in order of first appearance
	Need  int      // how many of Grams a matching text contains at least
}

// FuzzyWords cuts a fuzzy search string into its words; nil when it has
// none of three or more runes.
func FuzzyWords(s string) []FuzzyWord {
	var out []FuzzyWord
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(Fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	}) {
		if utf8.RuneCountInString(w) < 3 || seen[w] {
			continue
		}
		seen[w] = true
		grams := Trigrams(w)
		if len(grams) > MaxFuzzyGrams {
			// Keep grams spread over the whole word.
			spread := make([]string, MaxFuzzyGrams)
			for i := range spread {
				spread[i] = grams[i*(len(grams)-1)/(MaxFuzzyGrams-1)]
			}
			grams = spread
		}
		out = append(out, FuzzyWord{Word: w, Grams: grams, Need: (len(grams) + 1) / 2})
		if len(out) == MaxFuzzyWords {
			break
		}
	}
	return out
}

// Trigrams returns the distinct three-rune substrings of s, in order of
// first appearance; none when s is shorter than three runes.
func Trigrams(s string) []string {
	var out []string
	seen := map[string]bool{}
	var starts [3]int // byte offsets of the last three runes
	n := 0
	for i := range s {
		starts[0], starts[1], starts[2] = starts[1], starts[2], i
		n++
		if n < 3 {
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		g := s[starts[0] : i+size]
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// fuzzyNode is one compiled FuzzyMatch.
type fuzzyNode struct {
	in    store.FuzzyField
	field string // lower case, for FuzzyHeader
	words []FuzzyWord
	// list is what the scans look for: every word's grams in order, or
	// the folded value when it has no words.
	list []string
	// Indexes of list's needles in bodyNeedles, headerNeedles and
	// nameNeedles, for the fields the key looks at.
	body, header, names []int
}

// compileFuzzy adds c's fuzzy keys to n, registering the needles that the
// body, header and name scans must look for.
func (m *Matcher) compileFuzzy(n *node, c *store.SearchCriteria) error {
	for _, fz := range c.Fuzzy {
		f := fuzzyNode{in: fz.In, field: strings.ToLower(fz.Field), words: FuzzyWords(fz.Value)}
		f.list = f.needles(fz.Value)
		switch fz.In {
		case store.FuzzyBody, store.FuzzyText:
			for _, s := range f.list {
				f.body = append(f.body, len(m.bodyNeedles))
				m.bodyNeedles = append(m.bodyNeedles, s)
				if fz.In == store.FuzzyText {
					f.header = append(f.header, len(m.headerNeedles))
					m.headerNeedles = append(m.headerNeedles, s)
					f.names = append(f.names, len(m.nameNeedles))
					m.nameNeedles = append(m.nameNeedles, s)
				}
			}
		case store.FuzzyHeader:
			if f.field == "" {
				return fmt.Errorf("match: fuzzy header key without a field")
			}
		default:
			return fmt.Errorf("match: unknown fuzzy field %d", fz.In)
		}
		m.content = true
		n.fuzzy = append(n.fuzzy, f)
	}
	return nil
}

func (f *fuzzyNode) needles(value string) []string {
	if len(f.words) == 0 {
		return []string{Fold(value)}
	}
	var out []string
	for _, w := range f.words {
		out = append(out, w.Grams...)
	}
	return out
}

// decide applies the word rule to found, parallel to needles.
func (f *fuzzyNode) decide(found func(i int) bool) bool {
	if len(f.words) == 0 {
		return found(0)
	}
	i := 0
	for _, w := range f.words {
		have := 0
		for range w.Grams {
			if found(i) {
				have++
			}
			i++
		}
		if have < w.Need {
			return false
		}
	}
	return true
}

// fuzzy evaluates one compiled fuzzy key against the message.
func (e *eval) fuzzy(f *fuzzyNode) (bool, error) {
	if f.in == store.FuzzyHeader {
		if e.msg.Content == nil {
			return false, errNoContent
		}
		vals, err := e.headerValues(f.field)
		if err != nil {
			return false, err
		}
		return f.decide(func(i int) bool {
			for _, v := range vals {
				if strings.Contains(v, f.list[i]) {
					return true
				}
			}
			return false
		}), nil
	}
	body, err := e.body()
	if err != nil {
		return false, err
	}
	var hdr, names []bool
	if f.in == store.FuzzyText {
		if hdr, err = e.headerText(); err != nil {
			return false, err
		}
		if names, err = e.names(); err != nil {
			return false, err
		}
	}
	return f.decide(func(i int) bool {
		return body[f.body[i]] || hdr != nil && hdr[f.header[i]] || names != nil && names[f.names[i]]
	}), nil
}

// headerValues returns the folded values of a top-level header field,
// cached for the message.
func (e *eval) headerValues(field string) ([]string, error) {
	if vals, ok := e.headerVals[field]; ok {
		return vals, nil
	}
	vals, err := e.msg.Content.Header(field)
	if err != nil {
		return nil, fmt.Errorf("match: reading header %s: %w", field, err)
	}
	if e.headerVals == nil {
		e.headerVals = map[string][]string{}
	}
	e.headerVals[field] = vals
	return vals, nil
}

// NameWriter is implemented by Content that can list attachment file
// names, which FUZZY TEXT also searches. Content without it has none.
type NameWriter interface {
	// WriteNames writes the decoded file names of the message's parts,
	// one per line.
	WriteNames(w io.Writer) error
}

func (e *eval) names() ([]bool, error) {
	if e.nameFound == nil {
		if e.msg.Content == nil {
			return nil, errNoContent
		}
		t := newTextScanner(e.m.nameNeedles)
		if nw, ok := e.msg.Content.(NameWriter); ok {
			if err := nw.WriteNames(t); err != nil && !errors.Is(err, errAllFound) {
				return nil, fmt.Errorf("match: reading file names: %w", err)
			}
		}
		e.nameFound = t.finish()
	}
	return e.nameFound, nil
}

// WriteNames implements NameWriter: the decoded file names of every part.
func (b *BlobContent) WriteNames(w io.Writer) error {
	return mime.WriteSearchText(w, b.r, b.root, mime.TextOptions{Filenames: true})
}

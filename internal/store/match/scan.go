package match

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// errAllFound stops a copy into a scanner once every needle was seen.
var errAllFound = errors.New("match: all needles found")

// scanner is a writer that looks for folded needles in the text written to
// it, across write boundaries. Text must be NFC already (see newTextScanner).
type scanner struct {
	needles []string // folded, non-empty
	found   []bool
	left    int
	maxLen  int
	carry   []byte // incomplete UTF-8 sequence from the last write
	tail    []byte // last maxLen-1 folded bytes, for matches across writes
	buf     []byte
}

func newScanner(needles []string) *scanner {
	s := &scanner{needles: needles, found: make([]bool, len(needles))}
	for i, n := range needles {
		if n == "" {
			s.found[i] = true
			continue
		}
		s.left++
		s.maxLen = max(s.maxLen, len(n))
	}
	return s
}

func (s *scanner) done() bool { return s.left == 0 }

func (s *scanner) Write(p []byte) (int, error) {
	if s.done() {
		return len(p), errAllFound
	}
	n := len(p)
	if len(s.carry) > 0 {
		p = append(s.carry, p...)
		s.carry = nil
	}
	// Hold back an incomplete rune at the end.
	end := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				end = i
			}
			break
		}
	}
	if end < len(p) {
		s.carry = append([]byte(nil), p[end:]...)
	}
	s.buf = append(s.buf[:0], s.tail...)
	s.buf = foldAppend(s.buf, p[:end])
	s.search(s.buf)
	if keep := s.maxLen - 1; len(s.buf) > keep {
		s.tail = append(s.tail[:0], s.buf[len(s.buf)-keep:]...)
	} else {
		s.tail = append(s.tail[:0], s.buf...)
	}
	if s.done() {
		return n, errAllFound
	}
	return n, nil
}

func (s *scanner) search(text []byte) {
	for i, n := range s.needles {
		if !s.found[i] && bytes.Contains(text, []byte(n)) {
			s.found[i] = true
			s.left--
		}
	}
}

// flush handles a trailing incomplete rune (as U+FFFD, like Fold).
func (s *scanner) flush() {
	if len(s.carry) > 0 {
		c := s.carry
		s.carry = nil
		s.Write(bytes.ToValidUTF8(c, []byte("\uFFFD")))
	}
}

// textScanner normalizes to NFC in front of a scanner.
type textScanner struct {
	s *scanner
	w io.WriteCloser
}

func newTextScanner(needles []string) *textScanner {
	s := newScanner(needles)
	return &textScanner{s: s, w: norm.NFC.Writer(s)}
}

// Write feeds text; it returns errAllFound once every needle was seen.
func (t *textScanner) Write(p []byte) (int, error) { return t.w.Write(p) }

// finish flushes buffered text and returns what was found.
func (t *textScanner) finish() []bool {
	t.w.Close()
	t.s.flush()
	return t.s.found
}

// Contains reports whether the text read from r contains each needle,
// compared as Fold compares. It stops reading once all were found.
func Contains(r io.Reader, needles []string) ([]bool, error) {
	folded := make([]string, len(needles))
	for i, n := range needles {
		folded[i] = Fold(n)
	}
	t := newTextScanner(folded)
	if _, err := io.Copy(t, r); err != nil && !errors.Is(err, errAllFound) {
		return nil, err
	}
	return t.finish(), nil
}

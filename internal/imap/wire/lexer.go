package wire

import (
	"math"
	"unicode/utf8"
)

// Character classes of RFC 9051 section 9. All are 7-bit: 8-bit octets only
// appear in quoted strings (as UTF-8) and in literals.

// isAtomChar reports whether c is an ATOM-CHAR: any CHAR except
// atom-specials ( "(" / ")" / "{" / SP / CTL / list-wildcards /
// quoted-specials / resp-specials ).
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAstringChar reports whether c is an ASTRING-CHAR: ATOM-CHAR / "]".
func isAstringChar(c byte) bool { return c == ']' || isAtomChar(c) }

// isTagChar reports whether c may appear in a tag: any ASTRING-CHAR except
// "+".
func isTagChar(c byte) bool { return c != '+' && isAstringChar(c) }

// isListChar reports whether c is a list-char: ATOM-CHAR / list-wildcards /
// resp-specials.
func isListChar(c byte) bool { return c == '%' || c == '*' || isAstringChar(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// upper copies b into buf in ASCII upper case and returns it, or nil when b
// does not fit. Callers switch on string(upper(...)), which does not
// allocate.
func upper(buf []byte, b []byte) []byte {
	if len(b) > len(buf) {
		return nil
	}
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(b)]
}

// more reports whether the line has unparsed octets.
func (r *Reader) more() bool { return r.pos < len(r.line) }

// peek returns the next octet without consuming it, or 0 at the end of the
// line (NUL is invalid everywhere outside literals, so 0 never matches
// anything the parser accepts).
func (r *Reader) peek() byte {
	if r.pos < len(r.line) {
		return r.line[r.pos]
	}
	return 0
}

// takeIf consumes c if it is next.
func (r *Reader) takeIf(c byte) bool {
	if r.pos < len(r.line) && r.line[r.pos] == c {
		r.pos++
		return true
	}
	return false
}

// expect consumes c or fails.
func (r *Reader) expect(c byte) {
	if !r.takeIf(c) {
		if r.pos >= len(r.line) {
			r.failf("expected %q, found end of line", c)
		}
		r.failf("expected %q at position %d", c, r.pos)
	}
}

// sp consumes one space (RFC 9051 section 9 note 2: exactly one).
func (r *Reader) sp() { r.expect(' ') }

// atom returns the next 1*ATOM-CHAR as a slice of the line, valid until the
// next literal.
func (r *Reader) atom() []byte {
	start := r.pos
	for r.pos < len(r.line) && isAtomChar(r.line[r.pos]) {
		r.pos++
	}
	if r.pos == start {
		r.failf("expected atom at position %d", r.pos)
	}
	return r.line[start:r.pos]
}

// word returns the next run of octets for which ok holds, possibly empty.
func (r *Reader) word(ok func(byte) bool) []byte {
	start := r.pos
	for r.pos < len(r.line) && ok(r.line[r.pos]) {
		r.pos++
	}
	return r.line[start:r.pos]
}

// keyword returns the next atom in upper case in buf, or nil when it is
// longer than buf (and so matches no keyword).
func (r *Reader) keyword(buf []byte) []byte {
	return upper(buf, r.atom())
}

// peekKeyword reports whether the next atom is kw, case-insensitively,
// without consuming it.
func (r *Reader) peekKeyword(kw string) bool {
	if len(r.line)-r.pos < len(kw) {
		return false
	}
	for i := 0; i < len(kw); i++ {
		c := r.line[r.pos+i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	end := r.pos + len(kw)
	return end == len(r.line) || !isAtomChar(r.line[end])
}

// takeKeyword consumes kw if it is the next atom.
func (r *Reader) takeKeyword(kw string) bool {
	if r.peekKeyword(kw) {
		r.pos += len(kw)
		return true
	}
	return false
}

// digits reads 1*DIGIT no larger than limit; what names it in errors.
func (r *Reader) digits(limit uint64, what string) uint64 {
	start := r.pos
	var n uint64
	for r.pos < len(r.line) && isDigit(r.line[r.pos]) {
		d := uint64(r.line[r.pos] - '0')
		if n > (limit-d)/10 {
			r.failf("%s too large", what)
		}
		n = n*10 + d
		r.pos++
	}
	if r.pos == start {
		r.failf("expected %s at position %d", what, start)
	}
	return n
}

// number reads a number: an unsigned 32-bit integer.
func (r *Reader) number() uint32 { return uint32(r.digits(math.MaxUint32, "number")) }

// nzNumber reads an nz-number: digit-nz *DIGIT, below 2^32.
func (r *Reader) nzNumber() uint32 {
	if r.peek() == '0' {
		r.failf("expected non-zero number at position %d", r.pos)
	}
	return uint32(r.digits(math.MaxUint32, "number"))
}

// number64 reads a number64: an unsigned 63-bit integer.
func (r *Reader) number64() uint64 { return r.digits(math.MaxInt64, "number") }

// modSeq reads a mod-sequence-value: 1 to 2^63-1 (RFC 7162 section 7).
func (r *Reader) modSeq() uint64 {
	n := r.number64()
	if n == 0 {
		r.fail("mod-sequence must be positive")
	}
	return n
}

// astring reads an astring: 1*ASTRING-CHAR / string.
func (r *Reader) astring() string {
	switch c := r.peek(); {
	case c == '"' || c == '{':
		return r.str()
	case isAstringChar(c):
		return string(r.word(isAstringChar))
	}
	r.failf("expected string at position %d", r.pos)
	return ""
}

// str reads a string: quoted / literal.
func (r *Reader) str() string {
	switch r.peek() {
	case '"':
		return r.quoted()
	case '{':
		return r.literalString()
	}
	r.failf("expected string at position %d", r.pos)
	return ""
}

// nstring reads an nstring: string / nil. ok is false for NIL.
func (r *Reader) nstring() (s string, ok bool) {
	if r.takeKeyword("NIL") {
		return "", false
	}
	return r.str(), true
}

// listMailbox reads a list-mailbox: 1*list-char / string.
func (r *Reader) listMailbox() string {
	switch c := r.peek(); {
	case c == '"' || c == '{':
		return r.str()
	case isListChar(c):
		return string(r.word(isListChar))
	}
	r.failf("expected mailbox pattern at position %d", r.pos)
	return ""
}

// mailbox reads a mailbox: "INBOX" / astring. Any case of INBOX is INBOX
// (RFC 9051 section 9, mailbox); other names are returned as sent.
func (r *Reader) mailbox() string {
	s := r.astring()
	if len(s) == 5 && asciiEqualFold(s, "INBOX") {
		return "INBOX"
	}
	return s
}

// asciiEqualFold compares s with the upper-case ASCII string t, ignoring
// ASCII case.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != t[i] {
			return false
		}
	}
	return true
}

// quoted reads a quoted string: DQUOTE *QUOTED-CHAR DQUOTE, where
// QUOTED-CHAR is any TEXT-CHAR but quoted-specials, or "\" quoted-specials,
// or UTF-8 (RFC 9051 section 4.3.1 and section 9; RFC 6855 section 3).
func (r *Reader) quoted() string {
	r.expect('"')
	start := r.pos
	escaped, eightBit := false, false
	for {
		if r.pos >= len(r.line) {
			r.fail("unterminated quoted string")
		}
		c := r.line[r.pos]
		switch {
		case c == '"':
			s := r.line[start:r.pos]
			r.pos++
			if escaped {
				s = unescapeQuoted(r.scratch[:0], s)
				r.scratch = s[:0]
			}
			if eightBit && !utf8.Valid(s) {
				r.fail("invalid UTF-8 in quoted string")
			}
			return string(s)
		case c == '\\':
			if r.pos+1 >= len(r.line) || (r.line[r.pos+1] != '"' && r.line[r.pos+1] != '\\') {
				r.fail(`invalid escape in quoted string: only \" and \\ are allowed`)
			}
			escaped = true
			r.pos += 2
		case c == 0 || c == '\r' || c == '\n':
			r.fail("invalid character in quoted string")
		default:
			if c >= 0x80 {
				eightBit = true
			}
			r.pos++
		}
	}
}

// unescapeQuoted appends the content of a quoted string with its escapes
// resolved to dst.
func unescapeQuoted(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		dst = append(dst, s[i])
	}
	return dst
}

// flag reads a flag: "\" atom (system flags and flag-extension) or a keyword
// atom. "\*" is not a flag in any client command (it only appears in the
// PERMANENTFLAGS response code), so it is refused like other non-atoms.
func (r *Reader) flag() string {
	start := r.pos
	r.takeIf('\\')
	r.atom()
	return string(r.line[start:r.pos])
}

// flagList reads a flag-list: "(" [flag *(SP flag)] ")".
func (r *Reader) flagList() []string {
	r.expect('(')
	flags := []string{}
	if r.takeIf(')') {
		return flags
	}
	for {
		flags = append(flags, r.flag())
		if r.takeIf(')') {
			return flags
		}
		r.sp()
	}
}

// list reads a possibly empty parenthesized list, "(" [item *(SP item)]
// ")", calling item for each element (RFC 9051 section 4.4).
func (r *Reader) list(item func()) {
	r.expect('(')
	if r.takeIf(')') {
		return
	}
	for {
		item()
		if r.takeIf(')') {
			return
		}
		r.sp()
	}
}

// seqSetFlags select which forms a sequence-set may take.
type seqSetFlags uint8

const (
	seqNoStar   seqSetFlags = 1 << iota // "*" is not allowed (RFC 7162 known-uids)
	seqNoDollar                         // "$" is not allowed
)

// seqSet reads a sequence-set (RFC 9051 section 9), or "$" (RFC 5182).
// Ranges are normalized: Start <= Stop, and a "*" end is put in Stop, so
// that "*:4" gives {4, 0} and "*" alone {0, 0}.
func (r *Reader) seqSet(flags seqSetFlags) SeqSet {
	if r.peek() == '$' {
		if flags&seqNoDollar != 0 {
			r.fail("$ not allowed here")
		}
		r.pos++
		return SeqSet{SearchRes: true}
	}
	var set SeqSet
	for {
		a := r.seqNumber(flags)
		b := a
		if r.takeIf(':') {
			b = r.seqNumber(flags)
		}
		switch {
		case a == 0:
			a, b = b, a
		case b != 0 && b < a:
			a, b = b, a
		}
		set.Ranges = append(set.Ranges, SeqRange{Start: a, Stop: b})
		if !r.takeIf(',') {
			return set
		}
	}
}

// seqNumber reads a seq-number: nz-number / "*", with "*" as 0.
func (r *Reader) seqNumber(flags seqSetFlags) uint32 {
	if r.peek() == '*' {
		if flags&seqNoStar != 0 {
			r.fail("* not allowed here")
		}
		r.pos++
		return 0
	}
	if !isDigit(r.peek()) {
		r.failf("expected sequence set at position %d", r.pos)
	}
	return r.nzNumber()
}

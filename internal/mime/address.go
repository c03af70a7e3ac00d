package mime

import (
	"strings"
)

// Address lists (RFC 5322 section 3.4, with the obsolete forms of section
// 4.4) parsed leniently into IMAP's shape (RFC 9051 section 7.5.2). Real
// mail has unquoted commas and dots in names, missing angle brackets,
// missing domains, stray brackets, unterminated quotes and groups: the
// parser keeps what it can and never fails.

// ParseAddressList parses an address list leniently into IMAP's shape,
// keeping display names raw (undecoded: RFC 2047 encoded words stay).
//
//   - A quoted display name is unquoted; words are joined by one space.
//   - Without a display name, the text of a comment after the address is
//     used ("user@example.com (User Name)").
//   - A quoted local part keeps its quotes only if it needs them
//     ("john doe"@x keeps them, "john"@x becomes john).
//   - An address without "@" has an empty Host; one without anything usable
//     is dropped.
//   - "name <a@b>" without brackets but with several words before "@"
//     ("John Smith john@x") takes the last word as local part and the rest
//     as name.
//   - An unterminated group is closed at the end of the list.
func ParseAddressList(v string) []Address {
	t := addrTokenizer{s: v}
	t.next()
	var (
		list    []Address
		inGroup bool
		// groupShown: the group's start was emitted. A group without a
		// display name has no start marker IMAP could tell from an end, so
		// its members are listed without markers.
		groupShown bool
	)
	for t.kind != tokEOF {
		phrase, words, lastComment := t.phrase()
		switch {
		case t.kind == tokSpecial && t.special == '<':
			a := t.angleAddr()
			a.Name = phrase
			if a.Name == "" {
				a.Name = t.lastComment
			}
			list = appendAddr(list, a)
			t.skipToSeparator()
		case t.kind == tokSpecial && t.special == ':' && !inGroup && len(words) > 0:
			// RFC 5322 section 3.4: group = display-name ":" [group-list] ";"
			inGroup, groupShown = true, phrase != ""
			if groupShown {
				list = append(list, Address{Group: true, Mailbox: phrase})
			}
			t.next()
		case t.kind == tokSpecial && t.special == '@':
			a := t.addrSpec(words)
			if a.Name == "" {
				a.Name = t.lastComment
			}
			if t.kind == tokSpecial && t.special == '<' {
				// "a@b <c@d>": the first part was a name after all.
				b := t.angleAddr()
				b.Name = joinName(phrase, "@", a.Host)
				list = appendAddr(list, b)
			} else {
				list = appendAddr(list, a)
			}
			t.skipToSeparator()
		default:
			// A separator, the end, or garbage: a bare word is a mailbox
			// without domain ("undisclosed-recipients").
			if len(words) > 0 {
				a := Address{Mailbox: localPart(words)}
				if lastComment != "" {
					a.Name = lastComment
				}
				list = appendAddr(list, a)
			}
			if t.kind == tokSpecial && t.special != ',' && t.special != ';' {
				t.next() // stray special
			}
		}
		if t.kind == tokSpecial {
			switch t.special {
			case ',':
				t.next()
			case ';':
				if inGroup && groupShown {
					list = append(list, Address{Group: true})
				}
				inGroup = false
				t.next()
			}
		}
	}
	if inGroup && groupShown {
		list = append(list, Address{Group: true})
	}
	return list
}

func joinName(a, sep, b string) string {
	if b == "" {
		return a
	}
	return a + sep + b
}

// appendAddr appends a unless it holds nothing at all.
func appendAddr(list []Address, a Address) []Address {
	if a.Mailbox == "" && a.Host == "" && a.Name == "" && a.Adl == "" {
		return list
	}
	return append(list, a)
}

// localPart renders the words before "@" as a local part.
func localPart(words []addrWord) string {
	if len(words) == 1 && words[0].quoted {
		return quoteLocal(words[0].text)
	}
	var b strings.Builder
	for _, w := range words {
		if w.quoted {
			b.WriteString(quoteLocal(w.text))
		} else {
			b.WriteString(w.text)
		}
	}
	return b.String()
}

// quoteLocal returns a quoted local part's content unquoted when it is a
// dot-atom, else re-quoted (RFC 5322 section 3.4.1).
func quoteLocal(s string) string {
	if s != "" && isDotAtom(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func isDotAtom(s string) bool {
	if s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// isAtext reports RFC 5322 atext, plus 8-bit bytes (RFC 6532).
func isAtext(c byte) bool {
	if c >= 0x80 {
		return true
	}
	if isAlnum(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokSpecial
)

// addrWord is an atom (dots included) or a quoted string.
type addrWord struct {
	text   string
	quoted bool
	space  bool // white space or a comment came before it
}

// addrTokenizer splits an address list into words and specials. Comments
// are skipped; the text of the last one is kept for display names.
type addrTokenizer struct {
	s    string
	i    int
	kind tokKind
	word addrWord
	// special is the current special character.
	special     byte
	lastComment string
}

func (t *addrTokenizer) next() {
	space := false
	for t.i < len(t.s) {
		c := t.s[t.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			t.i++
			space = true
		case c == '(':
			end := skipComment(t.s, t.i)
			body := t.s[t.i+1 : end]
			body = strings.TrimSuffix(body, ")")
			if c := strings.TrimSpace(body); c != "" {
				t.lastComment = c
			}
			t.i = end
			space = true
		case c == '"':
			text, end := quotedString(t.s, t.i)
			t.i = end
			t.kind, t.word = tokWord, addrWord{text: text, quoted: true, space: space}
			return
		case strings.IndexByte("<>@,;:[]", c) >= 0:
			t.i++
			t.kind, t.special = tokSpecial, c
			return
		case c < ' ' || c == 0x7f || c == ')' || c == '\\':
			t.i++ // garbage
		default:
			j := t.i
			for j < len(t.s) && isWordByte(t.s[j]) {
				j++
			}
			t.kind, t.word = tokWord, addrWord{text: t.s[t.i:j], space: space}
			t.i = j
			return
		}
	}
	t.kind = tokEOF
}

// isWordByte is atext plus "." (obsolete phrases allow it, RFC 5322
// section 4.1) and anything else that is no special or space.
func isWordByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', ')', '"', '<', '>', '@', ',', ';', ':', '[', ']', '\\':
		return false
	}
	return c >= ' ' && c != 0x7f
}

// phrase collects words up to the next special. It returns them joined as
// a display name, the words themselves, and the comment seen among them.
func (t *addrTokenizer) phrase() (string, []addrWord, string) {
	t.lastComment = ""
	var words []addrWord
	for t.kind == tokWord {
		words = append(words, t.word)
		t.next()
	}
	return joinWords(words), words, t.lastComment
}

func joinWords(words []addrWord) string {
	if len(words) == 1 {
		return words[0].text
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 && w.space {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// addrSpec parses "@ domain" after the local-part words, the current token
// being "@".
func (t *addrTokenizer) addrSpec(words []addrWord) Address {
	var a Address
	// "John Smith john@x": the last space-separated run is the local part.
	k := len(words) - 1
	for k > 0 && !words[k].space {
		k--
	}
	if k > 0 {
		a.Name = joinWords(words[:k])
		words = words[k:]
	}
	a.Mailbox = localPart(words)
	t.lastComment = ""
	t.next() // "@"
	a.Host = t.domain()
	return a
}

// domain reads a domain: dot-atoms and domain literals, up to white space
// or a special.
func (t *addrTokenizer) domain() string {
	var b strings.Builder
	for {
		switch {
		case t.kind == tokWord && !t.word.quoted && (b.Len() == 0 || !t.word.space):
			b.WriteString(t.word.text)
			t.next()
		case t.kind == tokSpecial && t.special == '[':
			// RFC 5322 section 3.4.1: domain-literal.
			end := strings.IndexByte(t.s[t.i:], ']')
			if end < 0 {
				end = len(t.s) - t.i
			}
			b.WriteByte('[')
			b.WriteString(strings.TrimSpace(t.s[t.i : t.i+end]))
			b.WriteByte(']')
			t.i += end
			if t.i < len(t.s) {
				t.i++
			}
			t.next()
		default:
			return b.String()
		}
	}
}

// angleAddr parses "<" [route ":"] addr-spec ">", the current token being
// "<" (RFC 5322 section 3.4, obs-route in section 4.4).
func (t *addrTokenizer) angleAddr() Address {
	var a Address
	t.next()
	if t.kind == tokSpecial && (t.special == '@' || t.special == ',') {
		// obs-route: "@a,@b:" before the address.
		var route strings.Builder
		for t.kind != tokEOF && !(t.kind == tokSpecial && (t.special == ':' || t.special == '>')) {
			if t.kind == tokSpecial {
				route.WriteByte(t.special)
			} else {
				route.WriteString(t.word.text)
			}
			t.next()
		}
		if t.kind == tokSpecial && t.special == ':' {
			a.Adl = route.String()
			t.next()
		}
	}
	var words []addrWord
	for t.kind == tokWord {
		words = append(words, t.word)
		t.next()
	}
	// Inside brackets, white space in a local part is garbage: join.
	for i := range words {
		words[i].space = false
	}
	a.Mailbox = localPart(words)
	if t.kind == tokSpecial && t.special == '@' {
		t.next()
		a.Host = t.domain()
	}
	// Skip to the closing bracket (or the end of this address).
	for t.kind != tokEOF && !(t.kind == tokSpecial && (t.special == '>' || t.special == ',' || t.special == ';')) {
		t.next()
	}
	if t.kind == tokSpecial && t.special == '>' {
		t.next()
	}
	return a
}

// skipToSeparator skips garbage after an address up to "," or ";".
func (t *addrTokenizer) skipToSeparator() {
	for t.kind != tokEOF && !(t.kind == tokSpecial && (t.special == ',' || t.special == ';')) {
		t.next()
	}
}

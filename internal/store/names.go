package store

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on mailbox names.
const (
	MaxMailboxNameLen   = 1000 // octets of UTF-8, after normalization
	MaxMailboxDepth     = 32   // components
	MailboxDelimiter    = '/'
	inboxName           = "INBOX"
	maxKeywordLen       = 100
	maxKeywordsPerEntry = 100
)

// CleanMailboxName validates a mailbox name and returns its canonical form:
// NFC-normalized UTF-8, "/" as the hierarchy delimiter, and INBOX (matched
// case-insensitively, RFC 9051 section 5.1) spelled "INBOX", also as the
// first component of an inferior name ("inbox/x" becomes "INBOX/x").
//
// Refused, with ErrInvalidName: invalid UTF-8; control characters;
// Unicode bidirectional controls and noncharacters; the LIST wildcards "*"
// and "%" (RFC 9051 section 6.3.9 gives them meaning in patterns); empty
// components (a leading, trailing or doubled "/"); the components "." and
// ".."; a first component starting with "#" (reserved for namespaces,
// RFC 2342); more than MaxMailboxNameLen octets or MaxMailboxDepth
// components.
func CleanMailboxName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: mailbox name is not valid UTF-8", ErrInvalidName)
	}
	name = norm.NFC.String(name)
	if name == "" {
		return "", fmt.Errorf("%w: empty mailbox name", ErrInvalidName)
	}
	if len(name) > MaxMailboxNameLen {
		return "", fmt.Errorf("%w: mailbox name longer than %d octets", ErrInvalidName, MaxMailboxNameLen)
	}
	for _, r := range name {
		if bad := badNameRune(r); bad != "" {
			return "", fmt.Errorf("%w: mailbox name contains %s %U", ErrInvalidName, bad, r)
		}
	}
	parts := strings.Split(name, string(MailboxDelimiter))
	if len(parts) > MaxMailboxDepth {
		return "", fmt.Errorf("%w: mailbox name deeper than %d levels", ErrInvalidName, MaxMailboxDepth)
	}
	for _, p := range parts {
		switch p {
		case "":
			return "", fmt.Errorf("%w: empty component in mailbox name", ErrInvalidName)
		case ".", "..":
			return "", fmt.Errorf("%w: component %q in mailbox name", ErrInvalidName, p)
		}
	}
	if strings.HasPrefix(parts[0], "#") {
		return "", fmt.Errorf("%w: mailbox name starts with a namespace prefix", ErrInvalidName)
	}
	if strings.EqualFold(parts[0], inboxName) && parts[0] != inboxName {
		name = inboxName + name[len(parts[0]):]
	}
	return name, nil
}

// badNameRune says why r may not appear in a mailbox name, or "".
func badNameRune(r rune) string {
	switch {
	case r == utf8.RuneError:
		return "replacement character"
	case unicode.IsControl(r):
		return "control character"
	case r == '*' || r == '%':
		return "wildcard"
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return "bidirectional control"
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return "noncharacter"
	case unicode.Is(unicode.Co, r):
		return "private-use character"
	}
	return ""
}

// IsInbox reports whether a canonical name is INBOX.
func IsInbox(name string) bool { return name == inboxName }

// ParentName returns the name of a mailbox's parent, or "" for a top-level
// name.
func ParentName(name string) string {
	i := strings.LastIndexByte(name, MailboxDelimiter)
	if i < 0 {
		return ""
	}
	return name[:i]
}

// CleanKeyword validates a message keyword. Keywords are IMAP atoms (RFC
// 9051 section 2.3.2: flag-keyword is an atom), so that stores may join them
// with spaces; they compare case-insensitively but keep their case.
func CleanKeyword(kw string) (string, error) {
	if kw == "" || len(kw) > maxKeywordLen {
		return "", fmt.Errorf("%w: keyword length", ErrInvalidName)
	}
	if kw[0] == '\\' {
		return "", fmt.Errorf("%w: keyword %q looks like a system flag", ErrInvalidName, kw)
	}
	for i := 0; i < len(kw); i++ {
		c := kw[i]
		// atom-specials: "(" / ")" / "{" / SP / CTL / list-wildcards /
		// quoted-specials / resp-specials (RFC 9051 section 9).
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return "", fmt.Errorf("%w: keyword %q contains %q", ErrInvalidName, kw, c)
		}
	}
	return kw, nil
}

// NormalizeKeywords validates keywords and returns them sorted
// case-insensitively without case-insensitive duplicates (the first
// spelling wins).
func NormalizeKeywords(kws []string) ([]string, error) {
	if len(kws) == 0 {
		return nil, nil
	}
	if len(kws) > maxKeywordsPerEntry {
		return nil, fmt.Errorf("%w: more than %d keywords", ErrInvalidName, maxKeywordsPerEntry)
	}
	out := make([]string, 0, len(kws))
	for _, kw := range kws {
		kw, err := CleanKeyword(kw)
		if err != nil {
			return nil, err
		}
		if !HasKeyword(out, kw) {
			out = append(out, kw)
		}
	}
	SortKeywords(out)
	return out, nil
}

// HasKeyword reports whether kws holds kw, case-insensitively.
func HasKeyword(kws []string, kw string) bool {
	for _, k := range kws {
		if strings.EqualFold(k, kw) {
			return true
		}
	}
	return false
}

// SortKeywords sorts keywords case-insensitively (ties by byte order), the
// order stores return them in.
func SortKeywords(kws []string) {
	sort.Slice(kws, func(i, j int) bool { return keywordLess(kws[i], kws[j]) })
}

func keywordLess(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a < b
}

// Special-use attributes a mailbox may carry (RFC 6154 section 2; \Important
// is RFC 8457).
var specialUses = []string{`\All`, `\Archive`, `\Drafts`, `\Flagged`, `\Important`, `\Junk`, `\Sent`, `\Trash`}

// CleanSpecialUse returns the canonical spelling of each attribute, sorted
// and without duplicates; an unknown attribute is ErrNotAllowed (IMAP
// answers it with [USEATTR], RFC 6154 section 3).
func CleanSpecialUse(attrs []string) ([]string, error) {
	var out []string
	for _, a := range attrs {
		canon := ""
		for _, s := range specialUses {
			if strings.EqualFold(a, s) {
				canon = s
				break
			}
		}
		if canon == "" {
			return nil, fmt.Errorf("%w: special-use attribute %q", ErrNotAllowed, a)
		}
		dup := false
		for _, o := range out {
			dup = dup || o == canon
		}
		if !dup {
			out = append(out, canon)
		}
	}
	SortKeywords(out)
	return out, nil
}

package mime

import "strings"

// BaseSubject returns the "base subject" of RFC 5256 section 2.1, used by
// SORT SUBJECT and by threading, from a subject already decoded from RFC
// 2047 (DecodeHeaderValue). reply reports whether reply or forward
// artifacts ("Re:", "Fwd:", "(fwd)", "[fwd: ...]") were removed, which
// THREAD=REFERENCES needs (section 2.2 step 5). Case is kept; SORT compares
// with i;ascii-casemap.
func BaseSubject(subject string) (base string, reply bool) {
	s := collapseSpace(subject)
	for {
		// (2) subj-trailer: "(fwd)" / WSP, repeatedly.
		for {
			s = strings.TrimRight(s, " ")
			if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s = s[:len(s)-5]
				reply = true
				continue
			}
			break
		}
		// (3)-(5): subj-leader, then a subj-blob that leaves a non-empty
		// subj-base, until neither matches.
		for {
			if strings.HasPrefix(s, " ") {
				s = strings.TrimLeft(s, " ")
				continue
			}
			if n := refwdLeader(s); n > 0 {
				s = s[n:]
				reply = true
				continue
			}
			if n := blobLen(s, 0); n > 0 && strings.TrimSpace(s[n:]) != "" {
				s = s[n:]
				continue
			}
			break
		}
		// (6) subj-fwd-hdr ... subj-fwd-trl.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			reply = true
			continue
		}
		return s, reply
	}
}

// collapseSpace turns tabs and line breaks into spaces and runs of spaces
// into one (step 1).
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// blobLen returns the length of a subj-blob at s[i:] ("[" *BLOBCHAR "]"
// *WSP, BLOBCHAR being anything but brackets), or 0.
func blobLen(s string, i int) int {
	if i >= len(s) || s[i] != '[' {
		return 0
	}
	j := i + 1
	for j < len(s) && s[j] != '[' && s[j] != ']' {
		j++
	}
	if j >= len(s) || s[j] != ']' {
		return 0
	}
	j++
	for j < len(s) && s[j] == ' ' {
		j++
	}
	return j - i
}

// refwdLeader returns the length of *subj-blob subj-refwd at the start of
// s, subj-refwd being ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", or 0.
func refwdLeader(s string) int {
	i := 0
	for {
		n := blobLen(s, i)
		if n == 0 {
			break
		}
		i += n
	}
	switch {
	case hasPrefixFold(s[i:], "re"):
		i += 2
	case hasPrefixFold(s[i:], "fwd"):
		i += 3
	case hasPrefixFold(s[i:], "fw"):
		i += 2
	default:
		return 0
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blobLen(s, i)
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	return 0
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

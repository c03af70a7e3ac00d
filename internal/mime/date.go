package mime

import (
	"strings"
	"time"
)

// ParseDate parses an RFC 5322 date (section 3.3), leniently (section 4.3
// obsolete forms and what mailers actually write). It reports false when
// no date can be made of v.
//
// Accepted: optional day of week (with or without comma, full names too),
// comments, 2- and 3-digit years (section 4.3: 2-digit years below 50 are
// 20xx, others 19xx; 3-digit years add 1900), missing seconds, fractional
// seconds, "21-Nov-1997", full month names, asctime order ("Fri Nov 21
// 09:55:06 1997"), zones as +hhmm, +hh:mm, +hh, named US zones, UT/GMT/UTC/Z,
// and military letters (read as +0000, as section 4.3 says). A missing or
// unknown zone is UTC. RFC 3339 ("2006-01-02T15:04:05Z") is accepted too.
//
// The result carries the zone's offset, so the date as the sender saw it
// (what SEARCH SENTON compares) is t.Year(), t.Month(), t.Day().
func ParseDate(v string) (time.Time, bool) {
	var (
		day, year, month    = -1, -1, 0
		hour, min, sec      = -1, 0, 0
		offset              int
		haveZone, yearDigit = false, 0
	)
	if s := strings.TrimSpace(v); len(s) >= 10 && s[4] == '-' && isDigit(s[0]) {
		if t, err := time.Parse(time.RFC3339, s); err == nil && t.Year() >= 1000 && t.Year() <= 9999 {
			return t, true
		}
	}
	toks := dateTokens(v)
	for _, tok := range toks {
		switch {
		case strings.IndexByte(tok, ':') > 0 && hour < 0 && isDigit(tok[0]):
			h, m, s, ok := parseClock(tok)
			if !ok {
				return time.Time{}, false
			}
			hour, min, sec = h, m, s
		case (tok[0] == '+' || tok[0] == '-') && len(tok) > 1 && isDigit(tok[1]):
			if haveZone {
				continue
			}
			off, ok := parseOffset(tok)
			if ok {
				offset, haveZone = off, true
			}
		case isDigit(tok[0]):
			// "1997." or "21st": the leading digits count.
			n, digits, _ := atoiDigits(tok)
			switch {
			case n < 0:
			case digits <= 2 && day < 0:
				day = n
			case year < 0:
				year, yearDigit = n, digits
			}
		default:
			if m := monthOf(tok); m != 0 && month == 0 {
				month = m
				continue
			}
			if off, ok := zoneByName(tok); ok && !haveZone && hour >= 0 {
				offset, haveZone = off, true
			}
			// Day names and other words are ignored.
		}
	}
	if day < 1 || day > 31 || month == 0 || year < 0 {
		return time.Time{}, false
	}
	switch {
	case yearDigit <= 2:
		// RFC 5322 section 4.3.
		if year < 50 {
			year += 2000
		} else {
			year += 1900
		}
	case yearDigit == 3:
		year += 1900
	}
	if year < 1000 || year > 9999 {
		return time.Time{}, false
	}
	if hour < 0 {
		hour = 0
	}
	if sec == 60 {
		sec = 59 // leap second
	}
	loc := time.UTC
	if offset != 0 {
		loc = time.FixedZone("", offset)
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // 31 Feb
	}
	return t, true
}

// dateTokens removes comments and splits v at white space and commas; a
// token like "21-Nov-1997" is split at its dashes.
func dateTokens(v string) []string {
	var toks []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '(' {
			i = skipComment(v, i) - 1
			b.WriteByte(' ')
			continue
		}
		if c == ',' {
			c = ' '
		}
		b.WriteByte(c)
	}
	for _, f := range strings.Fields(b.String()) {
		if strings.Count(f, "-") == 2 && f[0] != '-' {
			parts := strings.Split(f, "-")
			if monthOf(parts[1]) != 0 {
				for _, p := range parts {
					if p != "" {
						toks = append(toks, p)
					}
				}
				continue
			}
		}
		if f != "" {
			toks = append(toks, f)
		}
	}
	if len(toks) > 16 {
		toks = toks[:16]
	}
	return toks
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// atoiDigits parses the leading digits of s. ok reports that s had nothing
// else; n is -1 when there were no digits or too many.
func atoiDigits(s string) (n, digits int, ok bool) {
	for digits < len(s) && isDigit(s[digits]) {
		if digits >= 9 {
			return -1, digits, false
		}
		n = n*10 + int(s[digits]-'0')
		digits++
	}
	if digits == 0 {
		return -1, 0, false
	}
	return n, digits, digits == len(s)
}

// parseClock parses hh:mm[:ss[.fraction]].
func parseClock(s string) (h, m, sec int, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	if i := strings.IndexByte(parts[len(parts)-1], '.'); i > 0 && len(parts) == 3 {
		parts[2] = parts[2][:i]
	}
	var vals [3]int
	for i, p := range parts {
		n, digits, whole := atoiDigits(p)
		if !whole || digits > 2 {
			return 0, 0, 0, false
		}
		vals[i] = n
	}
	h, m, sec = vals[0], vals[1], vals[2]
	if h > 23 || m > 59 || sec > 60 {
		return 0, 0, 0, false
	}
	return h, m, sec, true
}

// parseOffset parses +hhmm, +hh:mm or +hh into seconds east of UTC.
func parseOffset(s string) (int, bool) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	d := strings.Replace(s[1:], ":", "", 1)
	n, digits, ok := atoiDigits(d)
	if !ok {
		return 0, false
	}
	var h, m int
	switch digits {
	case 4:
		h, m = n/100, n%100
	case 1, 2:
		h = n
	case 3:
		h, m = n/100, n%100
	default:
		return 0, false
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// monthOf returns 1-12 for a month name (its first three letters decide;
// "Sept" and "September" are fine), 0 otherwise.
func monthOf(s string) int {
	if len(s) < 3 {
		return 0
	}
	for i, m := range months {
		if strings.EqualFold(s[:3], m) {
			return i + 1
		}
	}
	return 0
}

// zoneByName maps the obsolete zone names of RFC 5322 section 4.3 to their
// offset. Military zones (one letter other than Z) are too often wrong to
// trust and count as +0000, as that section advises.
func zoneByName(s string) (int, bool) {
	switch strings.ToUpper(s) {
	case "UT", "UTC", "GMT", "Z", "WET":
		return 0, true
	case "EDT":
		return -4 * 3600, true
	case "EST", "CDT":
		return -5 * 3600, true
	case "CST", "MDT":
		return -6 * 3600, true
	case "MST", "PDT":
		return -7 * 3600, true
	case "PST":
		return -8 * 3600, true
	case "CET", "MET", "BST":
		return 3600, true
	case "CEST", "MEST", "EET":
		return 2 * 3600, true
	}
	if len(s) == 1 && (s[0]|0x20) >= 'a' && (s[0]|0x20) <= 'z' {
		return 0, true
	}
	return 0, false
}

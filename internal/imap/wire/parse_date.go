package wire

import (
	"time"
)

// monthNames are the date-month values in order, upper case.
const monthNames = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"

// month reads a date-month, case-insensitively.
func (r *Reader) month() time.Month {
	if len(r.line)-r.pos >= 3 {
		var buf [3]byte
		m := string(upper(buf[:], r.line[r.pos:r.pos+3]))
		for i := 0; i < 12; i++ {
			if monthNames[3*i:3*i+3] == m {
				r.pos += 3
				return time.Month(i + 1)
			}
		}
	}
	r.failf("expected month at position %d", r.pos)
	return 0
}

// fixedDigits reads exactly n digits.
func (r *Reader) fixedDigits(n int, what string) int {
	v := 0
	for i := 0; i < n; i++ {
		c := r.peek()
		if !isDigit(c) {
			r.failf("expected %s at position %d", what, r.pos)
		}
		v = v*10 + int(c-'0')
		r.pos++
	}
	return v
}

// day reads a date-day (1*2DIGIT), and also the date-day-fixed form with a
// leading space (SP DIGIT) when fixed is set.
func (r *Reader) day(fixed bool) int {
	if fixed && r.takeIf(' ') {
		return r.fixedDigits(1, "day")
	}
	d := r.fixedDigits(1, "day")
	if isDigit(r.peek()) {
		d = d*10 + r.fixedDigits(1, "day")
	}
	return d
}

// dateText reads date-day "-" date-month "-" date-year and checks that the
// day exists.
func (r *Reader) dateText(fixed bool) (year int, month time.Month, day int) {
	day = r.day(fixed)
	r.expect('-')
	month = r.month()
	r.expect('-')
	year = r.fixedDigits(4, "year")
	if day < 1 || day > daysIn(year, month) {
		r.fail("invalid date")
	}
	return year, month, day
}

// daysIn returns the number of days of month in year.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// date reads a search date: date-text / DQUOTE date-text DQUOTE (RFC 9051
// section 9). The result is midnight UTC of that day; the caller interprets
// it in the time zone it wants (RFC 9051 section 6.4.4 leaves that to the
// server).
func (r *Reader) date() time.Time {
	q := r.takeIf('"')
	y, m, d := r.dateText(false)
	if q {
		r.expect('"')
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dateTime reads a date-time: DQUOTE date-day-fixed "-" date-month "-"
// date-year SP time SP zone DQUOTE (RFC 9051 section 9). For lenience the
// day may also be a single digit.
func (r *Reader) dateTime() time.Time {
	r.expect('"')
	y, mo, d := r.dateText(true)
	r.sp()
	h := r.fixedDigits(2, "hour")
	r.expect(':')
	mi := r.fixedDigits(2, "minute")
	r.expect(':')
	s := r.fixedDigits(2, "second")
	r.sp()
	sign := 1
	switch r.peek() {
	case '+':
	case '-':
		sign = -1
	default:
		r.failf("expected time zone at position %d", r.pos)
	}
	r.pos++
	zh := r.fixedDigits(2, "time zone")
	zm := r.fixedDigits(2, "time zone")
	r.expect('"')
	if h > 23 || mi > 59 || s > 60 || zh > 23 || zm > 59 {
		r.fail("invalid date-time")
	}
	if s == 60 {
		// A leap second: time.Time has none; keep the instant just before.
		s = 59
	}
	offset := sign * (zh*3600 + zm*60)
	zone := time.UTC
	if offset != 0 {
		zone = time.FixedZone("", offset)
	}
	return time.Date(y, mo, d, h, mi, s, 0, zone)
}

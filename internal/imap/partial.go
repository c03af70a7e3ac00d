package imap

import (
	"strconv"

	"postfach/internal/imap/wire"
)

// PARTIAL (RFC 9394): paged SEARCH results and paged UID FETCH.

// partialBounds returns the half-open index range [lo, hi) that a
// partial range selects in a result of n items; lo == hi when it selects
// nothing.
func partialBounds(p *wire.PartialRange, n int) (lo, hi int) {
	if p.First > 0 {
		lo, hi = int(min(p.First-1, int64(n))), int(min(p.Last, int64(n)))
		return lo, hi
	}
	// -1 is the last item, -k the k-th from the end.
	lo, hi = n+int(max(p.Last, int64(-n))), n+int(p.First)+1
	if hi < 0 {
		return 0, 0
	}
	return max(lo, 0), hi
}

func formatPartialRange(p *wire.PartialRange) string {
	return strconv.FormatInt(p.First, 10) + ":" + strconv.FormatInt(p.Last, 10)
}

// partialSpans keeps, of the known messages that spans cover, the ones
// at the positions the range selects (UID FETCH ... (PARTIAL r), section
// 3.3).
func partialSpans(spans []span, p *wire.PartialRange) []span {
	n := 0
	for _, sp := range spans {
		n += sp.hi - sp.lo
	}
	lo, hi := partialBounds(p, n)
	var out []span
	pos := 0
	for _, sp := range spans {
		size := sp.hi - sp.lo
		// This span holds positions pos..pos+size-1.
		a, b := max(lo, pos), min(hi, pos+size)
		if a < b {
			out = append(out, span{sp.lo + a - pos, sp.lo + b - pos})
		}
		pos += size
	}
	return out
}

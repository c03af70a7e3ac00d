package fts

import "math"

// FUZZY relevancy (RFC 6203 section 4) is Okapi BM25 over the trigrams of
// the search words: a message scores for each gram it contains, more for
// grams that are rare in the collection and for repeated occurrences,
// less the longer its text. The raw sums are then scaled so that the best
// match of a search has 100.

// Stats describe the indexed collection.
type Stats struct {
	Docs    int64   // documents
	AvgSize float64 // mean Document.Size
}

// BM25 parameters, the usual ones (also SQLite FTS5's).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// GramScore is the BM25 weight of a gram that occurs tf times in a
// document of size bytes, and in df documents of the collection.
func GramScore(tf int, size int, df int64, st Stats) float64 {
	if tf <= 0 {
		return 0
	}
	n := float64(max(st.Docs, df, 1))
	idf := math.Log((n-float64(df)+0.5)/(float64(df)+0.5) + 1)
	avg := st.AvgSize
	if avg <= 0 {
		avg = float64(max(size, 1))
	}
	f := float64(tf)
	return idf * f * (bm25K1 + 1) / (f + bm25K1*(1-bm25B+bm25B*float64(size)/avg))
}

// Relevancy scales raw scores (larger is better, 0 for none) to RFC 6203
// scores: the best gets 100, the others in proportion, and none less than
// 1, the lowest score the RFC allows. When no score is positive, all are
// 100: nothing ranks one match above another.
func Relevancy(scores []float64) []uint8 {
	best := 0.0
	for _, s := range scores {
		best = max(best, s)
	}
	out := make([]uint8, len(scores))
	for i, s := range scores {
		switch {
		case best <= 0:
			out[i] = 100
		default:
			out[i] = uint8(max(1, min(100, math.Round(100*s/best))))
		}
	}
	return out
}

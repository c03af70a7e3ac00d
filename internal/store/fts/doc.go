// Package fts is what full-text search needs that is the same for every
// store backend: the text of a message as an index takes it in (Extract),
// the RFC 8970 preview (Preview), the relevancy of FUZZY matches (Okapi
// BM25 scaled to RFC 6203's 1 to 100, Rank), and the Index a backend
// implements on its own storage.
//
// Invariants:
//   - Document text is folded with match.Fold, exactly as the SEARCH
//     matcher folds what it scans: a backend that finds a folded needle in
//     a Document's Header or Body answers SEARCH TEXT and BODY as package
//     match does (RFC 9051 section 6.4.4, case-insensitive substring),
//     without reading the message. A Document cut at the size limit says
//     so (Truncated), and then only the matcher decides.
//   - An index only ever narrows: every document that contains a string
//     of three or more runes is among the candidates for it. Shorter
//     strings are not indexed; backends scan for them.
//   - Nothing here keeps state between calls.
package fts

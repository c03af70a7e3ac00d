package fts

import (
	"context"
	"database/sql"
	"unicode/utf8"

	"postfach/internal/store/match"
)

// Tx is what an Index needs of the backend's transaction: *sql.Tx and
// *sql.Conn have it, and so does a backend's own writer through an
// adapter.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Index is a full-text index of Documents keyed by an int64 id: a blob's,
// so that copies of a message share one entry. A store backend implements
// it on its own database (SQLite: an FTS5 trigram table; PostgreSQL
// would use pg_trgm) and calls it within its own transactions: Add in the
// transaction that makes a document searchable, Remove in the one that
// deletes its last message, so the index never disagrees with the rows.
//
// The index answers candidate questions only. Every document containing
// all the grams asked for must be among the ids AllOf yields; the backend
// confirms each candidate against the folded text it keeps.
type Index interface {
	// Add indexes doc under id. An id is added at most once before its
	// Remove.
	Add(ctx context.Context, tx Tx, id int64, doc *Document) error
	// Remove drops id; removing an id that is not there does nothing.
	Remove(ctx context.Context, tx Tx, id int64) error
	// AllOf returns a query, for the backend to embed as a subquery,
	// that yields the ids of the documents containing every gram (each
	// three runes, folded), and its arguments.
	AllOf(grams []string) (query string, args []any)
	// AtLeast is AllOf for the documents containing at least need (one
	// or more) of grams, which are distinct: a fuzzy word's candidates
	// (match.FuzzyWords), or with need 1, those of any gram.
	AtLeast(grams []string, need int) (query string, args []any)
	// Prefixed returns the grams of the index that begin with prefix
	// (folded, one or two runes), when they are at most maxGrams and
	// the documents containing them at most maxDocs (a document with
	// two of them counts twice). ok is false when they are more: a
	// backend scanning its texts finds the prefix faster then.
	Prefixed(ctx context.Context, tx Tx, prefix string, maxGrams int, maxDocs int64) (grams []string, ok bool, err error)
	// DocFreq returns in how many documents each gram occurs.
	DocFreq(ctx context.Context, tx Tx, grams []string) ([]int64, error)
}

// maxNeedleGrams bounds the grams a substring search asks the index for:
// more narrow the candidates little and cost a posting list each.
const maxNeedleGrams = 12

// NeedleGrams returns the grams to look up for a folded substring needle,
// at most maxNeedleGrams of them, spread over its length so that they
// cover its start, middle and end; none when the needle is shorter than
// three runes (see ShortNeedle).
func NeedleGrams(folded string) []string {
	grams := match.Trigrams(folded)
	if len(grams) <= maxNeedleGrams {
		return grams
	}
	spread := make([]string, maxNeedleGrams)
	for i := range spread {
		spread[i] = grams[i*(len(grams)-1)/(maxNeedleGrams-1)]
	}
	return spread
}

// ShortNeedle reports whether the documents containing the folded needle
// in their Header or Body are among those with a gram beginning with it
// (Index.Prefixed): whether it is two runes long. Each of Header and Body
// is followed by a newline in Document.Text, so two runes there always
// begin a gram; a single rune may end the text.
func ShortNeedle(folded string) bool {
	return utf8.RuneCountInString(folded) == 2
}

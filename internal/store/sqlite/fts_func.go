package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strings"

	sqlitedriver "modernc.org/sqlite"
)

// SQL functions that test folded text for folded strings, for the text
// conditions of SEARCH (fts_search.go).
//
// Why not SQLite's instr: the driver is SQLite transpiled to Go, and
// instr compares the needle's first byte at every position of the text
// in that code, about a nanosecond a byte; scanning stored text was half
// the cost of a text search. These functions hand the text to Go's
// strings.Index (vectorised), which scans it ten times faster, and reach
// the text without copying it (VolatileArgs).
//
// Both texts and needles are folded with match.Fold and so valid UTF-8:
// a byte match starts and ends on characters, and a byte substring test
// is the character test instr made (RFC 9051 section 6.4.4: SEARCH
// matches substrings, case-insensitively).
//
//	fts_contains(needle, text...)
//
// is 1 when needle is in one of the texts, else 0; NULL texts hold
// nothing.
//
//	fts_fuzzy(need, ntexts, text..., gram...)
//
// is 1 when at least need of the grams are each in one of the ntexts
// texts (a fuzzy word's rule, match.FuzzyWords), else 0.
const (
	containsFunc = "fts_contains"
	fuzzyFunc    = "fts_fuzzy"
)

// The functions are registered with the driver, which adds them to every
// connection it opens: they must be there before the first one opens,
// hence init. They keep no state; every store in the process shares
// them.
func init() {
	sqlitedriver.MustRegisterFunction(containsFunc, &sqlitedriver.FunctionImpl{
		NArgs: -1, Deterministic: true, VolatileArgs: true, Scalar: sqlContains,
	})
	sqlitedriver.MustRegisterFunction(fuzzyFunc, &sqlitedriver.FunctionImpl{
		NArgs: -1, Deterministic: true, VolatileArgs: true, Scalar: sqlFuzzy,
	})
}

// The arguments are views of SQLite's memory, valid during the call only
// (VolatileArgs): nothing here keeps them.

func sqlContains(_ *sqlitedriver.FunctionContext, args []driver.Value) (driver.Value, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("%s: no needle", containsFunc)
	}
	needle, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("%s: needle is %T, want text", containsFunc, args[0])
	}
	found, err := inTexts(containsFunc, args[1:], needle)
	if err != nil {
		return nil, err
	}
	return boolInt(found), nil
}

func sqlFuzzy(_ *sqlitedriver.FunctionContext, args []driver.Value) (driver.Value, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("%s: want need and ntexts", fuzzyFunc)
	}
	need, ok1 := args[0].(int64)
	ntexts, ok2 := args[1].(int64)
	if !ok1 || !ok2 || ntexts < 0 || ntexts > int64(len(args)-2) {
		return nil, fmt.Errorf("%s: bad need or ntexts: %v, %v", fuzzyFunc, args[0], args[1])
	}
	texts, grams := args[2:2+ntexts], args[2+ntexts:]
	left := int64(len(grams))
	for _, g := range grams {
		if need <= 0 {
			break
		}
		if left < need {
			break // too few grams left to reach need
		}
		left--
		gram, ok := g.(string)
		if !ok {
			return nil, fmt.Errorf("%s: gram is %T, want text", fuzzyFunc, g)
		}
		found, err := inTexts(fuzzyFunc, texts, gram)
		if err != nil {
			return nil, err
		}
		if found {
			need--
		}
	}
	return boolInt(need <= 0), nil
}

// inTexts reports whether s is in one of texts.
func inTexts(fn string, texts []driver.Value, s string) (bool, error) {
	for _, t := range texts {
		switch t := t.(type) {
		case nil:
		case string:
			if strings.Contains(t, s) {
				return true, nil
			}
		default:
			return false, fmt.Errorf("%s: text is %T", fn, t)
		}
	}
	return false, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

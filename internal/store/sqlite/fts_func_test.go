package sqlite

import (
	"database/sql"
	"math/rand/v2"
	"strings"
	"testing"

	"postfach/internal/store/match"
)

// memDB is an in-memory database on the driver, with the text functions.
func memDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestContainsFunc(t *testing.T) {
	db := memDB(t)
	for _, tc := range []struct {
		args []any
		want int64
	}{
		{[]any{"zeppelin", "the zeppelin arrives"}, 1},
		{[]any{"zeppelin", "the zepelin arrives"}, 0},
		{[]any{"the", "the"}, 1},
		{[]any{"größe", "in der größe"}, 1},
		{[]any{"ße", "straße"}, 1},
		{[]any{"日本", "テスト 日本語"}, 1},
		{[]any{"x", nil}, 0},
		{[]any{"x", nil, "abx"}, 1},
		{[]any{"x", "", "ab"}, 0},
		{[]any{"b\x00c", "a\x00b\x00c"}, 1}, // the whole text, not up to a NUL
		{[]any{"c", "a\x00b\x00c"}, 1},
		{[]any{"abc"}, 0},
	} {
		q := "SELECT " + containsFunc + "(?" + strings.Repeat(", ?", len(tc.args)-1) + ")"
		var got int64
		if err := db.QueryRow(q, tc.args...).Scan(&got); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if got != tc.want {
			t.Errorf("%s%q = %d, want %d", containsFunc, tc.args, got, tc.want)
		}
	}
	for _, args := range [][]any{{}, {[]byte("x"), "x"}, {"x", []byte("x")}, {int64(1), "x"}} {
		q := "SELECT " + containsFunc + "(" + strings.TrimPrefix(strings.Repeat(", ?", len(args)), ", ") + ")"
		var got int64
		if err := db.QueryRow(q, args...).Scan(&got); err == nil {
			t.Errorf("%s%q = %d, want an error", containsFunc, args, got)
		}
	}
}

func TestFuzzyFunc(t *testing.T) {
	db := memDB(t)
	for _, tc := range []struct {
		args []any
		want int64
	}{
		{[]any{2, 1, "quarterly budget", "qua", "uar", "rte"}, 1},
		{[]any{3, 1, "quarterly budget", "qua", "uar", "xyz"}, 0},
		{[]any{3, 2, "the qua", "uar and rte", "qua", "uar", "rte"}, 1}, // grams found in either text
		{[]any{1, 2, nil, "abc", "abc"}, 1},
		{[]any{1, 0, "abc"}, 0}, // no texts
		{[]any{0, 1, "abc"}, 1}, // nothing needed
		{[]any{2, 1, "abc", "xyz", "abc"}, 0},
	} {
		q := "SELECT " + fuzzyFunc + "(?" + strings.Repeat(", ?", len(tc.args)-1) + ")"
		var got int64
		if err := db.QueryRow(q, tc.args...).Scan(&got); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got != tc.want {
			t.Errorf("%s%v = %d, want %d", fuzzyFunc, tc.args, got, tc.want)
		}
	}
	for _, args := range [][]any{{1}, {1, 3, "a", "b"}, {1, -1, "a"}, {"1", 1, "a", "b"}, {1, 1, "a", []byte("b")}} {
		q := "SELECT " + fuzzyFunc + "(?" + strings.Repeat(", ?", len(args)-1) + ")"
		var got int64
		if err := db.QueryRow(q, args...).Scan(&got); err == nil {
			t.Errorf("%s%v = %d, want an error", fuzzyFunc, args, got)
		}
	}
}

// TestContainsFuncIsInstr: on folded text, fts_contains answers as
// SQLite's instr, which it replaces.
func TestContainsFuncIsInstr(t *testing.T) {
	db := memDB(t)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "ß", "ä", "σ", "日", "\u0308", " ", "\n", "\x00", "\U0001F600"}
	str := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return match.Fold(b.String())
	}
	for range 1000 {
		needle, text := str(1+rng.IntN(3)), str(rng.IntN(40))
		var got, want int64
		if err := db.QueryRow(`SELECT `+containsFunc+`(?, ?), instr(?, ?) > 0`, needle, text, text, needle).Scan(&got, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("needle %q in %q: %s says %d, instr %d", needle, text, containsFunc, got, want)
		}
	}
}

package sqlite

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"postfach/internal/store"
	"postfach/internal/store/fts"
	"postfach/internal/store/match"
)

// TestAtLeast: the index's AtLeast query yields exactly the documents
// with at least need of the grams, in each of its forms (all grams, one
// FTS5 expression, counting).
func TestAtLeast(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	m, inbox, _ := setup(t, s)
	rng := rand.New(rand.NewPCG(8, 9))
	for i := range 40 {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(ftsMessage(i, rng))}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	texts := map[int64]string{}
	rows, err := s.rd().QueryContext(ctx, `SELECT blob_id, header, body, names FROM blob_text`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var d fts.Document
		if err := rows.Scan(&id, &d.Header, &d.Body, &d.Names); err != nil {
			t.Fatal(err)
		}
		texts[id] = d.Text()
	}
	rows.Close()
	var pool []string
	for _, w := range ftsWords {
		pool = append(pool, match.Trigrams(match.Fold(w))...)
	}
	pool = append(pool, "zzz", `a"b`)
	slices.Sort(pool)
	pool = slices.Compact(pool)
	forms := map[string]bool{}
	for range 150 {
		grams := slices.Clone(pool)
		rng.Shuffle(len(grams), func(i, j int) { grams[i], grams[j] = grams[j], grams[i] })
		grams = grams[:1+rng.IntN(10)]
		need := 1 + rng.IntN(len(grams))
		q, args := fts5Index{}.AtLeast(grams, need)
		switch {
		case strings.Contains(q, "GROUP BY"):
			forms["count"] = true
		case need == len(grams):
			forms["all"] = true
		default:
			forms["expression"] = true
		}
		got, err := scanIDs(s, q, args)
		if err != nil {
			t.Fatalf("%q need %d: %v", grams, need, err)
		}
		var want []int64
		for id, text := range texts {
			n := 0
			for _, g := range grams {
				if strings.Contains(text, g) {
					n++
				}
			}
			if n >= need {
				want = append(want, id)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%q, need %d: %v, want %v", grams, need, got, want)
		}
	}
	if len(forms) < 3 {
		t.Errorf("only %d forms of query tried", len(forms))
	}
	q, args := fts5Index{}.AtLeast([]string{"abc"}, 2)
	if got, err := scanIDs(s, q, args); err != nil || len(got) != 0 {
		t.Errorf("more needed than grams: %v %v", got, err)
	}
}

func scanIDs(s *Store, q string, args []any) ([]int64, error) {
	rows, err := s.rd().QueryContext(context.Background(), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// TestShortNeedles: a needle of two runes is found through the grams that
// begin with it wherever it is in the header or the body, at their ends
// too, when those grams are rare; by a scan when they are not.
func TestShortNeedles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	m, inbox, _ := setup(t, s)
	raws := []string{
		"Subject: a\r\n\r\nends in zx",               // 1: body ends with it
		"Subject: b\r\nX-Tag: zx\r\n\r\nnothing\r\n", // 2: header ends with it
		"Subject: c\r\n\r\nzx begins\r\n",            // 3
		"Subject: d\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n" +
			"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"plan.zx\"\r\n\r\nAAAA\r\n--b--\r\n", // 4: a file name
		"Subject: e\r\n\r\nUPPER ZX\r\n",   // 5
		"Subject: f\r\n\r\nin Japanese 日本", // 6
	}
	for range 20 {
		raws = append(raws, "Subject: filler\r\n\r\nlorem ipsum dolor sit amet\r\n")
	}
	for _, raw := range raws {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(raw)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	searches := []store.SearchCriteria{
		{Body: []string{"zx"}},
		{Text: []string{"ZX"}},
		{Body: []string{"日本"}},
		{Text: []string{"本"}},
		{Body: []string{"um"}}, // in too many messages: a scan
		{Not: []store.SearchCriteria{{Body: []string{"zx"}}}},
		{Or: [][2]store.SearchCriteria{{{Body: []string{"zx"}}, {Text: []string{"日本"}}}}},
		{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyBody, Value: "zx"}}},
		{Fuzzy: []store.FuzzyMatch{{In: store.FuzzyText, Value: "zx"}}},
	}
	want := [][]store.UID{{1, 3, 5}, {1, 2, 3, 5}, {6}, {6}, nil, nil, {1, 3, 5, 6}, {1, 3, 5}, {1, 2, 3, 4, 5}}
	for i := 7; i <= len(raws); i++ {
		want[4] = append(want[4], store.UID(i))
	}
	want[5] = []store.UID{2, 4, 6}
	want[5] = append(want[5], want[4]...)

	mb, err := m.(*mail).mailboxByID(ctx, s.rd(), inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	var short map[string][]string
	if err := s.readTx(ctx, func(tx reader) error {
		short, err = s.shortNeedles(ctx, tx, &store.SearchCriteria{Body: []string{"zx", "um"}, Text: []string{"日本"}}, mb.messages)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := short["zx"]; !ok {
		t.Errorf("zx is not looked for through the index: %q", short)
	}
	if _, ok := short["日本"]; !ok {
		t.Errorf("日本 is not looked for through the index: %q", short)
	}
	if _, ok := short["um"]; ok {
		t.Errorf("um, in most messages, is looked for through the index: %q", short)
	}

	run := func(state string) {
		t.Helper()
		for i := range searches {
			got, err := m.Search(ctx, inbox.ID, &searches[i])
			if err != nil || !slices.Equal(got, want[i]) {
				t.Errorf("%s: %+v: %v %v, want %v", state, searches[i], got, err, want[i])
			}
		}
	}
	run("indexed")
	// The matcher alone agrees.
	s.index.close()
	setTextState(t, s, `UPDATE blob_text SET state = 0, header = '', body = '', names = ''`)
	setTextState(t, s, `INSERT INTO blob_fts (blob_fts) VALUES ('delete-all')`)
	run("scan")
	s.Close()
}

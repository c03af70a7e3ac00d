package sqlite

import (
	"context"
	"database/sql"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"postfach/internal/store"
	"postfach/internal/store/fts"
	"postfach/internal/store/match"
)

// SEARCH BODY, TEXT and FUZZY through the full-text index.
//
// A text key becomes two conditions (see sqlFilter):
//   - a candidate condition, true for every message that can match: its
//     blob is among those the index finds for the key's trigrams (all of
//     a substring's, enough of a fuzzy word's, for a substring of two
//     runes any that begins with it), or is not in the index with all
//     its text (state < textSteady). A key of one rune, or of two common
//     ones, has none: the text condition scans every message (see
//     fts_scan.go for how);
//   - a text condition on the folded text in blob_text t (fts_contains,
//     fts_func.go), which decides the key exactly where the text is
//     complete (state has textExact), as package match would.
//
// Rows without complete text (a message stored before the index and not
// backfilled yet, or one with more text than fts.MaxText) go to the
// matcher, which reads the blob. So the answer is always the matcher's.

// ftsMailboxIndex lets a text search start from the blobs the index
// found: for each, the messages of the mailbox with that blob and their
// UIDs, without reading the messages rows. Scanning the mailbox instead
// costs a row read per message, the whole cost of a selective search.
const ftsMailboxIndex = `CREATE INDEX messages_mailbox_blob ON messages(mailbox_id, blob_id, uid);`

// unsureText selects the blobs the index does not decide alone.
const unsureText = `SELECT blob_id FROM blob_text WHERE state < ` + "7"

// candidatesIn is the candidate condition for the blobs a query of the
// index yields (fts.Index) and those it does not decide.
func candidatesIn(q string, args []any) (string, []any) {
	return "m.blob_id IN (" + q + " UNION ALL " + unsureText + ")", args
}

// needleCandidates adds the candidate condition of a folded substring
// needle, when the index has one: its grams, or for a short needle those
// that begin with it (shortNeedles).
func (f *sqlFilter) needleCandidates(folded string) {
	var q string
	var args []any
	if grams := fts.NeedleGrams(folded); grams != nil {
		q, args = f.idx.AllOf(grams)
	} else if grams, ok := f.short[folded]; ok {
		q, args = f.idx.AtLeast(grams, 1)
	} else {
		return // a scan
	}
	q, args = candidatesIn(q, args)
	f.cond(q, args...)
	f.driven = true
}

// Short needles (fts.ShortNeedle) have no gram of their own, but every
// text containing one has a gram beginning with it. When those grams are
// in few documents (rare letters, as "zx"), the index finds the
// candidates; when in many (as "th"), scanning the texts is cheaper.
const (
	// maxShortGrams bounds the grams of a short needle's candidates.
	maxShortGrams = 256
	// A short needle's grams may be in at most 1/shortShare as many
	// documents as the mailbox has messages: every candidate of the
	// mailbox costs a read of its text, which is about what scanning
	// two messages costs.
	shortShare = 2
)

// shortNeedles returns, for the short needles of c whose candidates the
// index should find (see shortShare), the grams that begin with them.
func (s *Store) shortNeedles(ctx context.Context, tx reader, c *store.SearchCriteria, messages uint32) (map[string][]string, error) {
	var out map[string][]string
	var walk func(c *store.SearchCriteria) error
	look := func(needle string) error {
		folded := match.Fold(needle)
		if !fts.ShortNeedle(folded) {
			return nil
		}
		if _, done := out[folded]; done {
			return nil
		}
		grams, ok, err := s.index.idx.Prefixed(ctx, readerTx{tx}, folded, maxShortGrams, int64(messages/shortShare))
		if err != nil || !ok {
			return err
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[folded] = grams
		return nil
	}
	walk = func(c *store.SearchCriteria) error {
		for _, n := range append(c.Body[:len(c.Body):len(c.Body)], c.Text...) {
			if err := look(n); err != nil {
				return err
			}
		}
		for _, fz := range c.Fuzzy {
			// FUZZY TEXT looks at the file names too, which end the
			// document: not every short needle there begins a gram.
			if fz.In == store.FuzzyBody && len(match.FuzzyWords(fz.Value)) == 0 {
				if err := look(fz.Value); err != nil {
					return err
				}
			}
		}
		for i := range c.Not {
			if err := walk(&c.Not[i]); err != nil {
				return err
			}
		}
		for i := range c.Or {
			if err := walk(&c.Or[i][0]); err != nil {
				return err
			}
			if err := walk(&c.Or[i][1]); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(c)
}

// tcond adds a text condition.
func (f *sqlFilter) tcond(q string, args ...any) {
	f.tconds = append(f.tconds, q)
	f.targs = append(f.targs, args...)
}

// addText translates c's BODY, TEXT and FUZZY keys.
func (f *sqlFilter) addText(c *store.SearchCriteria) {
	for _, s := range c.Body {
		f.substring(s, false)
	}
	for _, s := range c.Text {
		f.substring(s, true)
	}
	for _, fz := range c.Fuzzy {
		f.fuzzy(fz)
	}
}

// substring translates BODY (text false) and TEXT (RFC 9051 section
// 6.4.4): the folded needle is a substring of the body, or of the header
// or the body.
func (f *sqlFilter) substring(needle string, text bool) {
	folded := match.Fold(needle)
	if folded == "" {
		return // the empty string is in every text
	}
	f.needleCandidates(folded)
	if text {
		// The header alone first: SQLite copies a column's text before a
		// function sees it, and a needle found in the header, a quarter
		// of a message's text, spares the copy of the body.
		f.tcond("("+containsFunc+"(?, t.header) OR "+containsFunc+"(?, t.body))", folded, folded)
	} else {
		f.tcond(containsFunc+"(?, t.body)", folded)
	}
}

// fuzzyTexts lists the texts a fuzzy key looks at, as SQL: columns of
// blob_text t, or the header column col of blobs b.
func fuzzyTexts(fz store.FuzzyMatch, col string) []string {
	switch fz.In {
	case store.FuzzyBody:
		return []string{"t.body"}
	case store.FuzzyText:
		return []string{"t.header", "t.body", "t.names"}
	}
	return []string{"b." + col}
}

// fuzzyIn is the SQL test of a folded string's presence (its one
// placeholder) in the texts a fuzzy key looks at.
func fuzzyIn(fz store.FuzzyMatch, col string) string {
	return containsFunc + "(?, " + strings.Join(fuzzyTexts(fz, col), ", ") + ")"
}

// fuzzyWordIn is the SQL test of a fuzzy word (match.FuzzyWords) in the
// texts a fuzzy key looks at, with its arguments.
func fuzzyWordIn(fz store.FuzzyMatch, col string, w match.FuzzyWord) (string, []any) {
	texts := fuzzyTexts(fz, col)
	q := fuzzyFunc + "(?, " + strconv.Itoa(len(texts)) + ", " + strings.Join(texts, ", ") + strings.Repeat(", ?", len(w.Grams)) + ")"
	args := make([]any, 0, 1+len(w.Grams))
	args = append(args, w.Need)
	for _, g := range w.Grams {
		args = append(args, g)
	}
	return q, args
}

// fuzzy translates a FUZZY key by the rule of match.FuzzyWords.
func (f *sqlFilter) fuzzy(fz store.FuzzyMatch) {
	col := ""
	if fz.In == store.FuzzyHeader {
		if col = indexedColumn(strings.ToLower(fz.Field)); col == "" {
			f.complete = false // the matcher reads the field from the blob
			return
		}
		f.blobs = true
	}
	add := f.tcond
	if fz.In == store.FuzzyHeader {
		add = f.cond // header columns are there for every row
	}
	words := match.FuzzyWords(fz.Value)
	if len(words) == 0 {
		folded := match.Fold(fz.Value)
		if folded == "" {
			if fz.In == store.FuzzyHeader {
				f.cond("b." + col + " IS NOT NULL") // as HEADER with "": the field is there
			}
			return // the empty string is in every text
		}
		// Not a short needle in FUZZY TEXT: see shortNeedles.
		if fz.In == store.FuzzyBody || (fz.In == store.FuzzyText && fts.NeedleGrams(folded) != nil) {
			f.needleCandidates(folded)
		}
		add(fuzzyIn(fz, col), folded)
		return
	}
	for _, w := range words {
		if fz.In != store.FuzzyHeader {
			q, args := candidatesIn(f.idx.AtLeast(w.Grams, w.Need))
			f.cond(q, args...)
			f.driven = true
		}
		q, args := fuzzyWordIn(fz, col, w)
		add(q, args...)
	}
}

// hasText reports whether the filter has text conditions, and so needs
// blob_text joined and two passes (searchText).
func (f *sqlFilter) hasText() bool { return len(f.tconds) > 0 }

// exact is the whole condition, exact for rows with complete text, with
// its arguments in order.
func (f *sqlFilter) exact() (string, []any) {
	conds := append(f.conds[:len(f.conds):len(f.conds)], f.tconds...)
	if len(conds) == 0 {
		return "(1)", nil
	}
	return "(" + strings.Join(conds, " AND ") + ")", append(f.args[:len(f.args):len(f.args)], f.targs...)
}

// candidates is the condition without the text conditions: true for every
// message that may match, whatever its text.
func (f *sqlFilter) candidates() (string, []any) {
	if len(f.conds) == 0 {
		return "(1)", nil
	}
	return "(" + strings.Join(f.conds, " AND ") + ")", f.args
}

// incompleteText selects the blobs whose text is incomplete (not extracted
// yet, or cut at fts.MaxText): the matcher decides them.
const incompleteText = `SELECT blob_id FROM blob_text WHERE state < 6`

// anyIncompleteText reports whether some blob's text is incomplete, in
// which case text searches take a second pass through the matcher.
func anyIncompleteText(ctx context.Context, tx reader) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, incompleteText+` LIMIT 1`).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// fuzzyKeys collects the fuzzy keys that can make a message match: those
// of c and of its OR branches, not those under NOT.
func fuzzyKeys(c *store.SearchCriteria, out []store.FuzzyMatch) []store.FuzzyMatch {
	out = append(out, c.Fuzzy...)
	for i := range c.Or {
		out = fuzzyKeys(&c.Or[i][0], out)
		out = fuzzyKeys(&c.Or[i][1], out)
	}
	return out
}

// SearchRelevancy implements store.RelevancySearcher: Search, then each
// message's score, the sum over the grams of the search's fuzzy words that
// its text contains of their BM25 weight (fts.GramScore with a term
// frequency of one: the index keeps no positions).
func (m *mail) SearchRelevancy(ctx context.Context, id store.MailboxID, c *store.SearchCriteria) ([]store.UID, []uint8, error) {
	uids, err := m.Search(ctx, id, c)
	if err != nil || len(uids) == 0 {
		return uids, nil, err
	}
	keys := fuzzyKeys(c, nil)
	scores := make([]float64, len(uids))
	type gram struct {
		expr string
		args []any
		g    string
	}
	var grams []gram
	blobs := false // a gram is looked for in a header column
	for _, fz := range keys {
		col := ""
		if fz.In == store.FuzzyHeader {
			if col = indexedColumn(strings.ToLower(fz.Field)); col == "" {
				continue // not kept in a column: it matched, it does not rank
			}
			blobs = true
		}
		in := fuzzyIn(fz, col)
		for _, w := range match.FuzzyWords(fz.Value) {
			for _, g := range w.Grams {
				grams = append(grams, gram{in, []any{g}, g})
			}
		}
	}
	if len(grams) > 0 {
		if err := m.s.readTx(ctx, func(tx reader) error {
			names := make([]string, len(grams))
			for i, g := range grams {
				names[i] = g.g
			}
			st, df, err := m.s.index.rankFigures(ctx, tx, names)
			if err != nil {
				return err
			}
			var sel strings.Builder
			var selArgs []any
			for _, g := range grams {
				sel.WriteString(", " + g.expr)
				selArgs = append(selArgs, g.args...)
			}
			// By UID, the key of the messages rows. Left to itself, the
			// planner prefers to scan the mailbox's part of an index
			// that holds uid and blob_id: every message, for each chunk.
			from := "messages m INDEXED BY " + messagesUIDIndex
			if blobs {
				from += " JOIN blobs b ON b.id = m.blob_id"
			}
			pos := make(map[store.UID]int, len(uids))
			for i, u := range uids {
				pos[u] = i
			}
			const chunk = 500
			for lo := 0; lo < len(uids); lo += chunk {
				part := uids[lo:min(lo+chunk, len(uids))]
				args := append(selArgs[:len(selArgs):len(selArgs)], id)
				for _, u := range part {
					args = append(args, u)
				}
				rows, err := tx.QueryContext(ctx, `SELECT m.uid, t.size`+sel.String()+`
					FROM `+from+` JOIN blob_text t ON t.blob_id = m.blob_id
					WHERE m.mailbox_id = ? AND m.uid IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
				if err != nil {
					return err
				}
				present := make([]bool, len(grams))
				dest := make([]any, 2+len(grams))
				var uid store.UID
				var size int
				dest[0], dest[1] = &uid, &size
				for i := range present {
					dest[2+i] = &present[i]
				}
				for rows.Next() {
					if err := rows.Scan(dest...); err != nil {
						rows.Close()
						return err
					}
					for i, p := range present {
						if p {
							scores[pos[uid]] += fts.GramScore(1, size, df[grams[i].g], st)
						}
					}
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	return uids, fts.Relevancy(scores), nil
}

// messagesUIDIndex is the index SQLite made for the UNIQUE (mailbox_id,
// uid) of messages; its name follows from the schema (the table's first
// unnamed constraint), which migrations never change.
const messagesUIDIndex = "sqlite_autoindex_messages_1"

// rankCacheFor is how long collection figures are reused: they change
// slowly, and reading them costs a walk of the index.
const rankCacheFor = time.Minute

// rankCache keeps the collection figures of relevancy.
type rankCache struct {
	mu    sync.Mutex
	at    time.Time
	stats fts.Stats
	df    map[string]int64
}

// rankFigures returns the collection's statistics and the document
// frequency of each gram, from the cache when fresh.
func (ix *indexer) rankFigures(ctx context.Context, tx reader, grams []string) (fts.Stats, map[string]int64, error) {
	c := &ix.ranks
	c.mu.Lock()
	stats, fresh := c.stats, time.Since(c.at) < rankCacheFor
	df := make(map[string]int64, len(grams))
	var missing []string
	for _, g := range grams {
		if n, ok := c.df[g]; ok && fresh {
			df[g] = n
		} else if _, dup := df[g]; !dup {
			df[g] = 0
			missing = append(missing, g)
		}
	}
	c.mu.Unlock()
	if !fresh {
		var total float64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), total(size) FROM blob_text WHERE state & 1`).Scan(&stats.Docs, &total); err != nil {
			return stats, nil, err
		}
		if stats.Docs > 0 {
			stats.AvgSize = total / float64(stats.Docs)
		}
	}
	if len(missing) > 0 {
		freqs, err := ix.idx.DocFreq(ctx, readerTx{tx}, missing)
		if err != nil {
			return stats, nil, err
		}
		for i, g := range missing {
			df[g] = freqs[i]
		}
	}
	c.mu.Lock()
	if !fresh || c.df == nil || len(c.df) > maxCachedGrams {
		c.df, c.at, c.stats = map[string]int64{}, time.Now(), stats
	}
	for _, g := range missing {
		c.df[g] = df[g]
	}
	c.mu.Unlock()
	return stats, df, nil
}

// maxCachedGrams bounds the document frequencies kept.
const maxCachedGrams = 100_000

// WriteNames implements match.NameWriter, for FUZZY TEXT in the matcher.
func (c *content) WriteNames(w io.Writer) error {
	b, err := c.blob()
	if err != nil {
		return err
	}
	return b.WriteNames(w)
}

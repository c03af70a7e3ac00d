package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"

	"postfach/internal/mime"
	"postfach/internal/store/fts"
)

// Full-text search. Every blob has a blob_text row, written in the
// transaction that stores the blob, with its RFC 8970 preview (computed at
// delivery: cheap, from the first text part only). That row is the
// durable queue of the full-text index: a background indexer
// (fts_indexer.go) then extracts the text of the message, folded as
// SEARCH compares it (fts.Extract), into the row, adds it to blob_fts, an
// FTS5 table with the trigram tokenizer, and records both in the row's
// state.
//
// Why the text and the index are not written at delivery: storing a
// 10 KB message's text in its commit doubled the bytes every group commit
// fsyncs, and cut APPEND throughput by a third; indexing it costs about
// as much writer time as the rest of the delivery. The indexer does both
// in batches of its own, and while deliveries come in it takes at most a
// quarter of the writer's time. A message is searchable from the moment
// it is acknowledged all the same: a search takes every blob not yet
// indexed as a candidate and has the matcher read it, so only the cost of
// finding a fresh message differs, never the answer.
//
// blob_text.state is a set of bits:
//
//	textExtracted (4): header, body and names hold the message's text
//	textExact     (2): ... all of it (not cut at fts.MaxText)
//	textIndexed   (1): the text is in blob_fts
//
// A row starts at 0 (so do rows of blobs stored before this table
// existed: the indexer's backfill). A row at textSteady (7) is decided by
// the index and its text alone; any other row is a candidate of every
// text search; a row below textExtracted|textExact (6) is decided by the
// matcher, reading the blob.
//
// blob_fts is contentless (the text is in blob_text already) with
// detail=none: it records which blobs contain a trigram, not where. That
// makes it a third of the size of a positional index and four times
// faster to fill; what it does not answer (whether the trigrams are
// adjacent) the text conditions answer on the candidates (fts_func.go). FTS5's bm25() needs
// positions, so FUZZY relevancy is computed here (fts.GramScore) from the
// document frequencies the index keeps (blob_fts_vocab).
//
// A trigger deletes a blob's text and index entry with its blobs row, in
// the same transaction, whatever deletes it. The text is folded with
// match.Fold: should match.FoldVersion change, every row must go back to
// state 0 (migrate refuses to open the store until then).
const ftsSchema = `
CREATE TABLE blob_text (
	blob_id INTEGER PRIMARY KEY,
	state   INTEGER NOT NULL,
	header  TEXT NOT NULL DEFAULT '',
	body    TEXT NOT NULL DEFAULT '',
	names   TEXT NOT NULL DEFAULT '',
	size    INTEGER NOT NULL DEFAULT 0,
	preview TEXT
);
-- Rows to index or to decide by scanning, and the collection figures of
-- relevancy, without reading the text.
CREATE INDEX blob_text_state ON blob_text(state, size);
CREATE VIRTUAL TABLE blob_fts USING fts5(text, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1, detail = none);
CREATE VIRTUAL TABLE blob_fts_vocab USING fts5vocab(blob_fts, 'row');
INSERT INTO blob_text (blob_id, state) SELECT id, 0 FROM blobs;
CREATE TRIGGER blobs_text_delete AFTER DELETE ON blobs BEGIN
	DELETE FROM blob_fts WHERE rowid = old.id AND EXISTS (SELECT 1 FROM blob_text WHERE blob_id = old.id AND state & 1);
	DELETE FROM blob_text WHERE blob_id = old.id;
END;
`

// blob_text.state bits.
const (
	textIndexed   = 1
	textExact     = 2
	textExtracted = 4
	textSteady    = textExtracted | textExact | textIndexed
)

// textRow is what a blob_text row holds: the preview, and once extracted
// the text.
type textRow struct {
	doc       fts.Document
	preview   string
	previewOK bool // preview computed
	extracted bool // doc holds the text
}

// state is the row's state before indexing.
func (r *textRow) state() int {
	switch {
	case !r.extracted:
		return 0
	case r.doc.Truncated:
		return textExtracted
	}
	return textExtracted | textExact
}

// deliveredText is a new blob's blob_text row: its preview, read from the
// message in memory (whole, when it fit there) or from the blob. A failure
// leaves the preview to the indexer (it is logged, the delivery goes on).
func (s *Store) deliveredText(ctx context.Context, name string, whole []byte, root *mime.Part) textRow {
	var r textRow
	src, done, err := s.messageReader(ctx, name, whole)
	if err != nil {
		s.log.Warn("sqlite: reading a new message for its preview", "blob", name, "err", err)
		return r
	}
	defer done()
	if r.preview, err = fts.Preview(src, root); err != nil {
		s.log.Warn("sqlite: computing the preview of a new message", "blob", name, "err", err)
		return r
	}
	r.previewOK = true
	return r
}

// messageReader reads a message from whole, or from its blob when whole is
// nil; done releases it.
func (s *Store) messageReader(ctx context.Context, name string, whole []byte) (io.ReaderAt, func(), error) {
	if whole != nil {
		return bytes.NewReader(whole), func() {}, nil
	}
	b, err := s.blobs.Open(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { b.Close() }, nil
}

// extractText computes a stored blob's text and preview, for the indexer.
// A failure is logged and returned.
func (s *Store) extractText(ctx context.Context, name string, root *mime.Part) (textRow, error) {
	var r textRow
	src, done, err := s.messageReader(ctx, name, nil)
	if err != nil {
		s.log.Warn("sqlite: reading a stored message for its text", "blob", name, "err", err)
		return r, err
	}
	defer done()
	if r.doc, err = fts.Extract(src, root); err != nil {
		s.log.Warn("sqlite: extracting the text of a stored message", "blob", name, "err", err)
		return r, err
	}
	if r.preview, err = fts.Preview(src, root); err != nil {
		s.log.Warn("sqlite: computing the preview of a stored message", "blob", name, "err", err)
		return r, err
	}
	r.extracted, r.previewOK = true, true
	return r, nil
}

// insertText writes a new blob's text row.
func (t *wtx) insertText(blobID int64, r *textRow) error {
	var preview any
	if r.previewOK {
		preview = r.preview
	}
	_, err := t.exec(`INSERT INTO blob_text (blob_id, state, header, body, names, size, preview) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		blobID, r.state(), r.doc.Header, r.doc.Body, r.doc.Names, r.doc.Size(), preview)
	return err
}

// fts5Index is fts.Index on the blob_fts table.
type fts5Index struct{}

var _ fts.Index = fts5Index{}

// Add implements fts.Index.
func (fts5Index) Add(ctx context.Context, tx fts.Tx, id int64, doc *fts.Document) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO blob_fts (rowid, text) VALUES (?, ?)`, id, doc.Text())
	return err
}

// Remove implements fts.Index. A contentless_delete table removes a rowid
// without the text it was added with.
func (fts5Index) Remove(ctx context.Context, tx fts.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM blob_fts WHERE rowid = ?`, id)
	return err
}

// AllOf implements fts.Index. Each gram is an FTS5 string, one trigram
// token; juxtaposed strings are ANDed.
func (fts5Index) AllOf(grams []string) (string, []any) {
	return `SELECT rowid FROM blob_fts WHERE blob_fts MATCH ?`, []any{ftsQuery(grams)}
}

// maxGramGroups bounds the AND groups of an AtLeast query written as one
// FTS5 expression, the OR of every choice of need grams: FTS5 answers it
// about twice as fast as counting matches with GROUP BY, but the choices
// grow fast (16 grams, 8 needed: 12,870).
const maxGramGroups = 32

// AtLeast implements fts.Index.
func (x fts5Index) AtLeast(grams []string, need int) (string, []any) {
	need = max(need, 1)
	switch {
	case need > len(grams):
		return `SELECT rowid FROM blob_fts WHERE 0`, nil
	case need == len(grams):
		return x.AllOf(grams)
	case need == 1 || choices(len(grams), need) <= maxGramGroups:
		var groups []string
		pick := make([]string, 0, need)
		var choose func(from int)
		choose = func(from int) {
			if len(pick) == need {
				groups = append(groups, "("+ftsQuery(pick)+")")
				return
			}
			for i := from; i <= len(grams)-(need-len(pick)); i++ {
				pick = append(pick, grams[i])
				choose(i + 1)
				pick = pick[:len(pick)-1]
			}
		}
		choose(0)
		return `SELECT rowid FROM blob_fts WHERE blob_fts MATCH ?`, []any{strings.Join(groups, " OR ")}
	}
	args := make([]any, len(grams))
	for i, g := range grams {
		args[i] = ftsQuery([]string{g})
	}
	return `SELECT id FROM (SELECT rowid AS id FROM blob_fts WHERE blob_fts MATCH ?` +
		strings.Repeat(` UNION ALL SELECT rowid FROM blob_fts WHERE blob_fts MATCH ?`, len(grams)-1) +
		`) GROUP BY id HAVING count(*) >= ` + strconv.Itoa(need), args
}

// choices is n choose k, or maxGramGroups+1 once above it.
func choices(n, k int) int {
	c := 1
	for i := range k {
		c = c * (n - i) / (i + 1)
		if c > maxGramGroups {
			return maxGramGroups + 1
		}
	}
	return c
}

// Prefixed implements fts.Index. The vocabulary table reads the terms of
// a range in order, counting each one's documents as it goes, so that
// stopping early reads no more of a frequent prefix than needed.
func (fts5Index) Prefixed(ctx context.Context, tx fts.Tx, prefix string, maxGrams int, maxDocs int64) ([]string, bool, error) {
	if prefix == "" || prefix[len(prefix)-1] == 0xff {
		return nil, false, nil
	}
	// Terms are ordered by their bytes: those beginning with prefix are
	// from it up to prefix with its last byte one higher.
	end := []byte(prefix)
	end[len(end)-1]++
	rows, err := tx.QueryContext(ctx, `SELECT term, doc FROM blob_fts_vocab WHERE term >= ? AND term < ?`, prefix, string(end))
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var grams []string
	var docs int64
	for rows.Next() {
		var g string
		var n int64
		if err := rows.Scan(&g, &n); err != nil {
			return nil, false, err
		}
		if docs += n; docs > maxDocs || len(grams) == maxGrams {
			return nil, false, nil
		}
		grams = append(grams, g)
	}
	return grams, true, rows.Err()
}

// DocFreq implements fts.Index.
func (fts5Index) DocFreq(ctx context.Context, tx fts.Tx, grams []string) ([]int64, error) {
	out := make([]int64, len(grams))
	for i, g := range grams {
		rows, err := tx.QueryContext(ctx, `SELECT doc FROM blob_fts_vocab WHERE term = ?`, g)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			if err := rows.Scan(&out[i]); err != nil {
				rows.Close()
				return nil, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ftsQuery is an FTS5 query for documents containing every gram: each a
// string (quotes doubled, FTS5's escape), ANDed by juxtaposition.
func ftsQuery(grams []string) string {
	var b strings.Builder
	for i, g := range grams {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(g, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}

// wtxTx adapts the writer's transaction to fts.Tx.
type wtxTx struct{ t *wtx }

func (x wtxTx) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return x.t.exec(query, args...)
}

func (x wtxTx) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return x.t.query(query, args...)
}

// readerTx adapts a read transaction to fts.Tx; reads never execute.
type readerTx struct{ tx reader }

func (x readerTx) ExecContext(context.Context, string, ...any) (sql.Result, error) {
	return nil, fmt.Errorf("sqlite: write in a read transaction")
}

func (x readerTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return x.tx.QueryContext(ctx, query, args...)
}

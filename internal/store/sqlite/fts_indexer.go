package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"postfach/internal/mime"
	"postfach/internal/store/fts"
)

// The indexer extracts the text of queued blobs (state 0: delivered
// since, or stored before blob_text existed, the backfill) and adds it to
// the full-text index, in small writer operations, oldest blob first. It
// runs in every process that opens the store; the state checks inside
// each write make two processes' indexers harmless to each other.

const (
	// indexBatchRows and indexBatchText bound one writer operation, so
	// that deliveries queued behind it wait milliseconds, not seconds.
	indexBatchRows = 64
	indexBatchText = 256 << 10
	// indexPoll is how often the indexer looks for work it was not told
	// of: deliveries by other processes sharing the store.
	indexPoll = 5 * time.Second
	// indexRetry is the pause after a failed step.
	indexRetry = 5 * time.Second
	// While messages are being delivered (one came within indexBusy),
	// the indexer takes at most 1/indexShare of the writer's time: each
	// step is followed by a pause of (indexShare-1) times its length.
	// Deliveries go first; the index catches up when they pause, and
	// searches find queued messages all the same.
	indexBusy  = 200 * time.Millisecond
	indexShare = 4
)

type indexer struct {
	s      *Store
	idx    fts.Index
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	lastDelivery atomic.Int64 // Unix nanoseconds of the last kick

	mu        sync.Mutex
	lastError error // of the last step, for WaitIndexed

	ranks rankCache // relevancy figures (fts_search.go)

	// Scans of the texts of a mailbox (fts_scan.go): at most scanWorkers
	// connections, each range at least scanRange messages.
	scanWorkers, scanRange int
}

func startIndexer(s *Store, idx fts.Index) *indexer {
	ctx, cancel := context.WithCancel(context.Background())
	ix := &indexer{s: s, idx: idx, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		scanWorkers: scanWorkers(), scanRange: defaultScanRange}
	go ix.run(ctx)
	return ix
}

// kick tells the indexer that a delivery queued rows.
func (ix *indexer) kick() {
	ix.lastDelivery.Store(time.Now().UnixNano())
	ix.poke()
}

// poke wakes the indexer to look for work.
func (ix *indexer) poke() {
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// close stops the indexer after its current step.
func (ix *indexer) close() {
	ix.cancel()
	<-ix.done
}

func (ix *indexer) run(ctx context.Context) {
	defer close(ix.done)
	start, total := time.Now(), 0
	for {
		began := time.Now()
		n, more, err := ix.step(ctx)
		if ctx.Err() != nil {
			return
		}
		ix.mu.Lock()
		ix.lastError = err
		ix.mu.Unlock()
		total += n
		wait, wakeable := indexPoll, true
		switch {
		case err != nil:
			ix.s.log.Error("sqlite: indexing message text", "err", err)
			wait = indexRetry
		case n > 0 && time.Since(time.Unix(0, ix.lastDelivery.Load())) < indexBusy:
			// Deliveries go first; a kick does not shorten this pause.
			wait, wakeable = (indexShare-1)*time.Since(began), false
		case more:
			wait = 0
		case total > 0:
			ix.s.log.Debug("sqlite: indexed message text", "messages", total, "took", time.Since(start).Round(time.Millisecond))
			total = 0
		}
		if wait <= 0 {
			continue
		}
		var wake <-chan struct{}
		if wakeable {
			wake = ix.wake
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
			start = time.Now()
		case <-timer.C:
		}
		timer.Stop()
	}
}

// pendingText is a blob_text row waiting for the indexer.
type pendingText struct {
	id        int64
	state     int
	name      string
	structure []byte // for rows to extract
}

// step indexes one batch and reports how many rows it handled and whether
// more are waiting.
func (ix *indexer) step(ctx context.Context) (int, bool, error) {
	s := ix.s
	var batch []pendingText
	more := false
	err := s.readTx(ctx, func(tx reader) error {
		rows, err := tx.QueryContext(ctx, `SELECT t.blob_id, t.state, t.size, b.name, CASE WHEN t.state = 0 THEN b.structure END
			FROM blob_text t JOIN blobs b ON b.id = t.blob_id WHERE t.state IN (0, 4, 6) ORDER BY t.blob_id LIMIT ?`, indexBatchRows+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		text := 0
		for rows.Next() {
			var p pendingText
			var size int
			if err := rows.Scan(&p.id, &p.state, &size, &p.name, &p.structure); err != nil {
				return err
			}
			if len(batch) == indexBatchRows || len(batch) > 0 && text+size > indexBatchText {
				more = true
				break
			}
			text += size
			if p.state == 0 {
				text += 4 << 10 // a guess: its text is not extracted yet
			}
			batch = append(batch, p)
		}
		return rows.Err()
	})
	if err != nil || len(batch) == 0 {
		return 0, false, err
	}
	// Extract what the backfill needs outside the writer.
	extracted := make(map[int64]*textRow)
	for _, p := range batch {
		if p.state != 0 {
			continue
		}
		r := ix.extract(ctx, p)
		extracted[p.id] = &r
	}
	err = s.w.do(ctx, nil, func(t *wtx) error {
		tx := wtxTx{t}
		for _, p := range batch {
			var doc fts.Document
			state := p.state
			if r := extracted[p.id]; r != nil {
				// The name guards against a blob deleted meanwhile and
				// its id taken by a new one.
				state = r.state()
				res, err := t.exec(`UPDATE blob_text SET state = ?, header = ?, body = ?, names = ?, size = ?, preview = coalesce(preview, ?)
					WHERE blob_id = ? AND state = 0 AND EXISTS (SELECT 1 FROM blobs WHERE id = ? AND name = ?)`,
					state, r.doc.Header, r.doc.Body, r.doc.Names, r.doc.Size(), r.preview, p.id, p.id, p.name)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n != 1 {
					continue
				}
				doc = r.doc
			} else {
				// Read inside the transaction: the row may have gone, or
				// been indexed by another process.
				err := t.queryRow(`SELECT state, header, body, names FROM blob_text WHERE blob_id = ? AND state IN (4, 6)`, p.id).
					Scan(&state, &doc.Header, &doc.Body, &doc.Names)
				if err != nil {
					if isNoRows(err) {
						continue
					}
					return err
				}
			}
			if err := ix.idx.Add(ctx, tx, p.id, &doc); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE blob_text SET state = ? WHERE blob_id = ?`, state|textIndexed, p.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return len(batch), more, nil
}

// extract computes the text row of a queued blob. A message that cannot
// be read gets an empty, inexact row: the matcher decides it (and reports
// the read error to the search).
func (ix *indexer) extract(ctx context.Context, p pendingText) textRow {
	s := ix.s
	failed := textRow{extracted: true, doc: fts.Document{Truncated: true}}
	var root mime.Part
	if err := json.Unmarshal(p.structure, &root); err != nil {
		s.log.Error("sqlite: structure of a stored message", "blob", p.name, "err", err)
		return failed
	}
	r, err := s.extractText(ctx, p.name, &root)
	if err != nil {
		return failed
	}
	return r
}

// WaitIndexed returns once every message stored so far is in the
// full-text index, or when ctx ends. Searches never need it (they find
// queued messages by their text); tests and benchmarks that measure the
// index do.
func (s *Store) WaitIndexed(ctx context.Context) error {
	for {
		var n int
		if err := s.rd().QueryRowContext(ctx, `SELECT count(*) FROM blob_text WHERE state IN (0, 4, 6)`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		s.index.poke()
		s.index.mu.Lock()
		err := s.index.lastError
		s.index.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

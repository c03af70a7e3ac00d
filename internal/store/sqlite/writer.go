package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"postfach/internal/notify"
)

// errClosed is returned for writes after Close.
var errClosed = errors.New("sqlite: store closed")

// errUncertain wraps a failure of the batch's COMMIT: the transaction may
// or may not have become durable. A caller must then leave its blobs for
// garbage collection rather than remove them.
var errUncertain = errors.New("sqlite: commit outcome unknown")

// writer is the group committer: one goroutine, one connection.
type writer struct {
	s        *Store
	conn     *sql.Conn
	maxBatch int
	ops      chan *op

	mu     sync.RWMutex
	closed bool
	done   chan struct{}

	// Owned by the writer goroutine.
	stmts  map[string]*sql.Stmt
	forget []string // blob_trash names whose files are gone
}

// op is one caller's write.
type op struct {
	ctx context.Context
	fn  func(w *wtx) error
	// synced delivers the outcome of making the new blobs the op's rows
	// refer to durable, which starts when the op is queued; nil when it
	// has none.
	synced chan error
	err    chan error
}

// wtx is what an op sees: the batch's transaction, and what the op
// produces for after the commit.
type wtx struct {
	ctx    context.Context
	wr     *writer
	events []notify.Event
	trash  []string // blob names whose last row went
}

func newWriter(s *Store, conn *sql.Conn, maxBatch int) *writer {
	w := &writer{s: s, conn: conn, maxBatch: maxBatch, ops: make(chan *op, maxBatch), done: make(chan struct{}), stmts: map[string]*sql.Stmt{}}
	go w.run()
	return w
}

// do queues fn and waits for the outcome of its batch. Once queued, it
// waits even if ctx ends: the op may be committing (the writer skips ops
// whose ctx ended before they started).
//
// blobs are the new blobs fn's rows refer to. The caller makes them
// durable once the op is queued, beside the writer: while the writer
// commits earlier batches, and while it runs this op's statements; its
// batch commits once they are (runBatch). A blob's fsync and the WAL's
// thus overlap across batches, where a batch that synced its blobs first
// and then committed waited for two fsyncs in a row. The caller's own
// goroutine syncs: one started for it would wait for the scheduler, on
// the path of every APPEND.
func (w *writer) do(ctx context.Context, blobs []string, fn func(w *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, err: make(chan error, 1)}
	if len(blobs) > 0 {
		o.synced = make(chan error, 1)
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	w.ops <- o
	w.mu.RUnlock()
	if o.synced != nil {
		o.synced <- w.s.blobs.Sync(bg, blobs)
	}
	return <-o.err
}

// doAsync queues fn and returns at once: for writes whose callers need not
// wait, whose failure leaves nothing wrong but is logged. After close it
// does nothing.
func (w *writer) doAsync(fn func(w *wtx) error) {
	o := &op{ctx: bg, err: make(chan error, 1), fn: func(t *wtx) error {
		err := fn(t)
		if err != nil {
			w.s.log.Warn("sqlite: background write failed", "err", err)
		}
		return err
	}}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.closed {
		w.ops <- o
	}
}

func (w *writer) close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.ops)
	w.mu.Unlock()
	<-w.done
	for _, st := range w.stmts {
		st.Close()
	}
	return w.conn.Close()
}

func (w *writer) run() {
	defer close(w.done)
	for first := range w.ops {
		batch := []*op{first}
	drain:
		for len(batch) < w.maxBatch {
			select {
			case o, ok := <-w.ops:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		w.runBatch(batch)
	}
}

// bg is the context of the writer's statements: one caller giving up must
// not abort a transaction that holds other callers' operations.
var bg = context.Background()

func (w *writer) runBatch(batch []*op) {
	// The batch commits only once the blobs its rows refer to are durable,
	// files and directory entries (do started their syncs): a row never
	// becomes durable without its blob. Every sync is waited for before
	// any op hears its outcome, since a caller removes its blobs on
	// failure.
	waited := false
	var syncErr error
	waitSynced := func() error {
		if !waited {
			waited = true
			for _, o := range batch {
				if o.synced == nil {
					continue
				}
				if err := <-o.synced; err != nil && syncErr == nil {
					syncErr = err
				}
			}
		}
		return syncErr
	}
	fail := func(err error) {
		waitSynced()
		for _, o := range batch {
			o.err <- err
		}
	}
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	if len(w.forget) > 0 {
		w.forgetTrash()
	}
	errs := make([]error, len(batch))
	var events []notify.Event
	var trash []string
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := w.exec("SAVEPOINT op"); err != nil {
			w.rollback()
			fail(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		t := &wtx{ctx: o.ctx, wr: w}
		err := runOp(o.fn, t)
		if err != nil {
			errs[i] = err
			if _, rerr := w.exec("ROLLBACK TO op"); rerr != nil {
				w.rollback()
				fail(fmt.Errorf("sqlite: rollback to savepoint after %v: %w", err, rerr))
				return
			}
		} else {
			events = append(events, t.events...)
			trash = append(trash, t.trash...)
		}
		if _, err := w.exec("RELEASE op"); err != nil {
			w.rollback()
			fail(fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if err := waitSynced(); err != nil {
		w.rollback()
		fail(err)
		return
	}
	if _, err := w.exec("COMMIT"); err != nil {
		w.rollback()
		err = fmt.Errorf("%w: %w", errUncertain, err)
		for _, o := range batch {
			o.err <- err
		}
		return
	}
	w.s.cp.kick()
	w.removeBlobs(trash)
	w.s.publish(events)
	for i, o := range batch {
		o.err <- errs[i]
	}
}

func runOp(fn func(*wtx) error, t *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: panic in write operation: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(t)
}

func (w *writer) rollback() {
	if _, err := w.conn.ExecContext(bg, "ROLLBACK"); err != nil {
		w.s.log.Error("sqlite: rollback failed", "err", err)
	}
}

// removeBlobs removes the files of blobs whose rows a commit deleted; their
// blob_trash rows are deleted in the next transaction.
func (w *writer) removeBlobs(names []string) {
	for _, n := range names {
		if err := w.s.blobs.Delete(bg, n); err != nil {
			// CollectGarbage retries from blob_trash.
			w.s.log.Error("sqlite: removing blob", "blob", n, "err", err)
			continue
		}
		w.forget = append(w.forget, n)
	}
}

func (w *writer) forgetTrash() {
	for _, n := range w.forget {
		if _, err := w.exec(`DELETE FROM blob_trash WHERE name = ?`, n); err != nil {
			w.s.log.Error("sqlite: forgetting removed blob", "blob", n, "err", err)
			return // kept for the next batch
		}
	}
	w.forget = w.forget[:0]
}

// stmt returns the prepared statement for query on the writer connection.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if st := w.stmts[query]; st != nil {
		return st, nil
	}
	st, err := w.conn.PrepareContext(bg, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

func (w *writer) exec(query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(bg, args...)
}

// Helpers ops use.

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	return t.wr.exec(query, args...)
}

func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.wr.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(bg, args...)
}

func (t *wtx) queryRow(query string, args ...any) *sql.Row {
	st, err := t.wr.stmt(query)
	if err != nil {
		// Surface the error through Scan.
		return t.wr.conn.QueryRowContext(bg, query, args...)
	}
	return st.QueryRowContext(bg, args...)
}

func (t *wtx) publish(ev notify.Event) { t.events = append(t.events, ev) }

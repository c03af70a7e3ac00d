package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// writer is the queue's group committer: one goroutine on one connection
// runs the pending writes of all callers in one transaction, a SAVEPOINT
// each, and commits once. Enqueues arriving together thus share one WAL
// fsync, and their spool files are fdatasynced side by side before it.
type writer struct {
	q        *Queue
	conn     *sql.Conn
	maxBatch int
	ops      chan *op

	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

// op is one caller's write.
type op struct {
	ctx   context.Context
	fn    func(t *wtx) error
	spool []string // new spool files the op's rows refer to
	err   chan error
}

// wtx is what an op sees: the batch's connection inside the transaction,
// and what the op leaves for after the commit.
type wtx struct {
	ctx  context.Context
	conn *sql.Conn
	// trash collects spool files whose message row the op deleted; they
	// are removed after the commit.
	trash []string
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	return t.conn.ExecContext(bg, query, args...)
}

func (t *wtx) queryRow(query string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(bg, query, args...)
}

func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	return t.conn.QueryContext(bg, query, args...)
}

// bg is the context of the writer's statements: a caller giving up must
// not abort a transaction that holds other callers' writes.
var bg = context.Background()

func newWriter(q *Queue, conn *sql.Conn, maxBatch int) *writer {
	w := &writer{q: q, conn: conn, maxBatch: maxBatch, ops: make(chan *op, maxBatch), done: make(chan struct{})}
	go w.run()
	return w
}

// do queues fn and waits for the outcome of its batch. Once queued it
// waits even if ctx ends, since the op may be committing; the writer
// skips ops whose ctx ended before they started.
func (w *writer) do(ctx context.Context, spool []string, fn func(t *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, spool: spool, err: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	w.ops <- o
	w.mu.RUnlock()
	return <-o.err
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

// errUncertain marks a failed COMMIT: the transaction may or may not be
// durable, so the caller must not remove files its rows may refer to.
var errUncertain = errors.New("queue: commit outcome unknown")

func (w *writer) runBatch(batch []*op) {
	var names []string
	for _, o := range batch {
		names = append(names, o.spool...)
	}
	// The batch's spool files and their directory entries become durable
	// while the statements run; the COMMIT waits for them, so no row
	// ever refers to a file that a crash could lose.
	synced := make(chan error, 1)
	go func() { synced <- w.q.spool.Sync(bg, names) }()

	fail := func(err error) {
		<-synced
		for _, o := range batch {
			o.err <- err
		}
	}
	if _, err := w.conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("queue: begin: %w", err))
		return
	}
	errs := make([]error, len(batch))
	var trash []string
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := w.conn.ExecContext(bg, "SAVEPOINT op"); err != nil {
			w.rollback()
			fail(fmt.Errorf("queue: savepoint: %w", err))
			return
		}
		t := &wtx{ctx: o.ctx, conn: w.conn}
		if err := runOp(o.fn, t); err != nil {
			errs[i] = err
			if _, rerr := w.conn.ExecContext(bg, "ROLLBACK TO op"); rerr != nil {
				w.rollback()
				fail(fmt.Errorf("queue: rollback to savepoint after %v: %w", err, rerr))
				return
			}
		} else {
			trash = append(trash, t.trash...)
		}
		if _, err := w.conn.ExecContext(bg, "RELEASE op"); err != nil {
			w.rollback()
			fail(fmt.Errorf("queue: release savepoint: %w", err))
			return
		}
	}
	if err := <-synced; err != nil {
		w.rollback()
		for _, o := range batch {
			o.err <- err
		}
		return
	}
	if _, err := w.conn.ExecContext(bg, "COMMIT"); err != nil {
		w.rollback()
		err = fmt.Errorf("%w: %w", errUncertain, err)
		for _, o := range batch {
			o.err <- err
		}
		return
	}
	// Files go only after the commit that dropped their rows; a crash
	// before this leaves orphans for Start to collect.
	for _, name := range trash {
		if err := w.q.spool.Delete(bg, name); err != nil {
			w.q.log.Warn("queue: removing spool file", "file", name, "err", err)
		}
	}
	for i, o := range batch {
		o.err <- errs[i]
	}
}

func (w *writer) rollback() {
	w.conn.ExecContext(bg, "ROLLBACK")
}

// runOp runs fn, turning a panic into an error so that one bad op cannot
// take the batch (and the other callers) down with it.
func runOp(fn func(t *wtx) error, t *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("queue: panic in write: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(t)
}

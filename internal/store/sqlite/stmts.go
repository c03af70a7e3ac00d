package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the read statements kept prepared. The store's
// queries are few; SEARCH builds its text from the criteria's shape, so a
// bound keeps odd searches from growing the cache without end: beyond it,
// queries are prepared for each use, as database/sql does by default.
const maxReadStmts = 256

// readStmts keeps the read queries prepared on the read pool. Parsing and
// planning a query costs more than running most of ours (a mailbox row by
// key, the changes since a MODSEQ), and every IMAP command runs several.
// database/sql prepares a Stmt on each pool connection on first use there
// and reuses it afterwards, inside read transactions too (Tx.StmtContext,
// which prepares on the transaction's own connection).
//
// Preparing a new Stmt for the pool needs a pool connection. A caller
// inside a read transaction already holds one, so it must not wait for
// another: with every connection held by such callers, none would ever come
// free. Inside a transaction a query not prepared yet runs unprepared, and
// a goroutine that holds no connection prepares it for next time.
type readStmts struct {
	db *sql.DB

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
	wg      sync.WaitGroup
}

func newReadStmts(db *sql.DB) *readStmts {
	return &readStmts{db: db, stmts: make(map[string]*sql.Stmt), pending: make(map[string]bool)}
}

// get returns the prepared statement for query, or nil when it has none
// (yet) and the caller runs the query unprepared. Only a caller that holds
// no pool connection may set wait, and then it prepares the statement
// itself.
func (r *readStmts) get(ctx context.Context, query string, wait bool) (*sql.Stmt, error) {
	r.mu.Lock()
	if st := r.stmts[query]; st != nil {
		r.mu.Unlock()
		return st, nil
	}
	if r.closed || len(r.stmts)+len(r.pending) >= maxReadStmts || r.pending[query] {
		r.mu.Unlock()
		return nil, nil
	}
	if !wait {
		r.pending[query] = true
		r.wg.Add(1)
		r.mu.Unlock()
		go func() {
			defer r.wg.Done()
			st, _ := r.db.PrepareContext(context.Background(), query)
			r.mu.Lock()
			delete(r.pending, query)
			r.mu.Unlock()
			if st != nil {
				r.keep(query, st)
			}
		}()
		return nil, nil
	}
	r.mu.Unlock()
	st, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return r.keep(query, st), nil
}

// keep caches st for query and returns the cached statement, which is
// another one if a concurrent caller was first; nil once closed.
func (r *readStmts) keep(query string, st *sql.Stmt) *sql.Stmt {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		st.Close()
		return nil
	}
	if prev := r.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	r.stmts[query] = st
	return st
}

func (r *readStmts) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.stmts {
		st.Close()
	}
	clear(r.stmts)
}

// reader runs read queries through prepared statements, on the pool or,
// when tx is set, in one read transaction. It has the query methods of
// *sql.DB and *sql.Tx, so read code reads the same either way.
type reader struct {
	s  *Store
	tx *sql.Tx
}

// rd reads from the pool, one statement at a time.
func (s *Store) rd() reader { return reader{s: s} }

func (r reader) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := r.s.rstmts.get(ctx, query, r.tx == nil)
	if st == nil || err != nil {
		return nil, err
	}
	if r.tx != nil {
		// Closed with the transaction.
		return r.tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func (r reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.s.rdb.QueryContext(ctx, query, args...)
}

func (r reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, err := r.stmt(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	// Unprepared; a failure to prepare shows again, through Scan.
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.s.rdb.QueryRowContext(ctx, query, args...)
}

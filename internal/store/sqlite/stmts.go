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
// and reuses it afterwards, inside read transactions too (Tx.StmtContext).
type readStmts struct {
	db *sql.DB

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	closed bool
}

func newReadStmts(db *sql.DB) *readStmts {
	return &readStmts{db: db, stmts: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, or nil when the cache is
// full or closed (the caller then runs the query unprepared).
func (r *readStmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.stmts[query]; st != nil {
		return st, nil
	}
	if r.closed || len(r.stmts) >= maxReadStmts {
		return nil, nil
	}
	// Prepared under the lock: preparing on one pool connection is quick,
	// and it happens once per query.
	st, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	r.stmts[query] = st
	return st, nil
}

func (r *readStmts) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
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
	st, err := r.s.rstmts.get(ctx, query)
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

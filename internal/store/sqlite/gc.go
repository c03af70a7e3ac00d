package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// GCOptions tune CollectGarbage.
type GCOptions struct {
	// MinAge spares blob files younger than this that no row refers to:
	// an admin command may be appending right now, its blob written and
	// its row not yet committed. Default one hour; tests use a negative
	// value for none.
	MinAge time.Duration
}

// GCStats reports what CollectGarbage removed.
type GCStats struct {
	Trash   int // blobs whose rows were deleted but whose files remained
	Orphans int // blob files no row ever referred to (crash mid-append)
	Kept    int // unreferenced files spared for being younger than MinAge
}

// CollectGarbage removes blob files no row refers to. Only the process
// holding the data directory's lock may call it (the server, at start):
// lock proves it.
func (s *Store) CollectGarbage(ctx context.Context, lock *DirLock, opts GCOptions) (GCStats, error) {
	var st GCStats
	if !lock.holds(s.dir) {
		return st, errors.New("sqlite: CollectGarbage needs the data directory lock")
	}
	if opts.MinAge == 0 {
		opts.MinAge = time.Hour
	}
	// Files of deleted rows first: their rows are committed gone.
	var trash []string
	rows, err := s.rd().QueryContext(ctx, `SELECT name FROM blob_trash`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return st, err
		}
		trash = append(trash, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	for _, n := range trash {
		if err := s.blobs.Delete(ctx, n); err != nil {
			return st, err
		}
	}
	if len(trash) > 0 {
		err := s.w.do(ctx, nil, func(t *wtx) error {
			for _, n := range trash {
				if _, err := t.exec(`DELETE FROM blob_trash WHERE name = ?`, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Trash = len(trash)
	}

	// Then files that no row refers to. A file is checked against the
	// database after it was listed, so a row committed meanwhile keeps it.
	cutoff := s.now().Add(-opts.MinAge)
	var orphans []string
	err = s.blobs.Walk(ctx, func(name string, mod time.Time) error {
		var one int
		err := s.rd().QueryRowContext(ctx, `SELECT 1 FROM blobs WHERE name = ?`, name).Scan(&one)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if mod.After(cutoff) {
			st.Kept++
			return nil
		}
		orphans = append(orphans, name)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("sqlite: collecting garbage: %w", err)
	}
	for _, n := range orphans {
		if err := s.blobs.Delete(ctx, n); err != nil {
			return st, err
		}
		st.Orphans++
	}
	if st.Trash+st.Orphans > 0 {
		s.log.Info("sqlite: collected garbage", "trash", st.Trash, "orphans", st.Orphans, "kept", st.Kept)
	}
	return st, nil
}

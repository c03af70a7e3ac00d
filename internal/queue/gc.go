package queue

import (
	"context"
	"fmt"
	"time"
)

// collectOrphans removes spool files that no message row names and that
// are older than this process's Open: what a crash left between writing a
// file and committing its row, or between deleting a row and its file.
// Newer files may belong to an Enqueue in progress and are left alone.
func (q *Queue) collectOrphans(ctx context.Context) error {
	names := map[string]bool{}
	rows, err := q.rdb.QueryContext(ctx, "SELECT spool FROM messages")
	if err != nil {
		return fmt.Errorf("queue: listing spool files: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	removed := 0
	err = q.spool.Walk(ctx, func(name string, mod time.Time) error {
		if names[name] || !mod.Before(q.opened) {
			return nil
		}
		if err := q.spool.Delete(ctx, name); err != nil {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: collecting orphan spool files: %w", err)
	}
	if removed > 0 {
		q.log.Info("queue: removed spool files a crash left behind", "files", removed)
	}
	return nil
}

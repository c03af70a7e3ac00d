package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointer copies the WAL back into the database beside the writer
// (PRAGMA wal_checkpoint(PASSIVE) on its own connection), so that no
// COMMIT waits for a checkpoint. Once a checkpoint has caught up, the next
// writer starts the WAL over: the WAL file then keeps its size, and a
// commit's fdatasync has no file size to journal.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	c    chan struct{}
	quit chan struct{}
	done chan struct{}
}

// checkpointEvery bounds how often checkpoints run under steady writes.
const checkpointEvery = 250 * time.Millisecond

func newCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	cp := &checkpointer{db: db, log: log, c: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go cp.run()
	return cp
}

// kick says a commit happened.
func (cp *checkpointer) kick() {
	select {
	case cp.c <- struct{}{}:
	default:
	}
}

func (cp *checkpointer) run() {
	defer close(cp.done)
	defer cp.checkpoint("TRUNCATE") // closing: leave a short WAL
	for {
		select {
		case <-cp.quit:
			return
		case <-cp.c:
		}
		cp.checkpoint("PASSIVE")
		select {
		case <-cp.quit:
			return
		case <-time.After(checkpointEvery):
		}
	}
}

func (cp *checkpointer) checkpoint(mode string) {
	var busy, logFrames, done int
	err := cp.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done)
	if err != nil {
		cp.log.Warn("sqlite: checkpoint", "err", err)
	}
}

// close stops the checkpointer after a final checkpoint. The writer must
// be closed first.
func (cp *checkpointer) close() {
	close(cp.quit)
	<-cp.done
}

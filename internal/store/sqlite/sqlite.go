// Package sqlite is postfach's embedded mail store: metadata in one SQLite
// database (<Dir>/postfach.db, WAL mode), message bodies as blob files
// (<Dir>/blobs/).
//
// Invariants:
//   - Every write goes through one writer goroutine, which runs the pending
//     operations of all callers in one transaction (a SAVEPOINT each, so a
//     failing operation does not abort the others) and commits once: group
//     commit, one WAL fsync for many operations. Callers are answered and
//     notify events published only after the commit.
//   - A message's blob is written by its appender before the row is
//     queued; the writer fsyncs the blobs and their directories before the
//     COMMIT. A crash therefore leaves a committed row with its blob, or a
//     blob with no row (collected by CollectGarbage), never a row without
//     its blob.
//   - A blob file is removed only after the commit that deleted the last
//     row referring to it. A crash in between leaves its name in
//     blob_trash, for CollectGarbage.
//   - Reads use a pool of read-only connections; a read that needs several
//     queries runs in one read transaction (one WAL snapshot).
//   - Several processes may open the same store (the server and short-lived
//     admin commands): writers take the database lock with BEGIN IMMEDIATE
//     and wait for it (busy_timeout). Only the process holding the data
//     directory lock (LockDataDir) may collect garbage.
//   - Every query of a Mail method is confined to the account: a mailbox id
//     of another account is ErrNotFound.
//   - \Recent is claimed in memory and persisted later (recent.go): only
//     the process that serves sessions claims, and that is the one holding
//     the data directory lock.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	driver "modernc.org/sqlite" // also registers the "sqlite" driver

	"postfach/internal/blob"
	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/match"
)

// Options configure Open.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// Hub receives change events after each commit; nil publishes nothing
	// (admin commands).
	Hub *notify.Hub
	// Logger logs failures that no caller can be told about (removing a
	// blob after its commit, say); nil discards.
	Logger *slog.Logger
	// NoSync turns off every fsync (SQLite synchronous=OFF, no blob
	// fsyncs). Only for tests and benchmarks: a crash loses data.
	NoSync bool
	// FS is the file system for blobs; nil means the operating system's.
	// Tests pass a blob.FaultFS.
	FS blob.FS
	// ReadConns is the size of the read connection pool (default 4).
	ReadConns int
	// BusyTimeout is how long to wait for another process's write lock
	// (default 30s).
	BusyTimeout time.Duration
	// MaxBatch bounds the operations in one group commit (default 256).
	MaxBatch int
	// SpareBlobs keeps this many blob files created ahead of need, so that
	// appends do not wait for the file system to allocate them (see
	// blob.DirOptions.Spares); 0 for none. For the server.
	SpareBlobs int
	// Now tells the time; nil means time.Now. For tests.
	Now func() time.Time
}

// Store is the embedded store. It implements store.Store.
type Store struct {
	dir string
	rdb *sql.DB // read-only pool
	// rstmts keeps rdb's queries prepared; read through rd() or readTx.
	rstmts *readStmts
	wdb    *sql.DB // the writer's one connection
	cdb    *sql.DB // the checkpointer's one connection
	blobs  *blob.Dir
	hub    *notify.Hub
	log    *slog.Logger
	now    func() time.Time

	w      *writer
	cp     *checkpointer
	recent *recentClaims
	uids   *uidCache
	sorts  sortCache // SORT and THREAD keys (sortcache.go)
	bufs   sync.Pool // *ingestBufs
	index  *indexer  // full-text indexer (fts_indexer.go)
}

var _ store.Store = (*Store)(nil)

// DBName is the database file within the data directory.
const DBName = "postfach.db"

// BlobDirName is the blob directory within the data directory.
const BlobDirName = "blobs"

// readMmapSize is how much of the database the read connections map: the
// most the driver allows on 64-bit Linux (pages beyond it are read with
// pread). Mapped pages are the OS page cache's, shared by every
// connection; they count in the resident size only while touched.
const readMmapSize = 2147418112

// Open opens (creating or migrating if needed) the store in opts.Dir.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("sqlite: no data directory")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 30 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{dir: opts.Dir, hub: opts.Hub, log: opts.Logger, now: opts.Now, recent: newRecentClaims(), uids: newUIDCache()}

	sync := "FULL"
	if opts.NoSync {
		sync = "OFF"
	}
	// SQLite commits with fdatasync, as its own Linux builds do: it skips
	// the timestamp updates that cost a journal commit on ext4, and keeps
	// the data and size. The switch is process-wide; every store in the
	// process wants it.
	driver.Fdatasync(true)
	path := filepath.Join(opts.Dir, DBName)
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "cache_size(-32768)") // 32 MiB per connection
		for _, e := range extra {
			q.Add("_pragma", e)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	var err error
	// The writer never checkpoints: a checkpoint in its COMMIT would stall
	// every caller of the batch. The checkpointer does it beside it.
	if s.wdb, err = sql.Open("sqlite", dsn("wal_autocheckpoint(0)", "journal_size_limit(67108864)")); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	if err := migrate(ctx, conn, match.FoldVersion); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, err
	}
	// Readers map the database (readMmapSize): a search that visits
	// tens of thousands of rows (SEARCH BODY of a frequent word, the first
	// SORT of a large mailbox) then reads pages from the OS page cache in
	// place, where pread copied each into a private 32 MiB cache that
	// such a walk overflows (100,000 messages: 100 to 70 ms). Writers keep
	// pread: a mapped page written in place is SQLite's riskier path.
	if s.rdb, err = sql.Open("sqlite", dsn("query_only(1)", "mmap_size("+strconv.Itoa(readMmapSize)+")")); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.rdb.SetMaxOpenConns(opts.ReadConns)
	s.rdb.SetMaxIdleConns(opts.ReadConns)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)
	s.rstmts = newReadStmts(s.rdb)

	s.blobs, err = blob.OpenDir(filepath.Join(opts.Dir, BlobDirName), blob.DirOptions{FS: opts.FS, NoSync: opts.NoSync, Now: opts.Now, Spares: opts.SpareBlobs})
	if err != nil {
		conn.Close()
		s.wdb.Close()
		s.rdb.Close()
		return nil, err
	}
	if s.cdb, err = sql.Open("sqlite", dsn()); err != nil {
		conn.Close()
		s.wdb.Close()
		s.rdb.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.cdb.SetMaxOpenConns(1)
	s.cp = newCheckpointer(s.cdb, s.log)
	s.w = newWriter(s, conn, opts.MaxBatch)
	if err := s.backfillSort(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: computing sort keys of stored messages: %w", err)
	}
	s.index = startIndexer(s, fts5Index{})
	return s, nil
}

// Close waits for queued writes and closes the store.
func (s *Store) Close() error {
	if s.index != nil {
		s.index.close()
	}
	err := s.w.close()
	s.cp.close()
	if e := s.blobs.Close(); err == nil {
		err = e
	}
	if e := s.cdb.Close(); err == nil {
		err = e
	}
	if e := s.wdb.Close(); err == nil {
		err = e
	}
	s.rstmts.close()
	if e := s.rdb.Close(); err == nil {
		err = e
	}
	return err
}

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// publish sends events after a commit.
func (s *Store) publish(events []notify.Event) {
	if s.hub == nil {
		return
	}
	for _, ev := range events {
		s.hub.Publish(ev)
	}
}

// readTx runs fn in a read transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx reader) error) error {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(reader{s: s, tx: tx})
}

// unix converts a stored time.
func unixTime(sec int64, tz int64) time.Time {
	t := time.Unix(sec, 0)
	if tz == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(tz)))
}

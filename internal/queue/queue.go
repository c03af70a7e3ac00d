package queue

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	driver "modernc.org/sqlite" // also registers the "sqlite" driver

	"postfach/internal/blob"
	"postfach/internal/dns"
)

// DirName is the queue's directory within the data directory.
const DirName = "queue"

// DBName and SpoolDirName are the database and the spool directory within
// the queue directory.
const (
	DBName       = "queue.db"
	SpoolDirName = "spool"
)

// Defaults of Options. They are also the [queue] defaults of the
// configuration.
const (
	// DefaultExpiry: RFC 5321 section 4.5.4.1 asks for at least 4-5 days
	// before giving up.
	DefaultExpiry = 5 * 24 * time.Hour
	// DefaultDelayWarning: when the sender hears that a message is still
	// queued (RFC 3461 DELAY), once.
	DefaultDelayWarning = 4 * time.Hour
	// DefaultBackoffInitial and DefaultBackoffMax: the wait after the
	// first failed attempt, doubled after each further one up to the cap.
	// RFC 5321 section 4.5.4.1 asks for at least 30 minutes between tries
	// to one destination; the first retries come sooner because most
	// temporary failures are greylisting, which lets a retry in after a
	// few minutes. With a 4h cap, a message that never gets through is
	// tried about 35 times in 5 days.
	DefaultBackoffInitial = 5 * time.Minute
	DefaultBackoffMax     = 4 * time.Hour
	// DefaultConcurrency bounds delivery attempts in flight, and
	// DefaultPerDomain those to one recipient domain (RFC 5321 section
	// 4.5.4.1: limit simultaneous connections to one destination).
	DefaultConcurrency = 16
	DefaultPerDomain   = 4
	// DefaultSMTPPort is where MX hosts listen (RFC 5321 section 4.5.4).
	DefaultSMTPPort = 25
	// DefaultMTASTSPort is the HTTPS port of MTA-STS policy hosts.
	DefaultMTASTSPort = 443
	// DefaultPollInterval is how often the server looks for changes that
	// another process (postfach queue retry/drop) made.
	DefaultPollInterval = time.Second
)

// Options configure Open. Zero values mean the defaults above.
type Options struct {
	// Resolver answers every DNS question of delivery (MX, A/AAAA,
	// MTA-STS TXT). Required by Start; admin commands need none.
	Resolver dns.Resolver
	// Hostname is our name: EHLO, the Reporting-MTA of DSNs, their From
	// (MAILER-DAEMON@Hostname) and Message-ID.
	Hostname string
	// Local delivers DSNs to local senders; nil sends every DSN by SMTP.
	Local LocalDeliverer
	// Signer, when set, DKIM-signs the DSNs the queue writes, with the
	// keys of Hostname's domain or of its nearest parent that has keys
	// (*mailauth.Signer).
	Signer Signer
	// RootCAs verify MX certificates and MTA-STS policy hosts; nil means
	// the system's roots. Tests add their own CA.
	RootCAs *x509.CertPool
	// Logger logs every delivery outcome; nil discards.
	Logger *slog.Logger

	Expiry         time.Duration
	DelayWarning   time.Duration // negative: never warn
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	Concurrency    int
	PerDomain      int
	// SMTPPort and MTASTSPort replace 25 and 443 as the ports outbound
	// connections go to: tests run the remote MX and the policy host on
	// ephemeral ports.
	SMTPPort   int
	MTASTSPort int
	// ConnectTimeout bounds one TCP connect (default 30s); the SMTP
	// commands have RFC 5321 section 4.5.3.2's timeouts.
	ConnectTimeout time.Duration
	// PollInterval: see DefaultPollInterval.
	PollInterval time.Duration

	// NoSync turns off every fsync. Only for tests and benchmarks: a
	// crash loses queued mail.
	NoSync bool
	// FS is the spool's file system; nil means the operating system's.
	// Tests pass a blob.FaultFS.
	FS blob.FS
	// Now tells the time; nil means time.Now. Tests move it forward and
	// call Kick.
	Now func() time.Time
}

// Signer returns DKIM-Signature header fields for a message from domain;
// an error wrapping mailauth.ErrNoKeys means the domain has no keys.
type Signer interface {
	Sign(ctx context.Context, domain string, msg io.ReaderAt, size int64) (string, error)
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	setDefault(&o.Expiry, DefaultExpiry)
	setDefault(&o.DelayWarning, DefaultDelayWarning)
	setDefault(&o.BackoffInitial, DefaultBackoffInitial)
	setDefault(&o.BackoffMax, DefaultBackoffMax)
	setDefault(&o.ConnectTimeout, 30*time.Second)
	setDefault(&o.PollInterval, DefaultPollInterval)
	setDefault(&o.Concurrency, DefaultConcurrency)
	setDefault(&o.PerDomain, DefaultPerDomain)
	setDefault(&o.SMTPPort, DefaultSMTPPort)
	setDefault(&o.MTASTSPort, DefaultMTASTSPort)
	if o.BackoffMax < o.BackoffInitial {
		o.BackoffMax = o.BackoffInitial
	}
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Queue is the durable outbound queue. One server process runs it
// (Start); admin commands open the same directory to list, retry and
// drop (see admin.go).
type Queue struct {
	dir   string
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	rdb   *sql.DB // read pool
	wdb   *sql.DB // the writer's one connection
	w     *writer
	spool *blob.Dir
	// opened is when Open ran: spool files older than it without a row
	// are a crashed run's leftovers, newer ones may be in mid-Enqueue.
	opened time.Time

	sts *stsCache

	mu sync.Mutex
	// run is the scheduler while started; nil otherwise.
	run    *runner
	closed bool
}

// Open opens (creating if needed) the queue in dir, usually
// <data_dir>/queue. It starts no delivery: the server calls Start; admin
// commands use the queue without.
func Open(dir string, opts Options) (*Queue, error) {
	opts.setDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{dir: dir, opts: opts, log: opts.Logger, now: opts.Now, opened: time.Now()}
	spool, err := blob.OpenDir(filepath.Join(dir, SpoolDirName), blob.DirOptions{FS: opts.FS, NoSync: opts.NoSync, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.spool = spool

	sync := "FULL"
	if opts.NoSync {
		sync = "OFF"
	}
	// As the store does: commits fdatasync, process-wide.
	driver.Fdatasync(true)
	path := filepath.Join(dir, DBName)
	dsn := func(extra ...string) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(30000)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous("+sync+")")
		v.Add("_pragma", "foreign_keys(1)")
		for _, e := range extra {
			v.Add("_pragma", e)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
	}
	if q.wdb, err = sql.Open("sqlite", dsn()); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.wdb.SetMaxOpenConns(1)
	q.wdb.SetMaxIdleConns(1)
	q.wdb.SetConnMaxLifetime(0)
	q.wdb.SetConnMaxIdleTime(0)
	ctx := context.Background()
	conn, err := q.wdb.Conn(ctx)
	if err != nil {
		q.wdb.Close()
		return nil, fmt.Errorf("queue: opening %s: %w", path, err)
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		q.wdb.Close()
		return nil, err
	}
	if q.rdb, err = sql.Open("sqlite", dsn("query_only(1)")); err != nil {
		conn.Close()
		q.wdb.Close()
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.rdb.SetMaxOpenConns(4)
	q.rdb.SetMaxIdleConns(4)
	q.rdb.SetConnMaxLifetime(0)
	q.rdb.SetConnMaxIdleTime(0)
	q.w = newWriter(q, conn, 256)
	q.sts = newSTSCache(q)
	return q, nil
}

// Close stops delivery (see Stop; attempts in flight are cancelled) and
// closes the database.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := q.Stop(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if e := q.w.close(); err == nil {
		err = e
	}
	if e := q.wdb.Close(); err == nil {
		err = e
	}
	if e := q.rdb.Close(); err == nil {
		err = e
	}
	return err
}

// Dir is the queue directory.
func (q *Queue) Dir() string { return q.dir }

// ms converts a time to the database's Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts back.
func fromMS(v int64) time.Time { return time.UnixMilli(v) }

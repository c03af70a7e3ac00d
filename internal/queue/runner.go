package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// jobKey is one unit of delivery work: the due recipients of one message
// in one domain, sent in one SMTP transaction.
type jobKey struct {
	msgID  int64
	domain string
}

// runner is the scheduler of a started queue: it finds due work in the
// database and runs it on at most Concurrency goroutines, at most
// PerDomain of them for one recipient domain.
type runner struct {
	q *Queue
	// ctx is the attempts' context: cancelled only when Stop runs out of
	// time, so that a clean stop lets attempts in flight finish.
	ctx    context.Context
	cancel context.CancelFunc

	kick     chan struct{} // something changed: look again
	stopping chan struct{} // closed by Stop: dispatch nothing more
	loopDone chan struct{} // closed when the loop returned
	wg       sync.WaitGroup

	mu        sync.Mutex
	inflight  map[jobKey]bool
	perDomain map[string]int
	stopOnce  sync.Once
}

// Start removes spool files a crash left without a row and starts
// delivering. Only the server calls it, once; admin commands use an
// unstarted queue.
func (q *Queue) Start(ctx context.Context) error {
	if q.opts.Resolver == nil {
		return errors.New("queue: Start needs Options.Resolver")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.run != nil {
		return errors.New("queue: already started")
	}
	if err := q.collectOrphans(ctx); err != nil {
		return err
	}
	r := &runner{
		q:         q,
		kick:      make(chan struct{}, 1),
		stopping:  make(chan struct{}),
		loopDone:  make(chan struct{}),
		inflight:  map[jobKey]bool{},
		perDomain: map[string]int{},
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	q.run = r
	go r.loop()
	return nil
}

// Stop stops dispatching and waits for the attempts in flight to finish:
// an attempt's outcome is recorded before Stop returns, so that a clean
// restart sends nothing twice. When ctx ends first, the attempts are
// cancelled (a transaction cut before the end of its data delivers
// nothing and is retried later) and Stop returns ctx's error once they
// have returned. Stop on a queue that was never started does nothing.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	r := q.run
	q.mu.Unlock()
	if r == nil {
		return nil
	}
	r.stopOnce.Do(func() { close(r.stopping) })
	<-r.loopDone
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		r.cancel()
		<-done
	}
	r.cancel()
	return err
}

// Kick makes a started queue look for due work now: after Enqueue, and
// for tests that move the clock.
func (q *Queue) Kick() {
	q.mu.Lock()
	r := q.run
	q.mu.Unlock()
	if r != nil {
		r.poke()
	}
}

func (r *runner) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// maxWait bounds the scheduler's sleep, so that a jump of the wall clock
// delays nothing for long.
const maxWait = time.Minute

func (r *runner) loop() {
	defer close(r.loopDone)
	q := r.q
	poll := time.NewTicker(q.opts.PollInterval)
	defer poll.Stop()
	watch, err := newChangeWatch(q.rdb)
	if err != nil {
		q.log.Warn("queue: cannot watch for changes by other processes", "err", err)
	}
	defer watch.close()
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		wake, err := r.dispatch()
		wait := maxWait
		if err != nil {
			q.log.Error("queue: scheduling", "err", err)
			wait = 5 * time.Second
		} else if !wake.IsZero() {
			wait = min(max(wake.Sub(q.now()), 0), maxWait)
		}
		timer.Reset(wait)
	sleep:
		for {
			select {
			case <-r.stopping:
				return
			case <-r.kick:
				break sleep
			case <-timer.C:
				break sleep
			case <-poll.C:
				// postfach queue retry/drop in another process changes
				// the database; so does our own writer, which is
				// harmless.
				if watch.changed() {
					break sleep
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// scanLimit bounds the rows one dispatch pass reads.
const scanLimit = 10000

// dispatch starts due jobs while slots are free and returns when the next
// not-yet-due recipient is due (zero: nothing is, and a finishing job or
// a new message pokes the loop). Domains at their PerDomain limit are
// left out in the query, so that a long queue for one busy domain costs
// SQLite an index scan, not rows through database/sql.
func (r *runner) dispatch() (time.Time, error) {
	q := r.q
	now := q.now()
	r.mu.Lock()
	active := len(r.inflight)
	var full []any
	for d, n := range r.perDomain {
		if n >= q.opts.PerDomain {
			full = append(full, d)
		}
	}
	r.mu.Unlock()
	var start []jobKey
	if active < q.opts.Concurrency {
		query := `SELECT message_id, domain FROM recipients WHERE next_attempt <= ?`
		if len(full) > 0 {
			query += ` AND domain NOT IN (?` + strings.Repeat(", ?", len(full)-1) + `)`
		}
		query += ` ORDER BY next_attempt, message_id LIMIT ?`
		args := append(append([]any{ms(now)}, full...), scanLimit)
		rows, err := q.rdb.QueryContext(r.ctx, query, args...)
		if err != nil {
			return time.Time{}, fmt.Errorf("queue: scanning: %w", err)
		}
		r.mu.Lock()
		picked := map[jobKey]bool{}
		domains := map[string]int{}
		for rows.Next() {
			var k jobKey
			if err := rows.Scan(&k.msgID, &k.domain); err != nil {
				r.mu.Unlock()
				rows.Close()
				return time.Time{}, err
			}
			if r.inflight[k] || picked[k] {
				continue
			}
			if r.perDomain[k.domain]+domains[k.domain] >= q.opts.PerDomain {
				continue
			}
			picked[k] = true
			domains[k.domain]++
			start = append(start, k)
			if active+len(start) >= q.opts.Concurrency {
				break
			}
		}
		for _, k := range start {
			r.inflight[k] = true
			r.perDomain[k.domain]++
		}
		r.mu.Unlock()
		err = rows.Err()
		rows.Close()
		if err != nil {
			return time.Time{}, err
		}
	}
	for _, k := range start {
		r.wg.Add(1)
		go r.runJob(k)
	}
	var next sql.NullInt64
	if err := q.rdb.QueryRowContext(r.ctx, `SELECT MIN(next_attempt) FROM recipients WHERE next_attempt > ?`, ms(now)).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("queue: scanning: %w", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return fromMS(next.Int64), nil
}

func (r *runner) runJob(k jobKey) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.inflight, k)
		if r.perDomain[k.domain]--; r.perDomain[k.domain] <= 0 {
			delete(r.perDomain, k.domain)
		}
		r.mu.Unlock()
		r.poke()
	}()
	r.q.attempt(r.ctx, k)
}

// changeWatch notices commits by other connections, through SQLite's
// data_version (which changes when another connection commits), on a
// connection of its own.
type changeWatch struct {
	conn    *sql.Conn
	version int64
}

func newChangeWatch(db *sql.DB) (*changeWatch, error) {
	conn, err := db.Conn(context.Background())
	if err != nil {
		return &changeWatch{}, err
	}
	w := &changeWatch{conn: conn}
	w.changed()
	return w, nil
}

func (w *changeWatch) changed() bool {
	if w.conn == nil {
		return true
	}
	var v int64
	if err := w.conn.QueryRowContext(context.Background(), "PRAGMA data_version").Scan(&v); err != nil {
		return true
	}
	if v == w.version {
		return false
	}
	w.version = v
	return true
}

func (w *changeWatch) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// claimLimit bounds the candidates claim looks at.
const claimLimit = 64

// claim takes the earliest due job of domain that is not in flight, for
// a connection already open to the domain (connection reuse); false when
// there is none but those in skip, or the queue is stopping. The job
// runs in the caller's
// slot: it counts as in flight but not again against PerDomain. The
// caller releases it.
func (q *Queue) claim(ctx context.Context, domain string, skip map[jobKey]bool) (jobKey, bool) {
	q.mu.Lock()
	r := q.run
	q.mu.Unlock()
	if r == nil {
		return jobKey{}, false
	}
	select {
	case <-r.stopping:
		return jobKey{}, false
	default:
	}
	rows, err := q.rdb.QueryContext(ctx, `SELECT message_id FROM recipients
		WHERE domain = ? AND next_attempt <= ? ORDER BY next_attempt LIMIT ?`, domain, ms(q.now()), claimLimit)
	if err != nil {
		return jobKey{}, false
	}
	defer rows.Close()
	for rows.Next() {
		var k jobKey
		if err := rows.Scan(&k.msgID); err != nil {
			return jobKey{}, false
		}
		k.domain = domain
		if skip[k] {
			continue
		}
		r.mu.Lock()
		if !r.inflight[k] {
			r.inflight[k] = true
			r.mu.Unlock()
			return k, true
		}
		r.mu.Unlock()
	}
	return jobKey{}, false
}

// release ends a claimed job.
func (q *Queue) release(k jobKey) {
	q.mu.Lock()
	r := q.run
	q.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.inflight, k)
	r.mu.Unlock()
	r.poke()
}

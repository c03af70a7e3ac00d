package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// IdleOptions tune the IDLE fan-out.
type IdleOptions struct {
	// Conns is the number of idle connections (default: the workload's
	// share of the clients).
	Conns int
	// Mode is "accounts" (connections spread over Accounts accounts, the
	// default) or "mailbox" (every connection on the INBOX of one).
	Mode string
	// Accounts is the number of accounts in accounts mode (default: one
	// per connection, at most Users.Count).
	Accounts int
	// Rate is the writer's deliveries per second (default 10).
	Rate float64
	// Deliver is how the writer delivers: "imap" (APPEND as the account,
	// the default) or "lmtp" (needs the LMTP target).
	Deliver string
	// ServerPID is the server whose memory is read; 0: the process that
	// listens on the IMAP port. Negative: do not read memory.
	ServerPID int
	// Settle is the pause before each memory reading (default 2s).
	Settle time.Duration
}

func (o IdleOptions) withDefaults(cfg Config, share int) (IdleOptions, error) {
	if o.Conns == 0 {
		o.Conns = share
	}
	if o.Conns < 1 || o.Conns > MaxIdle {
		return o, fmt.Errorf("idle connections must be from 1 to %d", MaxIdle)
	}
	switch o.Mode {
	case "":
		o.Mode = "accounts"
	case "accounts", "mailbox":
	default:
		return o, fmt.Errorf("idle mode %q: accounts or mailbox", o.Mode)
	}
	if o.Mode == "mailbox" {
		o.Accounts = 1
	}
	if o.Accounts == 0 {
		o.Accounts = min(o.Conns, cfg.Users.Count)
	}
	if o.Accounts < 1 || o.Accounts > o.Conns {
		return o, errors.New("idle accounts must be from 1 to the number of idle connections")
	}
	if o.Rate == 0 {
		o.Rate = 10
	}
	if o.Rate < 0.01 || o.Rate > 10_000 || math.IsNaN(o.Rate) {
		return o, errors.New("the delivery rate must be from 0.01 to 10,000 per second")
	}
	switch o.Deliver {
	case "":
		o.Deliver = "imap"
	case "imap":
	case "lmtp":
		if !cfg.LMTP.Addr.IsValid() {
			return o, errors.New("idle delivery by LMTP needs the LMTP target")
		}
	default:
		return o, fmt.Errorf("idle delivery %q: imap or lmtp", o.Deliver)
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	return o, nil
}

// idleFanout opens Conns connections that log in, SELECT INBOX and IDLE
// (RFC 2177), reads the server's memory before and after, then lets one
// writer deliver messages at Rate while every idle connection reports the
// time from the start of the delivery to its untagged EXISTS (EXISTS), and
// from the delivery's acknowledgement (EXISTS AFTER OK; 0 when the notice
// came first): the first includes making the message durable, the second
// is the push alone.
//
// Deliveries are matched to notices by counting: the k-th delivery to an
// account raises its INBOX to the k-th message past the count SELECT
// reported, so a notice "n EXISTS" settles every delivery up to n, also
// when the server folds several into one notice.
type idleFanout struct {
	*base
	opts IdleOptions

	idlers []*idler
	// perAccount counts the idlers of each account.
	perAccount []int
	// sent[a][k] is the start of the k-th delivery to account a, in Unix
	// nanoseconds, negated when it was outside the window; 0: not yet.
	sent [][]atomic.Int64
	// acked[a][k] is when the k-th delivery to account a was acknowledged
	// (APPEND OK, LMTP 250), in Unix nanoseconds; 0: not yet.
	acked    [][]atomic.Int64
	notified atomic.Uint64
	expected atomic.Uint64
	// delivered counts the window's deliveries.
	delivered atomic.Uint64
	report    IdleReport
	readers   sync.WaitGroup
}

// idler is one idle connection.
type idler struct {
	c       *imapClient
	account int
	base    uint32 // EXISTS before IDLE
	seen    uint32 // highest EXISTS since
}

func (f *idleFanout) setup(ctx context.Context) error {
	o := f.cfg.Idle
	f.opts = o
	f.report = IdleReport{Mode: o.Mode, Accounts: o.Accounts, Deliver: o.Deliver}
	perAccount := int(math.Ceil(o.Rate*(f.cfg.Warmup+f.cfg.Duration+f.cfg.Timeout).Seconds()/float64(o.Accounts))) + 16
	f.sent = make([][]atomic.Int64, o.Accounts)
	f.acked = make([][]atomic.Int64, o.Accounts)
	for a := range f.sent {
		f.sent[a] = make([]atomic.Int64, perAccount)
		f.acked[a] = make([]atomic.Int64, perAccount)
	}
	f.perAccount = make([]int, o.Accounts)

	pid := o.ServerPID
	var memErr error
	if pid == 0 {
		pid, memErr = FindListener(f.target.Addr.Port())
	}
	readMemory := func() ServerMemory {
		if memErr != nil || pid < 0 {
			return ServerMemory{}
		}
		var m ServerMemory
		m, memErr = f.stableMemory(ctx, pid)
		return m
	}
	// First one connection per account through every step, so that the
	// baseline holds what the server loads once per account (password
	// verification and its cache, mailbox state) or once at all (code,
	// TLS state): the difference is then what the connections cost.
	if err := f.warmAccounts(ctx); err != nil {
		return fmt.Errorf("opening an idle connection: %w", err)
	}
	var before ServerMemory

	// Memory is measured over the last nine tenths of the connections:
	// the first tenth brings the server to its working state (heap grown,
	// garbage from first logins collected), so that the difference is
	// what each further connection costs.
	first := 0
	if o.Conns >= 20 {
		first = o.Conns / 10
	}
	f.logf("opening %d idle connections on %d account(s)", o.Conns, o.Accounts)
	start := time.Now()
	f.idlers = make([]*idler, o.Conns)
	openCtx, cancel := context.WithTimeout(ctx, max(2*time.Minute, time.Duration(o.Conns)*5*time.Millisecond))
	defer cancel()
	var failures atomic.Int64
	if first > 0 {
		f.openRange(openCtx, cancel, &failures, 0, first)
	}
	before = readMemory()
	f.openRange(openCtx, cancel, &failures, first, o.Conns)
	opened, measured := 0, 0
	for i, id := range f.idlers {
		if id != nil {
			opened++
			f.perAccount[id.account]++
			if i >= first {
				measured++
			}
		}
	}
	f.report.Connections = opened
	f.report.MeasuredConns = measured
	f.report.OpenTime = Seconds(time.Since(start))
	f.logf("%d idle connections open after %.1f s", opened, time.Since(start).Seconds())
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if opened == 0 {
		return errors.New("no idle connection could be opened")
	}
	for _, id := range f.idlers {
		if id != nil {
			f.readers.Go(func() { f.read(id) })
		}
	}
	after := readMemory()
	f.report.ServerPID, f.report.Processes = after.PID, after.Processes
	if memErr != nil {
		f.report.MemoryError = memErr.Error()
	} else if pid > 0 && measured > 0 {
		f.report.RSSBefore, f.report.RSSAfter = before.RSS, after.RSS
		f.report.PSSBefore, f.report.PSSAfter = before.PSS, after.PSS
		f.report.RSSPerConn = float64(after.RSS-before.RSS) / float64(measured)
		f.report.PSSPerConn = float64(after.PSS-before.PSS) / float64(measured)
	}
	return nil
}

// openRange opens idle connections lo to hi-1. Logins run in parallel
// for different accounts only: a connection comes from its user's address
// (as the user's devices sit behind one router), and about one login per
// account and address is in flight at a time, as when people start their
// mail clients. Login guards count logins in flight against an account or
// an address as failures, and a burst on one account looks like guessing.
// More than 1% failures cancel the opening.
func (f *idleFanout) openRange(ctx context.Context, cancel func(), failures *atomic.Int64, lo, hi int) {
	var next atomic.Int64
	next.Store(int64(lo))
	var wg sync.WaitGroup
	for range min(hi-lo, f.opts.Accounts, 64) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= hi || ctx.Err() != nil {
					return
				}
				id, err := f.open(ctx, i)
				if err != nil {
					f.stats.setupError("IDLE", fmt.Errorf("connection %d: %w", i, err))
					if failures.Add(1) > max(10, int64(f.opts.Conns)/100) {
						cancel()
					}
					continue
				}
				f.idlers[i] = id
			}
		})
	}
	wg.Wait()
}

// warmAccounts opens and closes one idle connection per account, a few
// accounts at a time.
func (f *idleFanout) warmAccounts(ctx context.Context) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range min(f.opts.Accounts, 8) {
		wg.Go(func() {
			for {
				a := int(next.Add(1)) - 1
				if a >= f.opts.Accounts || ctx.Err() != nil {
					return
				}
				id, err := f.open(ctx, a)
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
				id.c.close()
			}
		})
	}
	wg.Wait()
	return first
}

// stableMemory reads the server's memory once it has settled: after
// Settle, and then until two readings a second apart differ by less than
// 1% (a Go server returns freed memory to the system gradually), for at
// most a minute.
func (f *idleFanout) stableMemory(ctx context.Context, pid int) (ServerMemory, error) {
	f.sleep(ctx, f.opts.Settle)
	last, err := ProcessMemory(pid)
	if err != nil {
		return last, err
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		f.sleep(ctx, time.Second)
		m, err := ProcessMemory(pid)
		if err != nil {
			return last, err
		}
		diff := math.Abs(float64(m.RSS-last.RSS)) / float64(max(last.RSS, 1))
		last = m
		if diff < 0.01 {
			break
		}
	}
	return last, nil
}

func (f *idleFanout) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// open opens idle connection i: login, SELECT, IDLE.
func (f *idleFanout) open(ctx context.Context, i int) (*idler, error) {
	account := i % f.opts.Accounts
	c, err := dialIMAP(ctx, f.dialer, f.target, f.userBase+account, f.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	if err := c.login(f.user(account), f.cfg.Users.Password); err != nil {
		c.close()
		return nil, err
	}
	mb, err := c.selectMailbox("SELECT", "INBOX")
	if err != nil {
		c.close()
		return nil, err
	}
	id := &idler{c: c, account: account, base: mb.exists, seen: mb.exists}
	tag, err := c.send("IDLE")
	if err == nil {
		err = c.continuation("IDLE", tag, func(line []byte) {
			if n, ok := parseExists(line); ok {
				id.base, id.seen = n, n
			}
		})
	}
	if err != nil {
		c.close()
		return nil, err
	}
	// From now on the connection waits as long as it takes.
	c.conn.SetDeadline(time.Time{})
	c.timeout = 0
	return id, nil
}

// read follows one idle connection's notices until it closes.
func (f *idleFanout) read(id *idler) {
	for {
		line, err := id.c.readLine()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		if len(line) < 2 || line[0] != '*' {
			continue
		}
		n, ok := parseExists(line[2:])
		if !ok || n <= id.seen {
			continue
		}
		log := f.sent[id.account]
		for k := id.seen - id.base; k < n-id.base && int(k) < len(log); k++ {
			t := log[k].Load()
			if t <= 0 {
				continue // outside the window (or not ours)
			}
			f.notified.Add(1)
			f.stats.cmd("EXISTS").hist.Record(time.Duration(max(0, now-t)))
			// After the acknowledgement; a notice that came first counts 0.
			after := int64(0)
			if ack := f.acked[id.account][k].Load(); ack > 0 {
				after = max(0, now-ack)
			}
			f.stats.cmd("EXISTS AFTER OK").hist.Record(time.Duration(after))
		}
		id.seen = n
	}
}

// client is the writer: it delivers at the configured rate, to the
// accounts in turn.
func (f *idleFanout) client(soft, hard context.Context, i int) {
	w := &idleWriter{f: f, hard: hard, conns: map[int]*imapClient{}}
	defer w.close()
	msgs := make([]*stampedMessage, 0, 8)
	for k := range cap(msgs) {
		msgs = append(msgs, newStampedMessage(Message(f.cfg.Seed, 5_000_000+k, "idle@example.org", f.cfg.MessageSize)))
	}
	interval := time.Duration(float64(time.Second) / f.opts.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var seq uint64
	counts := make([]int, f.opts.Accounts)
	for a := 0; ; a = (a + 1) % f.opts.Accounts {
		select {
		case <-soft.Done():
			return
		case <-tick.C:
		}
		if f.perAccount[a] == 0 {
			continue
		}
		k := counts[a]
		if k >= len(f.sent[a]) {
			return // as many as the run can take
		}
		seq++
		msg := msgs[seq%uint64(len(msgs))].stamp(seq)
		now := time.Now().UnixNano()
		inWindow := f.stats.recording.Load()
		if inWindow {
			f.sent[a][k].Store(now)
		} else {
			f.sent[a][k].Store(-now)
		}
		err := w.deliver(a, msg)
		if err != nil {
			// The message may or may not have arrived: stop matching this
			// account's notices, which no longer count deliveries.
			f.perAccount[a] = 0
			continue
		}
		f.acked[a][k].Store(time.Now().UnixNano())
		counts[a]++
		if inWindow {
			f.delivered.Add(1)
			f.expected.Add(uint64(f.perAccount[a]))
		}
	}
}

func (f *idleFanout) teardown(ctx context.Context) {
	// Give the last notices a moment, then close every connection.
	deadline := time.Now().Add(f.opts.Settle)
	for f.notified.Load() < f.expected.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range f.idlers {
		if id != nil {
			id.c.close()
		}
	}
	f.readers.Wait()
}

func (f *idleFanout) finish(r *WorkloadReport, window time.Duration) {
	f.report.Deliveries = f.delivered.Load()
	f.report.Notified = f.notified.Load()
	f.report.Expected = f.expected.Load()
	r.Clients = f.report.Connections
	r.Idle = &f.report
	p99 := 0.0
	for _, c := range r.Commands {
		if c.Name == "EXISTS" {
			p99 = float64(c.P99) / float64(time.Millisecond)
		}
	}
	r.Primary = Metric{"EXISTS p99 ms", p99}
	r.Extra = append(r.Extra, Metric{"deliveries/s", perSec(f.report.Deliveries, window)})
	if f.report.Expected > f.report.Notified {
		r.Errors += f.report.Expected - f.report.Notified
		r.ErrorSamples = append(r.ErrorSamples, fmt.Sprintf("EXISTS: %d of %d expected notices did not arrive", f.report.Expected-f.report.Notified, f.report.Expected))
	}
}

// idleWriter delivers the writer's messages: by APPEND over a connection
// per account (a few kept open), or over one LMTP connection.
type idleWriter struct {
	f     *idleFanout
	hard  context.Context
	conns map[int]*imapClient
	order []int
	lmtp  *smtpClient
}

// maxWriterConns bounds the writer's open IMAP connections.
const maxWriterConns = 32

func (w *idleWriter) deliver(account int, msg []byte) error {
	f := w.f
	if f.opts.Deliver == "lmtp" {
		return w.deliverLMTP(account, msg)
	}
	c := w.conns[account]
	if c == nil {
		if len(w.order) >= maxWriterConns {
			old := w.order[0]
			w.order = w.order[1:]
			w.conns[old].logout()
			delete(w.conns, old)
		}
		var err error
		c, err = dialIMAP(w.hard, f.dialer, f.target, f.userBase+account, f.cfg.Timeout)
		if err == nil {
			if err = c.login(f.user(account), f.cfg.Users.Password); err != nil {
				c.close()
			}
		}
		if err != nil {
			f.stats.observe("DELIVER", 0, err)
			return err
		}
		w.conns[account] = c
		w.order = append(w.order, account)
	}
	err := f.stats.timed("DELIVER", func() error {
		_, err := c.appendMessage("INBOX", "", msg)
		return err
	})
	if err != nil {
		c.close()
		delete(w.conns, account)
		for i, a := range w.order {
			if a == account {
				w.order = append(w.order[:i], w.order[i+1:]...)
				break
			}
		}
	}
	return err
}

func (w *idleWriter) deliverLMTP(account int, msg []byte) error {
	f := w.f
	if w.lmtp == nil {
		c, err := dialSMTP(w.hard, f.dialer, f.cfg.LMTP, 0, f.cfg.Timeout)
		if err != nil {
			f.stats.observe("DELIVER", 0, err)
			return err
		}
		w.lmtp = c
	}
	c := w.lmtp
	err := f.stats.timed("DELIVER", func() error {
		if err := c.expect("MAIL FROM:<loadgen@example.net>", 250); err != nil {
			return err
		}
		if err := c.expect("RCPT TO:<"+f.user(account)+">", 250); err != nil {
			return err
		}
		_, err := c.data(msg, 1)
		return err
	})
	if err != nil {
		c.close()
		w.lmtp = nil
	}
	return err
}

func (w *idleWriter) close() {
	for _, c := range w.conns {
		c.logout()
	}
	if w.lmtp != nil {
		w.lmtp.quit()
	}
}

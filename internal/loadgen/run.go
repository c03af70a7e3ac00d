package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of a run: the tool stops by itself, whatever it is asked.
const (
	MaxDuration = 24 * time.Hour
	MaxClients  = 100_000
	MaxIdle     = 200_000
)

// Config describes a run.
type Config struct {
	// Targets; a workload needs the one of its protocol.
	IMAP, POP3, SMTP, LMTP Target
	// Users log in; client i of a workload is user Users.Name(base+i),
	// where base is the number of clients of the workloads listed before
	// it, so that with enough users no two clients share an account.
	Users Users
	// Recipients receive SMTP and LMTP deliveries (default: Users).
	Recipients Users
	// RcptPerMessage is the number of recipients of each SMTP or LMTP
	// message (default 10).
	RcptPerMessage int
	// SMTPAuth makes SMTP clients authenticate (AUTH PLAIN) as their user
	// and send from that address (submission); default: none (MX).
	SMTPAuth bool

	Workloads []WorkloadSpec
	// Clients is the number of concurrent clients, shared by the
	// workloads in proportion to their weights.
	Clients int
	// Warmup runs before the window and is not measured; Duration is the
	// measured window.
	Warmup, Duration time.Duration
	// MaxOps ends the window early after so many commands (0: no
	// bound but the duration).
	MaxOps uint64
	// Timeout bounds every command and connection attempt (default 30s).
	Timeout time.Duration

	// TLS is the client TLS configuration (ServerName, InsecureSkipVerify).
	TLS *tls.Config
	// Sources is the number of loopback source addresses (127.0.0.1 ...
	// 127.0.0.Sources): every connection of a user comes from the address
	// its user number picks, as from the user's own machine. Default
	// DefaultSources.
	Sources int

	// Mailbox is the mailbox IMAP workloads select (default INBOX);
	// AppendMailbox receives the append-heavy workload's messages
	// (default "loadgen-append"; created before and deleted after).
	Mailbox, AppendMailbox string
	// MessageSize is the size of APPENDed and delivered messages
	// (default 10,000 octets).
	MessageSize int
	// Seed makes the messages and choices repeatable (default 1).
	Seed uint64

	Idle IdleOptions

	// Log receives progress messages; nil: none.
	Log io.Writer
}

// WorkloadSpec names a workload and its weight in the client mix.
type WorkloadSpec struct {
	Name   string
	Weight int
}

// Workloads lists the workload names with a line on each.
var Workloads = []struct{ Name, Protocol, Doc string }{
	{"imap-mixed", "imap", "sessions of a mail client: LOGIN, SELECT, FETCH new headers and bodies, STORE, APPEND, EXPUNGE, LOGOUT, reconnect"},
	{"imap-fetch", "imap", "one session per client: FETCH headers of 20 messages, then one body, over and over"},
	{"imap-append", "imap", "one session per client: APPEND of MessageSize messages, over and over"},
	{"imap-search", "imap", "one session per client: UID SEARCH by subject, sender, body text and unseen"},
	{"idle", "imap", "IDLE fan-out: idle connections, a writer delivers, delivery-to-EXISTS latency and server memory"},
	{"pop3", "pop3", "POP3 sessions: login, STAT, RETR of every message, QUIT"},
	{"smtp", "smtp", "SMTP transactions of MessageSize messages to RcptPerMessage recipients"},
	{"lmtp", "lmtp", "LMTP transactions of MessageSize messages to RcptPerMessage recipients"},
}

// ParseWorkloads reads "name[:weight],..." (or name=weight).
func ParseWorkloads(s string) ([]WorkloadSpec, error) {
	var out []WorkloadSpec
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, w, hasWeight := strings.Cut(f, ":")
		if !hasWeight {
			name, w, hasWeight = strings.Cut(f, "=")
		}
		spec := WorkloadSpec{Name: strings.ToLower(strings.TrimSpace(name)), Weight: 1}
		if hasWeight {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("workload %q: the weight must be a whole number from 1 to 1000", f)
			}
			spec.Weight = n
		}
		if !slices.ContainsFunc(Workloads, func(x struct{ Name, Protocol, Doc string }) bool { return x.Name == spec.Name }) {
			return nil, fmt.Errorf("unknown workload %q", spec.Name)
		}
		if slices.ContainsFunc(out, func(x WorkloadSpec) bool { return x.Name == spec.Name }) {
			return nil, fmt.Errorf("workload %q named twice", spec.Name)
		}
		out = append(out, spec)
	}
	if len(out) == 0 {
		return nil, errors.New("no workload")
	}
	return out, nil
}

// withDefaults fills unset fields and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Workloads) == 0 {
		return cfg, errors.New("no workload")
	}
	if cfg.Duration <= 0 || cfg.Duration > MaxDuration {
		return cfg, fmt.Errorf("the duration must be more than 0 and at most %v", MaxDuration)
	}
	if cfg.Warmup < 0 || cfg.Warmup > MaxDuration {
		return cfg, fmt.Errorf("the warm-up must be from 0 to %v", MaxDuration)
	}
	if cfg.Clients < 1 || cfg.Clients > MaxClients {
		return cfg, fmt.Errorf("the number of clients must be from 1 to %d", MaxClients)
	}
	if err := cfg.Users.Check(); err != nil {
		return cfg, err
	}
	if cfg.Recipients.Pattern == "" {
		cfg.Recipients = cfg.Users
	} else if err := cfg.Recipients.Check(); err != nil {
		return cfg, fmt.Errorf("recipients: %w", err)
	}
	if cfg.RcptPerMessage == 0 {
		cfg.RcptPerMessage = 10
	}
	if cfg.RcptPerMessage < 1 || cfg.RcptPerMessage > 1000 {
		return cfg, errors.New("recipients per message must be from 1 to 1000")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{}
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.AppendMailbox == "" {
		cfg.AppendMailbox = "loadgen-append"
	}
	if cfg.MessageSize == 0 {
		cfg.MessageSize = 10_000
	}
	if cfg.MessageSize < 200 || cfg.MessageSize > 64<<20 {
		return cfg, errors.New("the message size must be from 200 octets to 64 MiB")
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Sources < 0 || cfg.Sources > 250 {
		return cfg, errors.New("source addresses must be from 0 to 250")
	}
	for _, w := range cfg.Workloads {
		var t Target
		switch w.Name {
		case "pop3":
			t = cfg.POP3
		case "smtp":
			t = cfg.SMTP
		case "lmtp":
			t = cfg.LMTP
		default:
			t = cfg.IMAP
		}
		if !t.Addr.IsValid() {
			return cfg, fmt.Errorf("workload %s needs a %s target", w.Name, protocolOf(w.Name))
		}
		if !t.Addr.Addr().IsLoopback() {
			return cfg, fmt.Errorf("%s is not a loopback address", t.Addr)
		}
	}
	return cfg, nil
}

func protocolOf(workload string) string {
	for _, w := range Workloads {
		if w.Name == workload {
			return w.Protocol
		}
	}
	return ""
}

// shares splits n clients by weight: every workload gets at least one.
func shares(n int, specs []WorkloadSpec) []int {
	total := 0
	for _, s := range specs {
		total += s.Weight
	}
	out := make([]int, len(specs))
	given := 0
	for i, s := range specs {
		out[i] = max(1, n*s.Weight/total)
		given += out[i]
	}
	// Hand out what rounding left, in order.
	for i := 0; given < n; i = (i + 1) % len(out) {
		out[i]++
		given++
	}
	return out
}

// workload is one kind of load.
type workload interface {
	// setup prepares before the window (idle connections, mailboxes).
	setup(ctx context.Context) error
	// client runs client i until soft is done; hard ends its I/O.
	client(soft, hard context.Context, i int)
	// teardown undoes what setup and the clients left (unmeasured).
	teardown(ctx context.Context)
	// finish adds the workload's own figures to its report.
	finish(r *WorkloadReport, window time.Duration)
}

// base is what every workload shares.
type base struct {
	name     string
	cfg      *Config
	target   Target
	stats    *stats
	dialer   *dialer
	clients  int
	userBase int // client i is user userBase+i
}

func (b *base) user(i int) string { return b.cfg.Users.Name(b.userBase + i) }

func (b *base) logf(format string, args ...any) {
	if b.cfg.Log != nil {
		fmt.Fprintf(b.cfg.Log, b.name+": "+format+"\n", args...)
	}
}

func (b *base) setup(ctx context.Context) error { return nil }
func (b *base) teardown(ctx context.Context)    {}

// pause waits a little after a failure, so that a failing server is not
// hammered in a tight loop; it reports whether the client should go on.
func pause(ctx context.Context) bool {
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watch closes c when hard ends; the returned function stops watching.
func watch(hard context.Context, c io.Closer) func() bool {
	return context.AfterFunc(hard, func() { c.Close() })
}

// Run drives the configured workloads against their targets and reports.
// It returns when the window is over and every client stopped, or when
// ctx is cancelled (then with what was measured so far).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	counts := shares(cfg.Clients, cfg.Workloads)
	conns := 0
	for i, w := range cfg.Workloads {
		if w.Name == "idle" {
			if cfg.Idle, err = cfg.Idle.withDefaults(cfg, counts[i]); err != nil {
				return nil, err
			}
			counts[i] = cfg.Idle.Conns
		}
		conns += counts[i]
	}
	if cfg.Sources == 0 {
		cfg.Sources = DefaultSources
	}
	// A descriptor per connection, the idle writer's, and a few of the
	// process's own.
	if err := RaiseFileLimit(uint64(conns) + maxWriterConns + 32); err != nil {
		return nil, err
	}
	d := &dialer{tls: cfg.TLS, sources: cfg.Sources, timeout: cfg.Timeout}
	var recording atomic.Bool
	works := make([]workload, len(cfg.Workloads))
	bases := make([]*base, len(cfg.Workloads))
	userBase := 0
	for i, spec := range cfg.Workloads {
		b := &base{name: spec.Name, cfg: &cfg, stats: newStats(&recording), dialer: d, clients: counts[i], userBase: userBase}
		if spec.Name == "idle" {
			userBase += cfg.Idle.Accounts
		} else {
			userBase += counts[i]
		}
		bases[i] = b
		works[i] = newWorkload(b)
	}

	report := &Report{Started: time.Now(), Warmup: Seconds(cfg.Warmup)}
	for i, w := range works {
		bases[i].logf("setting up")
		if err := w.setup(ctx); err != nil {
			for _, w := range works[:i+1] {
				w.teardown(context.Background())
			}
			return nil, fmt.Errorf("%s: %w", bases[i].name, err)
		}
	}

	soft, stopSoft := context.WithCancel(ctx)
	hard, stopHard := context.WithCancel(context.Background())
	defer stopHard()
	var wg sync.WaitGroup
	for i, w := range works {
		for c := range bases[i].clients {
			if cfg.Workloads[i].Name == "idle" && c > 0 {
				break // the idle workload's client is its writer
			}
			wg.Go(func() { w.client(soft, hard, c) })
		}
	}
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "running %v (after %v warm-up)\n", cfg.Duration, cfg.Warmup)
	}
	window := runWindow(soft, cfg, &recording, bases)
	stopSoft()

	// Clients finish the command they run; then their connections close.
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(cfg.Timeout + 5*time.Second):
		stopHard()
		<-stopped
	}
	stopHard()
	for _, w := range works {
		w.teardown(context.Background())
	}

	report.Window = Seconds(window)
	for i, w := range works {
		b := bases[i]
		r := WorkloadReport{Name: b.name, Target: b.target.String(), Clients: b.clients}
		b.stats.mu.RLock()
		names := slices.Clone(b.stats.order)
		slices.SortStableFunc(names, func(x, y string) int { return commandRank(x) - commandRank(y) })
		r.ErrorSamples = slices.Clone(b.stats.samples)
		b.stats.mu.RUnlock()
		for _, name := range names {
			c := commandReport(name, b.stats.cmd(name), window)
			r.Commands = append(r.Commands, c)
			if !strings.HasPrefix(name, "EXISTS") { // notices, not commands
				r.Ops += c.Count
			}
			r.Errors += c.Errors
		}
		r.SetupErrors = b.stats.setupErrors.Load()
		r.Errors += r.SetupErrors
		r.Sessions = b.stats.sessions.Load()
		r.OpsPerSec = perSec(r.Ops, window)
		w.finish(&r, window)
		report.Workloads = append(report.Workloads, r)
	}
	return report, ctx.Err()
}

// runWindow waits out the warm-up, opens the window for the duration (or
// until MaxOps commands) and returns its length.
func runWindow(ctx context.Context, cfg Config, recording *atomic.Bool, bases []*base) time.Duration {
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	if cfg.Warmup > 0 && !sleep(cfg.Warmup) {
		return 0
	}
	start := time.Now()
	recording.Store(true)
	defer recording.Store(false)
	end := start.Add(cfg.Duration)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Since(start)
		case now := <-tick.C:
			if !now.Before(end) {
				return cfg.Duration
			}
			if cfg.MaxOps > 0 && totalOps(bases) >= cfg.MaxOps {
				return time.Since(start)
			}
		}
	}
}

func totalOps(bases []*base) uint64 {
	var n uint64
	for _, b := range bases {
		b.stats.mu.RLock()
		for _, c := range b.stats.cmds {
			n += c.hist.Count()
		}
		b.stats.mu.RUnlock()
	}
	return n
}

// newWorkload builds the workload b names.
func newWorkload(b *base) workload {
	switch b.name {
	case "imap-mixed":
		b.target = b.cfg.IMAP
		return &imapMixed{base: b}
	case "imap-fetch":
		b.target = b.cfg.IMAP
		return &imapFetch{base: b}
	case "imap-append":
		b.target = b.cfg.IMAP
		return &imapAppend{base: b}
	case "imap-search":
		b.target = b.cfg.IMAP
		return &imapSearch{base: b}
	case "idle":
		b.target = b.cfg.IMAP
		return &idleFanout{base: b}
	case "pop3":
		b.target = b.cfg.POP3
		return &pop3Sessions{base: b}
	case "smtp":
		b.target = b.cfg.SMTP
		return &smtpDelivery{base: b}
	case "lmtp":
		b.target = b.cfg.LMTP
		return &smtpDelivery{base: b}
	}
	panic("loadgen: unknown workload " + b.name)
}

// commandOrder is the order of commands in reports: that of a session.
var commandOrder = []string{
	"CONNECT", "AUTH", "LOGIN", "USER", "PASS", "SELECT", "STAT",
	"FETCH HEADERS", "FETCH BODY", "RETR", "STORE", "APPEND", "EXPUNGE",
	"SEARCH SUBJECT", "SEARCH FROM", "SEARCH BODY", "SEARCH UNSEEN",
	"MAIL", "RCPT", "DATA", "RSET", "DELIVER", "EXISTS", "EXISTS AFTER OK", "LOGOUT", "QUIT",
}

func commandRank(name string) int {
	if i := slices.Index(commandOrder, name); i >= 0 {
		return i
	}
	return len(commandOrder)
}

package guard

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"postfach/internal/auth"
)

// DefaultPollInterval is how often Run looks for bans another process
// added or removed.
const DefaultPollInterval = 2 * time.Second

const (
	// maxTracked bounds the counters of each kind (prefixes, user
	// names): an attacker who sprays addresses or user names costs at
	// most this many entries (about 100 bytes each).
	maxTracked = 200_000
	// maxUserKey bounds a user name used as a counter key.
	maxUserKey = 128
	// knownRefresh is how stale a known address's stored last-seen time
	// may get before a login rewrites it.
	knownRefresh = 24 * time.Hour
	// sweepInterval is how often Run forgets idle counters and expired
	// bans and known addresses.
	sweepInterval = time.Minute
)

// TooMany is the refusal of an attempt from a banned or throttled
// address, the same in every protocol.
func TooMany() *auth.Error {
	return &auth.Error{
		Text:      "Too many failed logins from your address; try again later",
		IMAPCode:  "UNAVAILABLE",
		SMTPCode:  454,
		Enhanced:  "4.7.0",
		Temporary: true,
	}
}

// Options configure a Guard.
type Options struct {
	Policy Policy
	// Store persists bans and known addresses; nil keeps them in memory.
	Store  Store
	Logger *slog.Logger
	// PollInterval is how often Run looks for bans changed by other
	// processes. Default DefaultPollInterval.
	PollInterval time.Duration
	// Now and Sleep replace the clock in tests. Sleep waits d or until
	// ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Guard is the brute-force limiter. It implements auth.Limiter. Its
// methods are safe for concurrent use.
type Guard struct {
	p     Policy
	store Store
	log   *slog.Logger
	poll  time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	wake  chan struct{}

	stats struct {
		allowed, delayed, refused, failures, bans atomic.Int64
	}

	mu       sync.Mutex
	prefixes map[netip.Prefix]*counter // every level, keyed by its prefix
	accounts map[string]*counter       // by user name tried
	bans     map[netip.Prefix]Ban
	banBits  [2][]int // distinct prefix lengths of bans: [0] IPv4, [1] IPv6
	// known maps a client's hostKey to the accounts that logged in from
	// it, with the time they last did.
	known   map[netip.Prefix]map[string]time.Time
	waiting int // attempts sleeping now
	gen     int64

	// Writes for Run to persist.
	unsavedBans  map[netip.Prefix]Ban
	unsavedKnown map[knownKey]time.Time
}

type knownKey struct {
	account string
	prefix  netip.Prefix
}

var _ auth.Limiter = (*Guard)(nil)

// New returns a Guard; call Load to bring in the persisted state and Run
// to keep it in step.
func New(opts Options) (*Guard, error) {
	if err := opts.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	p := opts.Policy
	p.Allowlist = slices.Clone(p.Allowlist)
	for i, pr := range p.Allowlist {
		p.Allowlist[i] = netip.PrefixFrom(normalize(pr.Addr()), pr.Bits()).Masked()
	}
	return &Guard{
		p:            p,
		store:        opts.Store,
		log:          opts.Logger,
		poll:         opts.PollInterval,
		now:          opts.Now,
		sleep:        opts.Sleep,
		wake:         make(chan struct{}, 1),
		prefixes:     make(map[netip.Prefix]*counter),
		accounts:     make(map[string]*counter),
		bans:         make(map[netip.Prefix]Ban),
		known:        make(map[netip.Prefix]map[string]time.Time),
		unsavedBans:  make(map[netip.Prefix]Ban),
		unsavedKnown: make(map[knownKey]time.Time),
	}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Policy returns the policy in force.
func (g *Guard) Policy() Policy { return g.p }

// Allow implements auth.Limiter: it refuses an attempt from a banned or
// exhausted prefix, and otherwise waits as long as the failures seen
// ask for (ctx cancels the wait).
func (g *Guard) Allow(ctx context.Context, remote netip.Addr, username string) error {
	a := normalize(remote)
	if !a.IsValid() || g.allowlisted(a) {
		g.stats.allowed.Add(1)
		return nil
	}
	user := userKey(username)
	now := g.now()
	g.mu.Lock()
	delay, refused := g.judgeLocked(a, user, now)
	if refused {
		g.mu.Unlock()
		g.stats.refused.Add(1)
		return TooMany()
	}
	ps := prefixes(a)
	if delay > 0 {
		if g.waiting >= g.p.MaxDelayed {
			g.mu.Unlock()
			g.stats.refused.Add(1)
			return TooMany()
		}
		g.waiting++
	}
	for _, p := range ps {
		if p.IsValid() {
			g.counterLocked(p).begin(now)
		}
	}
	g.accountLocked(user).begin(now)
	g.mu.Unlock()
	g.stats.allowed.Add(1)
	if delay == 0 {
		return nil
	}
	g.stats.delayed.Add(1)
	err := g.sleep(ctx, delay)
	g.mu.Lock()
	g.waiting--
	g.mu.Unlock()
	if err != nil {
		g.finish(a, user, false, false)
		return err
	}
	return nil
}

// judgeLocked decides an attempt: refused, or allowed after delay.
func (g *Guard) judgeLocked(a netip.Addr, user string, now time.Time) (delay time.Duration, refused bool) {
	knownAny, knownUser := g.knownLocked(a, user, now)
	if g.bannedLocked(a, now, knownAny) {
		return 0, true
	}
	for l, p := range prefixes(a) {
		if !p.IsValid() || (level(l) != levelAddress && knownAny) {
			continue
		}
		n := 0
		if c := g.prefixes[p]; c != nil {
			n = c.load(now, g.p.Window)
		}
		th := g.p.thresholds(level(l))
		if th.BanAfter > 0 && n >= th.BanAfter {
			// Banned once the attempts in flight fail: no more guesses.
			return 0, true
		}
		delay = max(delay, g.p.delayFor(n, th.DelayAfter))
	}
	if !knownUser {
		if c := g.accounts[user]; c != nil {
			n := c.load(now, g.p.Window)
			if g.p.AccountMaxInFlight > 0 && g.p.AccountDelayAfter > 0 && n >= g.p.AccountDelayAfter &&
				c.inFlight(now) >= g.p.AccountMaxInFlight {
				// Under attack from many addresses: one guess at a
				// time, each after the longest wait.
				return 0, true
			}
			delay = max(delay, g.p.delayFor(n, g.p.AccountDelayAfter))
		}
	}
	return delay, false
}

// Decision is what Allow would do with an attempt now.
type Decision struct {
	Refused bool
	Delay   time.Duration
}

// Judge tells what Allow would decide for an attempt from remote on
// username now, without counting it: for diagnostics and tests.
func (g *Guard) Judge(remote netip.Addr, username string) Decision {
	a := normalize(remote)
	if !a.IsValid() || g.allowlisted(a) {
		return Decision{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d, refused := g.judgeLocked(a, userKey(username), g.now())
	return Decision{Refused: refused, Delay: d}
}

// Done implements auth.Limiter: it counts a failure, bans a prefix that
// reached its threshold, or remembers where an account logged in from.
func (g *Guard) Done(remote netip.Addr, username string, success bool) {
	a := normalize(remote)
	if !a.IsValid() || g.allowlisted(a) {
		return
	}
	g.finish(a, userKey(username), true, success)
}

// finish ends an attempt begun by Allow; counted is false when it was
// abandoned without an outcome.
func (g *Guard) finish(a netip.Addr, user string, counted, success bool) {
	now := g.now()
	failed := counted && !success
	if failed {
		g.stats.failures.Add(1)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	persist := false
	for l, p := range prefixes(a) {
		c := g.prefixes[p]
		if c == nil {
			continue
		}
		c.end()
		if !failed {
			continue
		}
		c.fail(now, g.p.Window)
		th := g.p.thresholds(level(l))
		if n := c.failures(now, g.p.Window); th.BanAfter > 0 && n >= th.BanAfter {
			if b, ok := g.bans[p]; !ok || !b.Active(now) {
				g.banLocked(Ban{
					Prefix:  p,
					Created: now,
					Until:   now.Add(g.p.BanDuration),
					Reason:  fmt.Sprintf("%d failed logins from the %s", n, level(l)),
				})
				g.log.Warn("login guard: banned", "prefix", p.String(), "level", level(l).String(),
					"failures", n, "until", now.Add(g.p.BanDuration).UTC().Format(time.RFC3339))
				g.stats.bans.Add(1)
				persist = true
			}
		}
	}
	if c := g.accounts[user]; c != nil {
		c.end()
		if failed {
			c.fail(now, g.p.Window)
		}
	}
	if counted && success {
		hk := hostKey(a)
		m := g.known[hk]
		if m == nil {
			m = make(map[string]time.Time)
			g.known[hk] = m
		}
		if last, ok := m[user]; !ok || now.Sub(last) > knownRefresh {
			m[user] = now
			g.unsavedKnown[knownKey{user, hk}] = now
			persist = true
		}
	}
	if persist {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}

// Banned reports whether connections from addr are refused: a ban on
// the address, or on a wider prefix unless an account logged in from
// addr recently. It is cheap enough for every accepted connection.
func (g *Guard) Banned(addr netip.Addr) bool {
	a := normalize(addr)
	if !a.IsValid() || g.allowlisted(a) {
		return false
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	knownAny, _ := g.knownLocked(a, "", now)
	return g.bannedLocked(a, now, knownAny)
}

// Bans returns the bans in force, sorted by prefix.
func (g *Guard) Bans() []Ban {
	now := g.now()
	g.mu.Lock()
	out := make([]Ban, 0, len(g.bans))
	for _, b := range g.bans {
		if b.Active(now) {
			out = append(out, b)
		}
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b Ban) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	return out
}

// Stats are running totals, for metrics and tests.
type Stats struct {
	Allowed, Delayed, Refused, Failures, Bans int64
}

// Stats returns the totals since New.
func (g *Guard) Stats() Stats {
	return Stats{
		Allowed:  g.stats.allowed.Load(),
		Delayed:  g.stats.delayed.Load(),
		Refused:  g.stats.refused.Load(),
		Failures: g.stats.failures.Load(),
		Bans:     g.stats.bans.Load(),
	}
}

func (g *Guard) allowlisted(a netip.Addr) bool {
	for _, p := range g.p.Allowlist {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// knownLocked reports whether any account, and whether user, logged in
// from a's host within KnownTTL.
func (g *Guard) knownLocked(a netip.Addr, user string, now time.Time) (anyAccount, forUser bool) {
	m := g.known[hostKey(a)]
	cutoff := now.Add(-g.p.KnownTTL)
	for u, t := range m {
		if t.After(cutoff) {
			anyAccount = true
			if u == user {
				return true, true
			}
		}
	}
	return anyAccount, false
}

// bannedLocked looks a up in the bans, at every prefix length a ban
// uses. A ban wider than one address spares addresses accounts logged
// in from (known).
func (g *Guard) bannedLocked(a netip.Addr, now time.Time, known bool) bool {
	fam := 0
	if a.Is6() {
		fam = 1
	}
	for _, bits := range g.banBits[fam] {
		if bits < a.BitLen() && known {
			continue
		}
		p, _ := a.Prefix(bits)
		if b, ok := g.bans[p]; ok && b.Active(now) {
			return true
		}
	}
	return false
}

func (g *Guard) banLocked(b Ban) {
	g.bans[b.Prefix] = b
	g.unsavedBans[b.Prefix] = b
	g.indexBansLocked()
}

// indexBansLocked recomputes banBits.
func (g *Guard) indexBansLocked() {
	var seen [2]map[int]bool
	g.banBits = [2][]int{}
	for p := range g.bans {
		fam := 0
		if p.Addr().Is6() {
			fam = 1
		}
		if seen[fam] == nil {
			seen[fam] = make(map[int]bool)
		}
		if !seen[fam][p.Bits()] {
			seen[fam][p.Bits()] = true
			g.banBits[fam] = append(g.banBits[fam], p.Bits())
		}
	}
}

func (g *Guard) counterLocked(p netip.Prefix) *counter {
	c := g.prefixes[p]
	if c == nil {
		if len(g.prefixes) >= maxTracked {
			evictOne(g.prefixes)
		}
		c = &counter{}
		g.prefixes[p] = c
	}
	return c
}

func (g *Guard) accountLocked(user string) *counter {
	c := g.accounts[user]
	if c == nil {
		if len(g.accounts) >= maxTracked {
			evictOne(g.accounts)
		}
		c = &counter{}
		g.accounts[user] = c
	}
	return c
}

// evictOne drops an arbitrary entry (Go randomizes map iteration): under
// a flood of new keys, a long-lived attacker's counter survives with
// high probability, and memory stays bounded.
func evictOne[K comparable](m map[K]*counter) {
	for k := range m {
		delete(m, k)
		return
	}
}

func userKey(username string) string {
	if len(username) > maxUserKey {
		return username[:maxUserKey]
	}
	return username
}

func (p *Policy) thresholds(l level) Thresholds {
	switch l {
	case levelAddress:
		return p.Address
	case levelNetwork:
		return p.Network
	default:
		return p.Site
	}
}

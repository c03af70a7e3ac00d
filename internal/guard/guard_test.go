package guard

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"postfach/internal/auth"
)

// clock is a fake time source; its sleep records the waits and returns
// at once (or blocks while hold is set).
type clock struct {
	mu     sync.Mutex
	t      time.Time
	waits  []time.Duration
	hold   chan struct{} // when non-nil, sleep blocks until it is closed
	asleep chan struct{}
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	hold, asleep := c.hold, c.asleep
	c.mu.Unlock()
	if hold != nil {
		if asleep != nil {
			asleep <- struct{}{}
		}
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// lastWait returns the wait of the last sleep and forgets the waits.
func (c *clock) takeWaits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waits
	c.waits = nil
	return w
}

func newTestGuard(t *testing.T, p Policy, st Store) (*Guard, *clock) {
	t.Helper()
	c := newClock()
	g, err := New(Options{Policy: p, Store: st, Now: c.now, Sleep: c.sleep})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g, c
}

var ctx = context.Background()

// attempt runs one login attempt through g: Allow, then Done with the
// outcome. It returns Allow's error and the wait it imposed.
func attempt(g *Guard, c *clock, remote, user string, success bool) (time.Duration, error) {
	a := netip.MustParseAddr(remote)
	c.takeWaits()
	if err := g.Allow(ctx, a, user); err != nil {
		return 0, err
	}
	g.Done(a, user, success)
	var d time.Duration
	for _, w := range c.takeWaits() {
		d += w
	}
	return d, nil
}

func isTooMany(err error) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Temporary && ae.IMAPCode == "UNAVAILABLE" && ae.SMTPCode == 454 &&
		ae.Enhanced == "4.7.0" && ae.Text == "Too many failed logins from your address; try again later"
}

// TestDelaysThenBan: one address gets its first failures answered at
// once, then ever slower answers, then a ban that expires.
func TestDelaysThenBan(t *testing.T) {
	g, c := newTestGuard(t, DefaultPolicy(), nil)
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second, 15 * time.Second}
	var got []time.Duration
	for i := range want {
		d, err := attempt(g, c, "192.0.2.7", "tim@example.org", false)
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		got = append(got, d)
	}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v\nwant  %v", got, want)
	}
	if _, err := attempt(g, c, "192.0.2.7", "tim@example.org", false); !isTooMany(err) {
		t.Errorf("11th attempt: %v, want the too-many refusal", err)
	}
	if !g.Banned(netip.MustParseAddr("192.0.2.7")) || !g.Banned(netip.MustParseAddr("::ffff:192.0.2.7")) {
		t.Error("address not banned at accept time")
	}
	if g.Banned(netip.MustParseAddr("192.0.2.8")) {
		t.Error("neighbour banned after one address's failures")
	}
	if bans := g.Bans(); len(bans) != 1 || bans[0].Prefix != netip.MustParsePrefix("192.0.2.7/32") ||
		!bans[0].Until.Equal(c.now().Add(DefaultBanDuration)) {
		t.Errorf("bans %+v", bans)
	}
	// Even the right password is refused while banned.
	if _, err := attempt(g, c, "192.0.2.7", "tim@example.org", true); !isTooMany(err) {
		t.Errorf("banned success: %v", err)
	}
	// After the ban and the window, the address starts afresh.
	c.advance(DefaultBanDuration + 2*DefaultWindow)
	if g.Banned(netip.MustParseAddr("192.0.2.7")) {
		t.Error("still banned after ban_duration")
	}
	if d, err := attempt(g, c, "192.0.2.7", "tim@example.org", false); err != nil || d != 0 {
		t.Errorf("after expiry: wait %v, %v", d, err)
	}
	st := g.Stats()
	if st.Bans != 1 || st.Failures != 11 || st.Refused != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestInFlightCount: parallel attempts count as failures while in
// flight, so many connections at once buy no more guesses.
func TestInFlightCount(t *testing.T) {
	p := DefaultPolicy()
	p.Delay, p.MaxDelay = 0, 0
	g, _ := newTestGuard(t, p, nil)
	a := netip.MustParseAddr("198.51.100.1")
	// A user name each, so that only the address level limits.
	user := func(i int) string { return "x" + strconv.Itoa(i) + "@example.org" }
	allowed := 0
	for i := range 50 {
		if g.Allow(ctx, a, user(i)) == nil {
			allowed++
		}
	}
	if allowed != DefaultBanAfter {
		t.Errorf("%d attempts in flight allowed, want %d", allowed, DefaultBanAfter)
	}
	for i := range allowed {
		g.Done(a, user(i), false)
	}
	if !g.Banned(a) {
		t.Error("not banned after the parallel failures")
	}
}

// TestPendingExpires: an attempt that never reports its outcome stops
// counting after pendingTTL.
func TestPendingExpires(t *testing.T) {
	p := DefaultPolicy()
	g, c := newTestGuard(t, p, nil)
	a := netip.MustParseAddr("198.51.100.2")
	for i := range DefaultBanAfter {
		if err := g.Allow(ctx, a, "x"+strconv.Itoa(i)+"@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Allow(ctx, a, "y@example.org"); !isTooMany(err) {
		t.Fatalf("past the in-flight limit: %v", err)
	}
	c.advance(pendingTTL + time.Second)
	c.takeWaits()
	if err := g.Allow(ctx, a, "y@example.org"); err != nil {
		t.Errorf("after pendingTTL: %v", err)
	}
	if w := c.takeWaits(); len(w) != 0 {
		t.Errorf("waits %v after the leak expired", w)
	}
}

// TestOwnerNotLockedOut: an attack on an account from many addresses
// slows the attackers and addresses the owner never used, never the
// owner's known address.
func TestOwnerNotLockedOut(t *testing.T) {
	g, c := newTestGuard(t, DefaultPolicy(), nil)
	owner := "2001:db8:1:2:aaaa::1"
	if d, err := attempt(g, c, owner, "tim@example.org", true); err != nil || d != 0 {
		t.Fatalf("owner's first login: %v %v", d, err)
	}
	// 40 addresses in 40 networks, 2 failures each: no address or
	// network threshold is reached, the account's is.
	for i := range 40 {
		addr := netip.AddrFrom4([4]byte{203, 0, byte(i), 9}).String()
		for range 2 {
			if _, err := attempt(g, c, addr, "tim@example.org", false); err != nil {
				t.Fatalf("attacker %s: %v", addr, err)
			}
		}
	}
	if w, err := attempt(g, c, "203.0.200.1", "tim@example.org", false); err != nil || w != DefaultMaxDelay {
		t.Errorf("fresh attacker address: wait %v, %v; want %v", w, err, DefaultMaxDelay)
	}
	// Same /64, other privacy address: still the owner's host.
	if d, err := attempt(g, c, "2001:db8:1:2:bbbb::7", "tim@example.org", true); err != nil || d != 0 {
		t.Errorf("owner during the attack: wait %v, %v", d, err)
	}
	// The owner from a new address is slowed, never refused.
	if d, err := attempt(g, c, "192.0.2.200", "tim@example.org", true); err != nil || d == 0 || d > DefaultMaxDelay {
		t.Errorf("owner from a new address: wait %v, %v", d, err)
	}
	// Another account is not slowed by the attack on tim.
	if d, err := attempt(g, c, "192.0.2.201", "ann@example.org", false); err != nil || d != 0 {
		t.Errorf("other account: wait %v, %v", d, err)
	}
}

// TestNetworkBanSparesKnown: failures spread over a /24 ban the /24,
// except addresses accounts logged in from; their own failures still
// count against them.
func TestNetworkBanSparesKnown(t *testing.T) {
	g, c := newTestGuard(t, DefaultPolicy(), nil)
	if _, err := attempt(g, c, "127.0.0.1", "tim@example.org", true); err != nil {
		t.Fatal(err)
	}
	// 19 attacking addresses, 3 failures each: 57 >= 50 for the /24.
	banned := false
	for i := 2; i <= 20 && !banned; i++ {
		addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}).String()
		for range 3 {
			if _, err := attempt(g, c, addr, "user"+addr, false); err != nil {
				if !isTooMany(err) {
					t.Fatal(err)
				}
				banned = true
				break
			}
		}
	}
	if !banned {
		t.Fatal("network never refused")
	}
	if !g.Banned(netip.MustParseAddr("127.0.0.99")) {
		t.Error("unknown address in the banned /24 not refused")
	}
	if g.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Error("known address refused by the network ban")
	}
	if d, err := attempt(g, c, "127.0.0.1", "tim@example.org", true); err != nil || d != 0 {
		t.Errorf("owner in the banned network: wait %v, %v", d, err)
	}
	// The known address's own failures still lead to its own ban.
	var err error
	for range DefaultBanAfter + 1 {
		if _, err = attempt(g, c, "127.0.0.1", "tim@example.org", false); err != nil {
			break
		}
	}
	if !isTooMany(err) || !g.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("known address guessing: %v, banned %v", err, g.Banned(netip.MustParseAddr("127.0.0.1")))
	}
}

// TestIPv6Levels: rotating through a /64 bans the /64; rotating through
// /64s of one /48 bans the /48.
func TestIPv6Levels(t *testing.T) {
	p := DefaultPolicy()
	p.Delay, p.MaxDelay = 0, 0
	g, c := newTestGuard(t, p, nil)
	for i := range DefaultNetworkBanAfter {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, byte(i + 1)})
		if _, err := attempt(g, c, a.String(), "u@example.org", false); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if !g.Banned(netip.MustParseAddr("2001:db8:1:1::ffff")) {
		t.Error("/64 not banned")
	}
	if g.Banned(netip.MustParseAddr("2001:db8:1:2::1")) {
		t.Error("neighbouring /64 banned")
	}
	n := 0
	for i := 0; !g.Banned(netip.MustParseAddr("2001:db8:1:ffff::1")); i++ {
		// A new /64 for every 40 failures (below the /64's threshold).
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, byte(2 + i/40), 0, 0, 0, 0, 0, 0, 0, byte(i%40 + 1)})
		if _, err := attempt(g, c, a.String(), "u@example.org", false); err != nil && !isTooMany(err) {
			t.Fatal(err)
		}
		if n++; n > 1000 {
			t.Fatal("/48 never banned")
		}
	}
	if n+DefaultNetworkBanAfter < DefaultSiteBanAfter {
		t.Errorf("/48 banned after %d failures, want %d", n+DefaultNetworkBanAfter, DefaultSiteBanAfter)
	}
}

// TestAllowlist: allowlisted prefixes are never counted; loopback is
// not on it by default.
func TestAllowlist(t *testing.T) {
	p := DefaultPolicy()
	p.Allowlist = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8:aa::/48")}
	g, c := newTestGuard(t, p, nil)
	for _, addr := range []string{"10.1.2.3", "::ffff:10.1.9.9", "2001:db8:aa:1::5"} {
		for i := range 30 {
			if d, err := attempt(g, c, addr, "tim@example.org", false); err != nil || d != 0 {
				t.Fatalf("%s attempt %d: wait %v, %v", addr, i, d, err)
			}
		}
		if g.Banned(netip.MustParseAddr(addr)) {
			t.Errorf("%s banned", addr)
		}
	}
	for range DefaultBanAfter {
		attempt(g, c, "127.0.0.1", "tim@example.org", false)
	}
	if !g.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Error("loopback exempt without an allowlist entry")
	}
}

// TestMaxDelayed: attempts that would wait are refused at once when
// MaxDelayed attempts already wait.
func TestMaxDelayed(t *testing.T) {
	p := DefaultPolicy()
	p.MaxDelayed = 2
	g, c := newTestGuard(t, p, nil)
	// Three addresses, each past its delay threshold.
	// (Each its own user name, so that the account's in-flight cap stays
	// out of this.)
	for _, addr := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		for range DefaultDelayAfter {
			attempt(g, c, addr, addr+"@example.org", false)
		}
	}
	c.mu.Lock()
	c.hold, c.asleep = make(chan struct{}), make(chan struct{}, 2)
	c.mu.Unlock()
	errs := make(chan error, 2)
	for _, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		go func() { errs <- g.Allow(ctx, netip.MustParseAddr(addr), addr+"@example.org") }()
	}
	<-c.asleep
	<-c.asleep
	if err := g.Allow(ctx, netip.MustParseAddr("192.0.2.3"), "192.0.2.3@example.org"); !isTooMany(err) {
		t.Errorf("third waiter: %v", err)
	}
	// An attempt that needs no wait is not affected.
	if err := g.Allow(ctx, netip.MustParseAddr("198.51.100.99"), "other@example.org"); err != nil {
		t.Errorf("attempt without a wait: %v", err)
	}
	close(c.hold)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
}

// TestCancelledWait: a wait ends with ctx, and the attempt stops
// counting as in flight.
func TestCancelledWait(t *testing.T) {
	g, c := newTestGuard(t, DefaultPolicy(), nil)
	for range DefaultDelayAfter {
		attempt(g, c, "192.0.2.1", "u@example.org", false)
	}
	c.mu.Lock()
	c.hold = make(chan struct{})
	c.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Allow(cctx, netip.MustParseAddr("192.0.2.1"), "u@example.org"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Allow = %v", err)
	}
	g.mu.Lock()
	pending := g.prefixes[netip.MustParsePrefix("192.0.2.1/32")].pending
	waiting := g.waiting
	g.mu.Unlock()
	if pending != 0 || waiting != 0 {
		t.Errorf("pending %d, waiting %d after a cancelled wait", pending, waiting)
	}
}

// TestUserNamesAlike: the guard never looks at whether an account
// exists: every user name gets the same waits.
func TestUserNamesAlike(t *testing.T) {
	var seqs [2][]time.Duration
	for i, user := range []string{"tim@example.org", "nobody-here@example.org"} {
		g, c := newTestGuard(t, DefaultPolicy(), nil)
		for range DefaultBanAfter {
			d, _ := attempt(g, c, "192.0.2.1", user, false)
			seqs[i] = append(seqs[i], d)
		}
	}
	if !slices.Equal(seqs[0], seqs[1]) {
		t.Errorf("waits differ: %v vs %v", seqs[0], seqs[1])
	}
}

func TestDelayFor(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		n, after int
		want     time.Duration
	}{
		{0, 3, 0}, {2, 3, 0}, {3, 3, time.Second}, {4, 3, 2 * time.Second},
		{6, 3, 8 * time.Second}, {7, 3, 15 * time.Second}, {1000, 3, 15 * time.Second},
		{5, 0, 0},
	}
	for _, tt := range tests {
		if got := p.delayFor(tt.n, tt.after); got != tt.want {
			t.Errorf("delayFor(%d, %d) = %v, want %v", tt.n, tt.after, got, tt.want)
		}
	}
}

func TestCounterWindow(t *testing.T) {
	w := time.Hour
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var c counter
	for range 10 {
		c.fail(start, w)
	}
	tests := []struct {
		at   time.Duration
		want int
	}{
		{0, 10}, {59 * time.Minute, 10}, {60 * time.Minute, 10}, {90 * time.Minute, 5},
		{119 * time.Minute, 0}, {3 * time.Hour, 0},
	}
	for _, tt := range tests {
		if got := c.failures(start.Add(tt.at), w); got != tt.want {
			t.Errorf("at +%v: %d failures, want %d", tt.at, got, tt.want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"192.0.2.7/24", "192.0.2.0/24"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7/120", "192.0.2.0/24"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:DB8:1:2:3::/48", "2001:db8:1::/48"},
		{"fe80::1%eth0", "fe80::1/128"},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "192.0.2", "192.0.2.0/33", "mail.example.org"} {
		if _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) succeeded", bad)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if p := DefaultPolicy(); p.Validate() != nil {
		t.Fatal(p.Validate())
	}
	for name, mod := range map[string]func(*Policy){
		"window":      func(p *Policy) { p.Window = 0 },
		"delay":       func(p *Policy) { p.MaxDelay = p.Delay - 1 },
		"order":       func(p *Policy) { p.Address.DelayAfter = p.Address.BanAfter + 1 },
		"negative":    func(p *Policy) { p.Site.BanAfter = -1 },
		"ban":         func(p *Policy) { p.BanDuration = 0 },
		"known":       func(p *Policy) { p.KnownTTL = 0 },
		"max_delayed": func(p *Policy) { p.MaxDelayed = -1 },
	} {
		p := DefaultPolicy()
		mod(&p)
		if p.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, p)
		}
	}
}

// TestAccountInFlight: once an account is under attack, addresses it
// never logged in from get one attempt at a time; its known addresses
// are not limited.
func TestAccountInFlight(t *testing.T) {
	p := DefaultPolicy()
	g, c := newTestGuard(t, p, nil)
	attempt(g, c, "192.0.2.1", "tim@example.org", true)
	for i := range DefaultAccountDelayAfter {
		attempt(g, c, netip.AddrFrom4([4]byte{203, 0, byte(i), 1}).String(), "tim@example.org", false)
	}
	if err := g.Allow(ctx, netip.MustParseAddr("198.51.100.1"), "tim@example.org"); err != nil {
		t.Fatalf("first attempt in flight: %v", err)
	}
	if err := g.Allow(ctx, netip.MustParseAddr("198.51.100.2"), "tim@example.org"); !isTooMany(err) {
		t.Errorf("second attempt in flight from another address: %v", err)
	}
	if d := g.Judge(netip.MustParseAddr("192.0.2.1"), "tim@example.org"); d.Refused || d.Delay != 0 {
		t.Errorf("known address: %+v", d)
	}
	if err := g.Allow(ctx, netip.MustParseAddr("192.0.2.1"), "tim@example.org"); err != nil {
		t.Errorf("known address while the account is busy: %v", err)
	}
	g.Done(netip.MustParseAddr("192.0.2.1"), "tim@example.org", true)
	g.Done(netip.MustParseAddr("198.51.100.1"), "tim@example.org", false)
	if d := g.Judge(netip.MustParseAddr("198.51.100.2"), "tim@example.org"); d.Refused || d.Delay == 0 {
		t.Errorf("after the first ended: %+v, want a wait", d)
	}
}

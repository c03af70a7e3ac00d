package guard

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Thresholds are the failure counts at which one level starts to slow
// answers and bans. Zero turns the step off.
type Thresholds struct {
	// DelayAfter failures in the window slow the next attempts.
	DelayAfter int
	// BanAfter failures in the window ban the prefix.
	BanAfter int
}

// Policy is how the Guard judges attempts. DefaultPolicy documents the
// defaults; config's [security] table sets them.
type Policy struct {
	// Window is how long a failure counts (a sliding window).
	Window time.Duration
	// Delay is the first wait past a DelayAfter threshold; each further
	// failure doubles it, up to MaxDelay.
	Delay    time.Duration
	MaxDelay time.Duration
	// MaxDelayed bounds the attempts waiting at once; an attempt that
	// would wait beyond it is refused at once (try later).
	MaxDelayed int
	// Address is the level of one address: IPv4 /32, IPv6 /128.
	Address Thresholds
	// Network is the level of an IPv4 /24 or IPv6 /64.
	Network Thresholds
	// Site is the level of an IPv6 /48.
	Site Thresholds
	// AccountDelayAfter failures against one user name, from addresses
	// it has not logged in from, slow further attempts on it from such
	// addresses. Accounts are never banned: that would lock the owner
	// out.
	AccountDelayAfter int
	// AccountMaxInFlight bounds the attempts on one user name that run
	// at once from addresses it has not logged in from, once it is past
	// AccountDelayAfter; more are refused (try later). Waits alone would
	// not slow an attack from many addresses at once; this caps it at
	// AccountMaxInFlight guesses per MaxDelay on the account. Zero turns
	// the cap off.
	AccountMaxInFlight int
	// BanDuration is how long an automatic ban lasts.
	BanDuration time.Duration
	// KnownTTL is how long an address an account logged in from stays
	// exempt from the account's and the network's penalties.
	KnownTTL time.Duration
	// Allowlist holds prefixes that are never counted, slowed or banned.
	Allowlist []netip.Prefix
}

// Defaults. A client that mistypes a password twice is never slowed; a
// guessing client gets 10 guesses per address and hour, the last ones
// seconds apart, then an hour's ban. An IPv4 /24 or IPv6 /64 that fails
// 50 times in an hour is banned whole, except addresses its users logged
// in from; an IPv6 /48 after 200.
const (
	DefaultWindow             = time.Hour
	DefaultDelay              = time.Second
	DefaultMaxDelay           = 15 * time.Second
	DefaultMaxDelayed         = 1000
	DefaultDelayAfter         = 3
	DefaultBanAfter           = 10
	DefaultNetworkDelayAfter  = 10
	DefaultNetworkBanAfter    = 50
	DefaultSiteDelayAfter     = 40
	DefaultSiteBanAfter       = 200
	DefaultAccountDelayAfter  = 5
	DefaultAccountMaxInFlight = 1
	DefaultBanDuration        = time.Hour
	DefaultKnownTTL           = 90 * 24 * time.Hour
)

// DefaultPolicy returns the defaults.
func DefaultPolicy() Policy {
	return Policy{
		Window:             DefaultWindow,
		Delay:              DefaultDelay,
		MaxDelay:           DefaultMaxDelay,
		MaxDelayed:         DefaultMaxDelayed,
		Address:            Thresholds{DelayAfter: DefaultDelayAfter, BanAfter: DefaultBanAfter},
		Network:            Thresholds{DelayAfter: DefaultNetworkDelayAfter, BanAfter: DefaultNetworkBanAfter},
		Site:               Thresholds{DelayAfter: DefaultSiteDelayAfter, BanAfter: DefaultSiteBanAfter},
		AccountDelayAfter:  DefaultAccountDelayAfter,
		AccountMaxInFlight: DefaultAccountMaxInFlight,
		BanDuration:        DefaultBanDuration,
		KnownTTL:           DefaultKnownTTL,
	}
}

// Validate checks p for values that cannot work.
func (p *Policy) Validate() error {
	var errs []error
	if p.Window <= 0 {
		errs = append(errs, errors.New("window must be positive"))
	}
	if p.Delay < 0 || p.MaxDelay < p.Delay {
		errs = append(errs, fmt.Errorf("delay %v and max_delay %v: want 0 <= delay <= max_delay", p.Delay, p.MaxDelay))
	}
	if p.MaxDelayed < 0 {
		errs = append(errs, errors.New("max_delayed must not be negative"))
	}
	for _, l := range []struct {
		name string
		t    Thresholds
	}{{"address", p.Address}, {"network", p.Network}, {"site", p.Site}} {
		if l.t.DelayAfter < 0 || l.t.BanAfter < 0 {
			errs = append(errs, fmt.Errorf("%s thresholds must not be negative", l.name))
		}
		if l.t.BanAfter > 0 && l.t.DelayAfter > l.t.BanAfter {
			errs = append(errs, fmt.Errorf("%s: delay_after %d exceeds ban_after %d", l.name, l.t.DelayAfter, l.t.BanAfter))
		}
	}
	if p.AccountDelayAfter < 0 || p.AccountMaxInFlight < 0 {
		errs = append(errs, errors.New("account_delay_after and account_max_in_flight must not be negative"))
	}
	if p.BanDuration <= 0 {
		errs = append(errs, errors.New("ban_duration must be positive"))
	}
	if p.KnownTTL <= 0 {
		errs = append(errs, errors.New("known_address_ttl must be positive"))
	}
	return errors.Join(errs...)
}

// delayFor is the wait before an attempt on a level that has seen n
// failures (attempts in flight included).
func (p *Policy) delayFor(n, after int) time.Duration {
	if after <= 0 || n < after || p.Delay <= 0 {
		return 0
	}
	d := p.Delay
	for i := after; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

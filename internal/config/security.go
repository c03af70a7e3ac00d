package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Security configures the login guard ([security]; see package guard):
// failed logins are counted per client address, per network and per
// account over a sliding window, answers to a failing client slow down,
// then its address is banned. Defaults: a client that mistypes twice is
// never slowed; a guessing address gets 10 guesses an hour, the last
// ones seconds apart, then an hour's ban.
//
// Behind a proxy or TLS terminator that connects from one address (say
// 127.0.0.1), put that address on the allowlist, or the proxy gets
// banned for its clients' failures.
type Security struct {
	// Window is how long a failed login counts (window). Default 1h.
	Window time.Duration `toml:"window"`
	// Delay is the first wait before answering past a delay threshold;
	// each further failure doubles it, up to MaxDelay (delay, max_delay).
	// Defaults 1s and 15s.
	Delay    time.Duration `toml:"delay"`
	MaxDelay time.Duration `toml:"max_delay"`
	// MaxDelayed bounds logins waiting at once; past it, a login that
	// would wait is refused at once with "try again later"
	// (max_delayed). Default 1000.
	MaxDelayed int `toml:"max_delayed"`
	// One client address (IPv4 /32, IPv6 /128): slow down after
	// delay_after failures, ban after ban_after. Defaults 3 and 10.
	DelayAfter int `toml:"delay_after"`
	BanAfter   int `toml:"ban_after"`
	// One network (IPv4 /24, IPv6 /64): network_delay_after and
	// network_ban_after, defaults 10 and 50. Addresses an account logged
	// in from are spared network penalties.
	NetworkDelayAfter int `toml:"network_delay_after"`
	NetworkBanAfter   int `toml:"network_ban_after"`
	// One IPv6 /48: site_delay_after and site_ban_after, defaults 40 and
	// 200.
	SiteDelayAfter int `toml:"site_delay_after"`
	SiteBanAfter   int `toml:"site_ban_after"`
	// AccountDelayAfter failures against one user name slow further
	// attempts on it from addresses the account has not logged in from
	// (account_delay_after). Default 5. Accounts are never locked.
	AccountDelayAfter int `toml:"account_delay_after"`
	// AccountMaxInFlight bounds the attempts on an account under attack
	// (past account_delay_after) that run at once from addresses it has
	// not logged in from; more are refused, try later
	// (account_max_in_flight). Default 1: an attack from many addresses
	// gets one guess per max_delay. 0 turns the cap off.
	AccountMaxInFlight int `toml:"account_max_in_flight"`
	// BanDuration is how long an automatic ban lasts (ban_duration).
	// Default 1h. `postfach ban add` sets longer or permanent bans.
	BanDuration time.Duration `toml:"ban_duration"`
	// KnownAddressTTL is how long an address an account logged in from
	// stays exempt from the account's and the network's penalties
	// (known_address_ttl). Default 2160h (90 days).
	KnownAddressTTL time.Duration `toml:"known_address_ttl"`
	// Allowlist holds addresses and CIDR prefixes that are never
	// counted, slowed or banned (allowlist). Default empty: loopback is
	// not exempt.
	Allowlist []string `toml:"allowlist"`
}

// Login guard defaults; guard.DefaultPolicy has the same values (a test
// keeps them in step).
const (
	DefaultSecurityWindow     = time.Hour
	DefaultSecurityDelay      = time.Second
	DefaultSecurityMaxDelay   = 15 * time.Second
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
	DefaultKnownAddressTTL    = 90 * 24 * time.Hour
	DefaultACMEDirectory      = "https://acme-v02.api.letsencrypt.org/directory"
	DefaultACMEHTTPAddr       = ":80"
	DefaultACMETLSALPNAddr    = ":443"
	maxSecurityThreshold      = 1 << 20
	maxSecurityDelay          = 10 * time.Minute
	minSecurityWindow         = time.Minute
	maxSecurityMaxDelayed     = 1 << 20
	minKnownAddressTTL        = time.Hour
)

// defaultSecurity is the [security] table's defaults.
func defaultSecurity() Security {
	return Security{
		Window:             DefaultSecurityWindow,
		Delay:              DefaultSecurityDelay,
		MaxDelay:           DefaultSecurityMaxDelay,
		MaxDelayed:         DefaultMaxDelayed,
		DelayAfter:         DefaultDelayAfter,
		BanAfter:           DefaultBanAfter,
		NetworkDelayAfter:  DefaultNetworkDelayAfter,
		NetworkBanAfter:    DefaultNetworkBanAfter,
		SiteDelayAfter:     DefaultSiteDelayAfter,
		SiteBanAfter:       DefaultSiteBanAfter,
		AccountDelayAfter:  DefaultAccountDelayAfter,
		AccountMaxInFlight: DefaultAccountMaxInFlight,
		BanDuration:        DefaultBanDuration,
		KnownAddressTTL:    DefaultKnownAddressTTL,
		Allowlist:          []string{},
	}
}

// AllowlistPrefixes returns the allowlist parsed; Validate has checked
// it. An address stands for its single-address prefix.
func (s *Security) AllowlistPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.Allowlist))
	for _, e := range s.Allowlist {
		if p, err := parsePrefix(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// validate checks the [security] table; each error names its key.
func (s *Security) validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("security.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if s.Window < minSecurityWindow {
		add("window", "%v is below 1m", s.Window)
	}
	if s.Delay < 0 || s.Delay > maxSecurityDelay {
		add("delay", "%v is out of range 0..%v", s.Delay, maxSecurityDelay)
	}
	if s.MaxDelay < s.Delay || s.MaxDelay > maxSecurityDelay {
		add("max_delay", "%v is out of range delay (%v)..%v", s.MaxDelay, s.Delay, maxSecurityDelay)
	}
	if s.MaxDelayed < 0 || s.MaxDelayed > maxSecurityMaxDelayed {
		add("max_delayed", "%d is out of range 0..%d", s.MaxDelayed, maxSecurityMaxDelayed)
	}
	for _, l := range []struct {
		delayKey, banKey string
		delay, ban       int
	}{
		{"delay_after", "ban_after", s.DelayAfter, s.BanAfter},
		{"network_delay_after", "network_ban_after", s.NetworkDelayAfter, s.NetworkBanAfter},
		{"site_delay_after", "site_ban_after", s.SiteDelayAfter, s.SiteBanAfter},
	} {
		if l.delay < 0 || l.delay > maxSecurityThreshold {
			add(l.delayKey, "%d is out of range 0 (off)..%d", l.delay, maxSecurityThreshold)
		}
		if l.ban < 0 || l.ban > maxSecurityThreshold {
			add(l.banKey, "%d is out of range 0 (off)..%d", l.ban, maxSecurityThreshold)
		} else if l.ban > 0 && l.delay > l.ban {
			add(l.delayKey, "%d exceeds security.%s (%d)", l.delay, l.banKey, l.ban)
		}
	}
	if s.AccountDelayAfter < 0 || s.AccountDelayAfter > maxSecurityThreshold {
		add("account_delay_after", "%d is out of range 0 (off)..%d", s.AccountDelayAfter, maxSecurityThreshold)
	}
	if s.AccountMaxInFlight < 0 || s.AccountMaxInFlight > maxSecurityThreshold {
		add("account_max_in_flight", "%d is out of range 0 (off)..%d", s.AccountMaxInFlight, maxSecurityThreshold)
	}
	if s.BanDuration < time.Second {
		add("ban_duration", "%v is below 1s", s.BanDuration)
	}
	if s.KnownAddressTTL < minKnownAddressTTL {
		add("known_address_ttl", "%v is below 1h", s.KnownAddressTTL)
	}
	for i, e := range s.Allowlist {
		if _, err := parsePrefix(e); err != nil {
			add(fmt.Sprintf("allowlist[%d]", i), "%q is neither an IP address nor a CIDR prefix such as 192.0.2.0/24", e)
		}
	}
	return errs
}

// CertKey is one certificate and its key, PEM files ([[tls.certificates]]).
type CertKey struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Pairs returns every configured certificate pair: cert/key first (the
// default for clients that send no server name), then
// [[tls.certificates]] in order.
func (t *TLS) Pairs() []CertKey {
	var out []CertKey
	if t.Cert != "" {
		out = append(out, CertKey{Cert: t.Cert, Key: t.Key})
	}
	return append(out, t.Certificates...)
}

// validate checks the [tls] table beyond cert/key; each error names its
// key.
func (t *TLS) validate(hostname string) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("tls.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, ck := range t.Certificates {
		if ck.Cert == "" || ck.Key == "" {
			add(fmt.Sprintf("certificates[%d]", i), "set both cert and key")
		}
	}
	if !t.ACME {
		return errs
	}
	if len(t.ACMEDomains) == 0 && !publicName(hostname) {
		add("acme_domains", "the hostname %q is not a public DNS name an ACME CA issues for; set acme_domains", hostname)
	}
	for i, d := range t.ACMEDomains {
		if !publicName(d) && checkDNSName(d) == nil {
			add(fmt.Sprintf("acme_domains[%d]", i), "%q is not a public DNS name an ACME CA issues for", d)
		} else if _, err := netip.ParseAddr(d); err == nil {
			add(fmt.Sprintf("acme_domains[%d]", i), "%q is an IP address; ACME certificates here are for names", d)
		} else if err := checkDNSName(d); err != nil || strings.HasPrefix(d, "*.") {
			add(fmt.Sprintf("acme_domains[%d]", i), "%q is not a host name (wildcards need DNS-01, which is not offered)", d)
		}
	}
	if t.ACMECA != "" {
		if u, err := url.Parse(t.ACMECA); err != nil || u.Scheme != "https" || u.Host == "" {
			add("acme_ca", "%q is not an https:// directory URL", t.ACMECA)
		}
	}
	if t.ACMEEmail != "" && !strings.Contains(t.ACMEEmail, "@") {
		add("acme_email", "%q is not an email address", t.ACMEEmail)
	}
	hosts := map[string]bool{}
	for _, a := range []struct{ key, addr string }{{"acme_http_addr", t.ACMEHTTPAddr}, {"acme_tls_alpn_addr", t.ACMETLSALPNAddr}} {
		if a.addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a.addr)
		if err != nil || port == "" || port == "0" {
			add(a.key, "%q is not host:port with a port", a.addr)
			continue
		}
		hosts[host] = true
	}
	if t.ACMEHTTPAddr == "" && t.ACMETLSALPNAddr == "" {
		add("acme", "acme_http_addr and acme_tls_alpn_addr are both off; no challenge can be answered")
	}
	if len(hosts) > 1 {
		add("acme_tls_alpn_addr", "must use the same host as acme_http_addr")
	}
	return errs
}

// ACMENames returns the names to get certificates for: acme_domains, or
// the hostname.
func (t *TLS) ACMENames(hostname string) []string {
	if len(t.ACMEDomains) > 0 {
		return t.ACMEDomains
	}
	return []string{hostname}
}

// publicName reports whether an ACME CA could issue for name: a DNS name
// with a dot, not a local-only one (RFC 6761, RFC 6762, RFC 8375).
func publicName(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if checkDNSName(name) != nil || !strings.Contains(name, ".") {
		return false
	}
	for _, suffix := range []string{".localhost", ".local", ".internal", ".home.arpa", ".invalid", ".test", ".example"} {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return true
}

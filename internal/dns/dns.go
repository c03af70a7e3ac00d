// Package dns is postfach's name resolution for mail routing and mail
// authentication (MX, SPF, DKIM, DMARC, MTA-STS, the `dns check`
// command).
//
// Everything that resolves names goes through Resolver, so that tests and
// offline setups answer from a static zone file and never reach the
// system resolver, and operators can name their own resolvers under
// [dns] nameservers.
//
// Errors follow the standard library: a *net.DNSError whose IsNotFound
// is true for NXDOMAIN and for a name without records of the type asked
// (RFC 7208 section 4.3 and RFC 7489 treat both as "none"), and
// IsTemporary for a timeout or SERVFAIL (callers answer 4xx / temperror).
package dns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"postfach/internal/config"
)

// Resolver answers the lookups mail needs. Its method set is that of
// *net.Resolver, so SPF, DKIM and DMARC libraries take it directly.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Options tune the resolvers New builds beyond the configuration.
type Options struct {
	// Timeout bounds one query to one nameserver. Default 2s.
	Timeout time.Duration
	// Attempts is how many times each nameserver is tried before a query
	// fails with a temporary error. Default 2.
	Attempts int
	// CacheSize bounds the answers the nameserver resolver caches. 0
	// means DefaultCacheSize; negative turns the cache off.
	CacheSize int
	// MaxTTL caps how long an answer is cached whatever its TTL. Default
	// 1h.
	MaxTTL time.Duration
	// Logger receives zone file reloads and their errors; nil discards.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultAttempts  = 2
	DefaultCacheSize = 8192
	DefaultMaxTTL    = time.Hour
)

// New returns the resolver cfg describes:
//   - zone_file only: answers from the zone file and nothing else (tests,
//     offline use); the network is never touched.
//   - nameservers only: queries those servers, with a cache.
//   - both: the zone file first; names it does not hold (and that are
//     outside any zone whose SOA it holds) go to the nameservers.
//   - neither: the system resolver (net.DefaultResolver); in a test
//     binary, nothing (every name is NXDOMAIN), so that no server a test
//     starts reaches the system resolver.
func New(cfg config.DNS) (Resolver, error) {
	return NewWithOptions(cfg, Options{})
}

// NewWithOptions is New with tuning.
func NewWithOptions(cfg config.DNS, opts Options) (Resolver, error) {
	return newResolver(cfg, opts)
}

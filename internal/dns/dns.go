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
	"net"
	"net/netip"
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

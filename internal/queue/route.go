package queue

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// mxHost is one next hop: a host name from MX (or the domain itself for
// the implicit MX), or an address literal.
type mxHost struct {
	name string
	pref uint16
	// addr is set for an address literal (user@[192.0.2.1]), which needs
	// no lookup.
	addr netip.Addr
}

// route finds the hosts that receive mail for domain, in the order to
// try them (RFC 5321 section 5.1): MX records by preference, equal
// preferences shuffled; without MX records the domain itself (the
// implicit MX); a null MX (RFC 7505) refuses all mail.
func (q *Queue) route(ctx context.Context, domain string) ([]mxHost, *Error) {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return addressLiteral(domain)
	}
	mxs, err := q.opts.Resolver.LookupMX(ctx, domain)
	if err != nil && !isNotFound(err) {
		return nil, tempErr("4.4.3", "MX lookup for %s: %v", domain, err)
	}
	// RFC 7505 section 3: a null MX is the single record "0 ." ; Go's
	// resolver returns the root as "." (some as "").
	if len(mxs) == 1 && isRoot(mxs[0].Host) {
		return nil, permErr("5.1.10", "domain %s accepts no mail (null MX, RFC 7505)", domain)
	}
	var hosts []mxHost
	for _, mx := range mxs {
		name := strings.TrimSuffix(strings.ToLower(mx.Host), ".")
		if isRoot(mx.Host) || name == "" {
			continue
		}
		hosts = append(hosts, mxHost{name: name, pref: mx.Pref})
	}
	if err == nil && len(mxs) > 0 && len(hosts) == 0 {
		return nil, permErr("5.1.10", "domain %s has only null MX records", domain)
	}
	if len(hosts) == 0 {
		// RFC 5321 section 5.1: no MX records: the domain is its own
		// mail exchanger, if it has an address.
		if _, err := q.lookupHost(ctx, domain); err != nil {
			if isNotFound(err) {
				return nil, permErr("5.1.2", "domain %s has neither MX nor address records", domain)
			}
			return nil, tempErr("4.4.3", "address lookup for %s: %v", domain, err)
		}
		return []mxHost{{name: domain}}, nil
	}
	slices.SortStableFunc(hosts, func(a, b mxHost) int { return int(a.pref) - int(b.pref) })
	// RFC 5321 section 5.1: spread load over hosts of equal preference.
	for i := 0; i < len(hosts); {
		j := i + 1
		for j < len(hosts) && hosts[j].pref == hosts[i].pref {
			j++
		}
		group := hosts[i:j]
		rand.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		i = j
	}
	return hosts, nil
}

// addressLiteral routes to "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC
// 5321 section 4.1.3).
func addressLiteral(domain string) ([]mxHost, *Error) {
	lit := domain[1 : len(domain)-1]
	if v6, ok := strings.CutPrefix(strings.ToLower(lit), "ipv6:"); ok {
		lit = v6
	}
	a, err := netip.ParseAddr(lit)
	if err != nil {
		return nil, permErr("5.1.2", "malformed address literal %s", domain)
	}
	return []mxHost{{name: a.String(), addr: a}}, nil
}

// lookupHost returns a host's addresses, IPv6 and IPv4.
func (q *Queue) lookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	addrs, err := q.opts.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.Unmap())
	}
	return out, nil
}

func isRoot(host string) bool { return host == "." || host == "" }

// isNotFound reports NXDOMAIN or no records of the type (the dns package's
// contract).
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

package guard

import "net/netip"

// level is one granularity failures are counted at.
type level int

const (
	levelAddress level = iota // IPv4 /32, IPv6 /128
	levelNetwork              // IPv4 /24, IPv6 /64
	levelSite                 // IPv6 /48
	numLevels
)

func (l level) String() string {
	return [...]string{"address", "network", "site"}[l]
}

// prefixes returns the prefixes addr is counted under, by level; an
// IPv4 address has no site (invalid prefix).
func prefixes(addr netip.Addr) [numLevels]netip.Prefix {
	var out [numLevels]netip.Prefix
	if addr.Is4() {
		out[levelAddress] = netip.PrefixFrom(addr, 32)
		out[levelNetwork], _ = addr.Prefix(24)
		return out
	}
	out[levelAddress] = netip.PrefixFrom(addr, 128)
	out[levelNetwork], _ = addr.Prefix(64)
	out[levelSite], _ = addr.Prefix(48)
	return out
}

// hostKey is the prefix that stands for a client's machine when an
// account remembers where it logged in from: the address for IPv4, the
// /64 for IPv6, whose privacy extensions (RFC 8981) change the rest
// daily.
func hostKey(addr netip.Addr) netip.Prefix {
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}

// normalize strips what does not identify a client: the IPv4-mapped
// IPv6 form and the zone.
func normalize(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}

// ParsePrefix reads an address ("192.0.2.7", "2001:db8::1") as its
// single-address prefix, or a prefix in CIDR notation, masked.
func ParsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = normalize(a)
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a := normalize(p.Addr())
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
		if bits < 0 {
			bits = 0
		}
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

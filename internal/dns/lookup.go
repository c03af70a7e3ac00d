package dns

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// source answers one question: the records of qtype at the end of any
// CNAME chain starting at name (canonical: lower case, fully qualified).
// Its errors are *net.DNSError, or *outsideError from a zone. On error the
// result still names the end of the chain when one was followed.
type source interface {
	query(ctx context.Context, name string, qtype uint16) (result, error)
}

// result is a source's answer.
type result struct {
	// target is the canonical name the records are at.
	target string
	rrs    []dns.RR
}

// resolver implements Resolver on a source: name checks, record type
// conversion and ordering are the same whatever answers.
type resolver struct {
	src source
}

var _ Resolver = (*resolver)(nil)

// canonical lower-cases name and makes it fully qualified; ok is false
// for a name that cannot be asked (empty labels, over-long, bad bytes).
func canonical(name string) (string, bool) {
	if name == "" || name == "." {
		return "", false
	}
	n := dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(n); !ok {
		return "", false
	}
	// Presentation-format escapes would let one name mean another.
	if strings.ContainsAny(n, "\\ \t\r\n\"();") {
		return "", false
	}
	return n, true
}

func (r *resolver) query(ctx context.Context, name string, qtype uint16) (result, error) {
	n, ok := canonical(name)
	if !ok {
		return result{}, notFound(name, "")
	}
	if err := ctx.Err(); err != nil {
		return result{}, ctxError(name, "", err)
	}
	res, err := r.src.query(ctx, n, qtype)
	if err != nil {
		var out *outsideError
		if errors.As(err, &out) {
			return result{target: out.target}, notFound(name, zoneServer)
		}
		return res, renamed(err, name)
	}
	return res, nil
}

// LookupTXT returns each TXT record as one string, its character-strings
// concatenated without separator (RFC 7208 section 3.3, RFC 6376 section
// 3.6.2.2).
func (r *resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	res, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.rrs))
	for _, rr := range res.rrs {
		if t, ok := rr.(*dns.TXT); ok {
			var b strings.Builder
			for _, s := range t.Txt {
				b.WriteString(unescapeTXT(s))
			}
			out = append(out, b.String())
		}
	}
	return out, nil
}

// LookupMX returns the MX records sorted by preference, in random order
// among equal preferences (RFC 5321 section 5.1), as *net.Resolver does.
func (r *resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	res, err := r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(res.rrs))
	for _, rr := range res.rrs {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, &net.MX{Host: dns.CanonicalName(mx.Mx), Pref: mx.Preference})
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	slices.SortStableFunc(out, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	return out, nil
}

// LookupNetIP returns the addresses of host: network "ip4" asks A, "ip6"
// AAAA, "ip" both (IPv4 first). An IP literal is returned as it is.
func (r *resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var types []uint16
	switch network {
	case "ip":
		types = []uint16{dns.TypeA, dns.TypeAAAA}
	case "ip4":
		types = []uint16{dns.TypeA}
	case "ip6":
		types = []uint16{dns.TypeAAAA}
	default:
		return nil, &net.DNSError{Err: "unsupported network " + network, Name: host}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if (network == "ip4" && !ip.Unmap().Is4()) || (network == "ip6" && !ip.Is6()) {
			return nil, notFound(host, "")
		}
		return []netip.Addr{ip}, nil
	}
	var (
		out      []netip.Addr
		firstErr error
	)
	for _, t := range types {
		res, err := r.query(ctx, host, t)
		if err != nil {
			// Prefer reporting a temporary failure over "not found": a
			// retry may find addresses.
			if firstErr == nil || isNotFound(firstErr) && !isNotFound(err) {
				firstErr = err
			}
			continue
		}
		for _, rr := range res.rrs {
			switch rr := rr.(type) {
			case *dns.A:
				if ip, ok := netip.AddrFromSlice(rr.A.To4()); ok {
					out = append(out, ip)
				}
			case *dns.AAAA:
				if ip, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
					out = append(out, ip)
				}
			}
		}
	}
	if len(out) == 0 {
		if firstErr == nil {
			firstErr = notFound(host, "")
		}
		return nil, firstErr
	}
	return out, nil
}

// LookupIPAddr is LookupNetIP("ip", host) in net.IPAddr form.
func (r *resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: ip.AsSlice()}
		if ip.Is6() {
			out[i].Zone = ip.Zone()
		}
	}
	return out, nil
}

// LookupAddr returns the PTR names of addr (RFC 1035 section 3.5, RFC
// 3596 section 2.5), fully qualified.
func (r *resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rev, err := dns.ReverseAddr(ip.Unmap().WithZone("").String())
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	res, err := r.query(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, renamed(err, addr)
	}
	var out []string
	for _, rr := range res.rrs {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, dns.CanonicalName(p.Ptr))
		}
	}
	return out, nil
}

// LookupSRV looks up _service._proto.name (RFC 2782), or name itself when
// service and proto are both empty. Records come sorted by priority and,
// within a priority, in the weighted random order of RFC 2782. cname is
// the name the records were found at, after any CNAME.
func (r *resolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	target := name
	if service != "" || proto != "" {
		target = "_" + service + "._" + proto + "." + name
	}
	res, err := r.query(ctx, target, dns.TypeSRV)
	if err != nil {
		return "", nil, err
	}
	out := make([]*net.SRV, 0, len(res.rrs))
	for _, rr := range res.rrs {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, &net.SRV{Target: dns.CanonicalName(s.Target), Port: s.Port, Priority: s.Priority, Weight: s.Weight})
		}
	}
	orderSRV(out)
	return res.target, out, nil
}

// orderSRV sorts by priority, then orders each priority by the weighted
// random selection of RFC 2782 ("Weight" in the usage rules).
func orderSRV(srvs []*net.SRV) {
	slices.SortStableFunc(srvs, func(a, b *net.SRV) int { return cmp.Compare(a.Priority, b.Priority) })
	for i := 0; i < len(srvs); {
		j := i
		for j < len(srvs) && srvs[j].Priority == srvs[i].Priority {
			j++
		}
		group := srvs[i:j]
		for k := range group {
			total := 0
			for _, s := range group[k:] {
				total += int(s.Weight)
			}
			if total == 0 {
				break
			}
			pick := rand.IntN(total + 1)
			sum := 0
			for m := k; m < len(group); m++ {
				sum += int(group[m].Weight)
				if sum >= pick {
					group[k], group[m] = group[m], group[k]
					break
				}
			}
		}
		i = j
	}
}

// LookupCNAME returns the canonical name of host after following CNAMEs,
// fully qualified; host itself when it has addresses but no CNAME.
func (r *resolver) LookupCNAME(ctx context.Context, host string) (string, error) {
	var firstErr error
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		res, err := r.query(ctx, host, t)
		if err == nil {
			return res.target, nil
		}
		if n, ok := canonical(host); ok && res.target != "" && res.target != n && isNotFound(err) {
			return res.target, nil // a CNAME to a name without addresses
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", firstErr
}

// unescapeTXT turns a character-string in miekg/dns presentation form
// (\" \\ and \DDD escapes, RFC 1035 section 5.1) into its bytes.
func unescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

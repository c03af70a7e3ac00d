package dns

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/miekg/dns"
)

// Zone is a set of static DNS records parsed from RFC 1035 master file
// syntax (section 5). It answers questions the way an authoritative
// server would: CNAME chains inside the zone (RFC 1034 section 4.3.2),
// wildcards (RFC 4592), empty non-terminals (RFC 8020) and the
// NXDOMAIN/NODATA distinction with the SOA for negative answers
// (RFC 2308).
//
// A Zone need not hold a whole zone: records without an SOA make a bag
// of names, each answered as it is, and names outside every SOA the zone
// holds are "outside" (the file resolver says NXDOMAIN; a combined
// resolver asks its nameservers). A Zone is immutable once parsed and
// safe for concurrent use.
type Zone struct {
	// owners maps a canonical owner name to its records by type.
	owners map[string]map[uint16][]dns.RR
	// names holds every owner and all its ancestors: a name in names
	// without records is an empty non-terminal.
	names map[string]bool
	// soas are the zone apexes the data holds.
	soas map[string]*dns.SOA
	// count is the number of records.
	count int
}

// DefaultZoneTTL is the TTL of records that give none, when the file has
// no $TTL either.
const DefaultZoneTTL = 3600

// maxChain bounds CNAME chains, in the zone and from nameservers: a loop
// or an absurd chain is an error, not a hang.
const maxChain = 8

// ParseZone reads records in master file syntax. Names are relative to
// the root unless $ORIGIN says otherwise; records without a TTL get
// $TTL or DefaultZoneTTL. $INCLUDE is refused: one file is the whole
// truth, and a reload watches just that file. file names the source in
// error messages.
func ParseZone(r io.Reader, file string) (*Zone, error) {
	zp := dns.NewZoneParser(r, ".", file)
	zp.SetDefaultTTL(DefaultZoneTTL)
	zp.SetIncludeAllowed(false)
	z := &Zone{
		owners: map[string]map[uint16][]dns.RR{},
		names:  map[string]bool{},
		soas:   map[string]*dns.SOA{},
	}
	seen := map[string]bool{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if err := z.add(rr, seen); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	return z, nil
}

// ParseZoneString is ParseZone on a string, for tests and examples.
func ParseZoneString(s string) (*Zone, error) {
	return ParseZone(strings.NewReader(s), "zone")
}

// Len returns the number of records.
func (z *Zone) Len() int { return z.count }

// add adds rr unless seen (presentation form without TTL) says it is
// there already: a map, since $GENERATE can put 65536 records in one
// RRset and pairwise comparison would be quadratic.
func (z *Zone) add(rr dns.RR, seen map[string]bool) error {
	h := rr.Header()
	if h.Class != dns.ClassINET {
		return fmt.Errorf("%s: class %s: only IN records are served", h.Name, dns.ClassToString[h.Class])
	}
	name := dns.CanonicalName(h.Name)
	h.Name = name
	types := z.owners[name]
	if types == nil {
		types = map[uint16][]dns.RR{}
		z.owners[name] = types
	}
	t := h.Rrtype
	// RFC 2181 section 10.1: a CNAME is alone at its name.
	switch {
	case t == dns.TypeCNAME && len(types) > 0 && len(types[dns.TypeCNAME]) == 0:
		return fmt.Errorf("%s: CNAME next to other records", name)
	case t != dns.TypeCNAME && len(types[dns.TypeCNAME]) > 0:
		return fmt.Errorf("%s: %s next to a CNAME", name, dns.TypeToString[t])
	case t == dns.TypeCNAME && len(types[dns.TypeCNAME]) > 0:
		return fmt.Errorf("%s: more than one CNAME", name)
	}
	ttl := h.Ttl
	h.Ttl = 0
	key := rr.String()
	h.Ttl = ttl
	if seen[key] {
		return nil // RFC 2181 section 5: an RRset has no duplicates
	}
	seen[key] = true
	types[t] = append(types[t], rr)
	z.count++
	if soa, ok := rr.(*dns.SOA); ok {
		z.soas[name] = soa
	}
	for n := name; ; {
		z.names[n] = true
		if n == "." {
			break
		}
		off, end := dns.NextLabel(n, 0)
		if end {
			n = "."
		} else {
			n = n[off:]
		}
	}
	return nil
}

// zoneStatus classifies a lookup in a Zone.
type zoneStatus int

const (
	zoneFound    zoneStatus = iota // records of the type asked
	zoneNoData                     // the name exists, not with that type (RFC 2308 NODATA)
	zoneNXDomain                   // the name does not exist in a zone we are the apex of
	zoneOutside                    // the name is neither in the data nor under an apex
)

// zoneAnswer is the outcome of Zone.lookup.
type zoneAnswer struct {
	status zoneStatus
	// chain holds the CNAMEs followed, in order; rrs the records of the
	// type asked at the end of the chain (status zoneFound).
	chain []dns.RR
	rrs   []dns.RR
	// target is the name the chain ended at (the name asked when there
	// was no CNAME).
	target string
	// soa is the SOA of the zone target is in, if the data has one: the
	// negative-caching TTL of NXDOMAIN and NODATA (RFC 2308 section 3).
	soa *dns.SOA
}

var errCNAMELoop = errors.New("CNAME chain too long or looping")

// lookup answers (name, qtype); name must be canonical (lower case,
// fully qualified).
func (z *Zone) lookup(name string, qtype uint16) (zoneAnswer, error) {
	var a zoneAnswer
	for range maxChain {
		a.target = name
		a.soa = z.apex(name)
		types, ok := z.owners[name]
		if !ok && !z.names[name] {
			types, ok = z.wildcard(name)
		}
		if !ok {
			switch {
			case z.names[name]:
				a.status = zoneNoData
			case a.soa != nil:
				a.status = zoneNXDomain
			default:
				a.status = zoneOutside
			}
			return a, nil
		}
		if rrs := types[qtype]; len(rrs) > 0 {
			a.status, a.rrs = zoneFound, rrs
			return a, nil
		}
		cname := types[dns.TypeCNAME]
		if len(cname) == 0 || qtype == dns.TypeCNAME {
			a.status = zoneNoData
			return a, nil
		}
		a.chain = append(a.chain, cname[0])
		name = dns.CanonicalName(cname[0].(*dns.CNAME).Target)
	}
	return a, errCNAMELoop
}

// apex returns the SOA of the closest enclosing zone the data holds.
func (z *Zone) apex(name string) *dns.SOA {
	if len(z.soas) == 0 {
		return nil
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if soa := z.soas[name[off:]]; soa != nil {
			return soa
		}
	}
	return z.soas["."]
}

// wildcard synthesizes the records of name from a wildcard at its
// closest encloser (RFC 4592 section 3.3.1), copying them with name as
// owner. It reports false when no wildcard applies.
func (z *Zone) wildcard(name string) (map[uint16][]dns.RR, bool) {
	// The closest encloser is the longest existing ancestor.
	for off, end := dns.NextLabel(name, 0); ; off, end = dns.NextLabel(name, off) {
		anc := "."
		if !end {
			anc = name[off:]
		}
		if z.names[anc] {
			wc := "*." + anc
			if anc == "." {
				wc = "*."
			}
			src, ok := z.owners[wc]
			if !ok {
				return nil, false
			}
			out := make(map[uint16][]dns.RR, len(src))
			for t, rrs := range src {
				cp := make([]dns.RR, len(rrs))
				for i, rr := range rrs {
					cp[i] = dns.Copy(rr)
					cp[i].Header().Name = name
				}
				out[t] = cp
			}
			return out, true
		}
		if end {
			return nil, false
		}
	}
}

// Reply answers a query message as an authoritative server for the
// zone's data would: the basis of dnstest's server. Names outside the
// data get REFUSED, as from a server that is not authoritative for them.
func (z *Zone) Reply(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		return m
	}
	a, err := z.lookup(dns.CanonicalName(q.Name), q.Qtype)
	if err != nil {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Answer = append(append(m.Answer, a.chain...), a.rrs...)
	switch a.status {
	case zoneNXDomain:
		m.Rcode = dns.RcodeNameError
	case zoneOutside:
		if len(a.chain) == 0 {
			m.Rcode = dns.RcodeRefused
		}
		// A chain that leaves the data: answer what we have; the
		// resolver follows the target elsewhere.
	}
	if a.soa != nil && a.status != zoneFound {
		m.Ns = append(m.Ns, a.soa)
	}
	return m
}

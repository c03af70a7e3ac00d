package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the UDP payload size we advertise (EDNS0, RFC 6891): the
// DNS flag day 2020 value, which avoids IP fragmentation. Larger answers
// come truncated and are asked again over TCP (RFC 7766 section 5).
const ednsSize = 1232

// nsSource asks recursive nameservers.
//
// Each question starts at the next server in turn (rotation spreads the
// load); a timeout, a network error, SERVFAIL, REFUSED or any other
// failure rcode moves on to the next server, up to Attempts rounds. When
// every try failed the error is temporary: the zone's owner did not say
// "no", so mail retries rather than bounces. NXDOMAIN and NODATA are
// final and cached for the SOA's negative TTL (RFC 2308 section 5).
type nsSource struct {
	servers  []string
	timeout  time.Duration
	attempts int
	next     atomic.Uint32
	cache    *cache // nil when off
	udp, tcp *dns.Client
}

func newNSSource(servers []string, opts Options) (*nsSource, error) {
	if len(servers) == 0 {
		return nil, errors.New("dns: no nameservers")
	}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("dns: nameserver %q: want IP:port: %w", s, err)
		}
	}
	n := &nsSource{
		servers:  append([]string(nil), servers...),
		timeout:  opts.Timeout,
		attempts: opts.Attempts,
	}
	if n.timeout <= 0 {
		n.timeout = DefaultTimeout
	}
	if n.attempts <= 0 {
		n.attempts = DefaultAttempts
	}
	n.udp = &dns.Client{Net: "udp", Timeout: n.timeout, UDPSize: ednsSize}
	n.tcp = &dns.Client{Net: "tcp", Timeout: n.timeout}
	size := opts.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if size > 0 {
		maxTTL := opts.MaxTTL
		if maxTTL <= 0 {
			maxTTL = DefaultMaxTTL
		}
		n.cache = newCache(size, maxTTL, time.Now)
	}
	return n, nil
}

// NewNameserverResolver returns a resolver asking servers (IP:port), with
// the options' timeouts, attempts and cache.
func NewNameserverResolver(servers []string, opts Options) (Resolver, error) {
	n, err := newNSSource(servers, opts)
	if err != nil {
		return nil, err
	}
	return &resolver{src: n}, nil
}

func (n *nsSource) query(ctx context.Context, name string, qtype uint16) (result, error) {
	return n.resolve(ctx, name, qtype, 0)
}

// resolve answers one question from the cache or the servers, following
// a CNAME chain the server's answer left unfinished. depth counts CNAMEs
// followed so far.
func (n *nsSource) resolve(ctx context.Context, name string, qtype uint16, depth int) (result, error) {
	if res, err, ok := n.cache.get(name, qtype); ok {
		return res, err
	}
	msg, server, err := n.exchange(ctx, name, qtype)
	if err != nil {
		return result{target: name}, err
	}
	target, rrs, links, ttl := chase(msg, name, qtype)
	depth += links
	if depth > maxChain {
		return result{target: target}, &net.DNSError{Err: errCNAMELoop.Error(), Name: name, Server: server}
	}
	switch {
	case len(rrs) > 0:
		res := result{target: target, rrs: rrs}
		n.cache.putAnswer(name, qtype, res, ttl)
		return res, nil
	case msg.Rcode == dns.RcodeSuccess && target != name:
		// The chain leaves what the server told us (another zone, an
		// answer cut short): ask for the target.
		return n.resolve(ctx, target, qtype, depth+1)
	}
	err = notFound(name, server)
	if neg, ok := negativeTTL(msg); ok {
		n.cache.putNotFound(name, qtype, target, server, min(ttl, neg))
	}
	return result{target: target}, err
}

// chase follows the CNAME chain from name through msg's answer section
// and returns where it ends, the records of qtype there, how many CNAMEs
// it followed, and the smallest TTL seen.
func chase(msg *dns.Msg, name string, qtype uint16) (target string, rrs []dns.RR, links int, ttl uint32) {
	target, ttl = name, ^uint32(0)
	for links = 0; links <= maxChain; links++ {
		var cname *dns.CNAME
		for _, rr := range msg.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, target) {
				continue
			}
			if h.Rrtype == qtype {
				rrs = append(rrs, rr)
				ttl = min(ttl, h.Ttl)
			} else if c, ok := rr.(*dns.CNAME); ok && cname == nil {
				cname = c
			}
		}
		if len(rrs) > 0 || cname == nil || qtype == dns.TypeCNAME {
			return target, rrs, links, ttl
		}
		ttl = min(ttl, cname.Hdr.Ttl)
		target = dns.CanonicalName(cname.Target)
	}
	return target, nil, links, ttl
}

// negativeTTL is the time an NXDOMAIN or NODATA may be cached: the
// smaller of the SOA record's TTL and its MINIMUM field (RFC 2308 section
// 5). Without an SOA it must not be cached.
func negativeTTL(msg *dns.Msg) (uint32, bool) {
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl), true
		}
	}
	return 0, false
}

// exchange asks the servers in turn until one gives a usable answer
// (NOERROR or NXDOMAIN).
func (n *nsSource) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	start := int(n.next.Add(1))
	var (
		lastErr    error
		lastServer string
		timeouts   = 0
		tries      = 0
	)
	for range n.attempts {
		for i := range n.servers {
			srv := n.servers[(start+i)%len(n.servers)]
			resp, err := n.exchangeOne(ctx, name, qtype, srv)
			if cerr := ctx.Err(); cerr != nil {
				return nil, srv, ctxError(name, srv, cerr)
			}
			tries++
			lastServer = srv
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					timeouts++
				}
				lastErr = err
				continue
			}
			switch resp.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				return resp, srv, nil
			}
			lastErr = fmt.Errorf("server answered %s", dns.RcodeToString[resp.Rcode])
		}
	}
	msg := "server misbehaving"
	if timeouts == tries {
		msg = "i/o timeout"
	}
	if lastErr != nil && timeouts != tries {
		msg = lastErr.Error()
	}
	return nil, lastServer, temporary(name, lastServer, msg, timeouts == tries)
}

// exchangeOne asks one server over UDP, and again over TCP when the
// answer is truncated.
func (n *nsSource) exchangeOne(ctx context.Context, name string, qtype uint16, server string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.SetEdns0(ednsSize, false)
	resp, err := roundTrip(ctx, n.udp, q, server)
	if err == nil && resp.Truncated {
		resp, err = roundTrip(ctx, n.tcp, q, server)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// Our AfterFunc may have closed the connection before the
			// read deadline fired: it is the timeout all the same.
			return nil, errTimeout
		}
		return nil, err
	}
	// The ID matched (miekg/dns checks it); the question must too, or a
	// stray answer could be taken for ours.
	if len(resp.Question) != 1 || resp.Question[0].Qtype != qtype || !strings.EqualFold(resp.Question[0].Name, name) {
		return nil, errors.New("answer to another question")
	}
	return resp, nil
}

// errTimeout is a query that got no answer in time.
var errTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// roundTrip sends q and reads the answer on a fresh connection, which
// cancelling ctx closes (miekg/dns only honours its deadline).
func roundTrip(ctx context.Context, c *dns.Client, q *dns.Msg, server string) (*dns.Msg, error) {
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	return resp, err
}

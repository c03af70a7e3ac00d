// Package dnstest serves DNS from a zone in tests: a real server on
// 127.0.0.1 (UDP and TCP on one port) for code that takes [dns]
// nameservers, and an in-memory resolver for code that takes a
// dns.Resolver. Neither ever reaches the system resolver.
//
//	srv := dnstest.Start(t, `
//	example.org.    MX  10 mx.example.org.
//	mx.example.org. A   127.0.0.2
//	`)
//	cfg.DNS.Nameservers = []string{srv.Addr}
//
// The server answers as an authoritative server for the zone's data
// would (see dns.Zone.Reply), truncates UDP answers larger than the
// client's EDNS0 size (512 without EDNS0) so that clients retry over TCP,
// and can be told to fail: SERVFAIL or silence for a name.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	mdns "github.com/miekg/dns"

	"postfach/internal/dns"
)

// Resolver returns a resolver answering from zone (master file syntax)
// in memory. It fails the test if the zone does not parse.
func Resolver(t testing.TB, zone string) dns.Resolver {
	t.Helper()
	return dns.NewZoneResolver(Zone(t, zone))
}

// Zone parses zone (master file syntax), failing the test on error.
func Zone(t testing.TB, zone string) *dns.Zone {
	t.Helper()
	z, err := dns.ParseZoneString(zone)
	if err != nil {
		t.Fatalf("dnstest: zone: %v", err)
	}
	return z
}

// Server is a DNS server on 127.0.0.1 answering from a zone.
type Server struct {
	// Addr is "127.0.0.1:port", for [dns] nameservers.
	Addr string

	udp, tcp *mdns.Server
	queries  atomic.Int64

	mu     sync.Mutex
	zone   *dns.Zone
	faults map[string]Fault // by canonical name
}

// Fault is how the server misbehaves for a name.
type Fault int

const (
	// ServFail answers SERVFAIL.
	ServFail Fault = iota + 1
	// Refused answers REFUSED.
	Refused
	// Silent never answers: the client times out.
	Silent
)

// Start serves zone until the test ends.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{zone: Zone(t, zone), faults: map[string]Fault{}}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	// UDP and TCP on the same port: take a UDP port, then its TCP twin,
	// again if someone holds that.
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("dnstest: no port free for UDP and TCP: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	h := mdns.HandlerFunc(s.serve)
	s.udp = &mdns.Server{PacketConn: pc, Handler: h}
	s.tcp = &mdns.Server{Listener: ln, Handler: h}
	var started sync.WaitGroup
	started.Add(2)
	s.udp.NotifyStartedFunc = started.Done
	s.tcp.NotifyStartedFunc = started.Done
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	started.Wait()
	t.Cleanup(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// SetZone replaces the zone served.
func (s *Server) SetZone(t testing.TB, zone string) {
	t.Helper()
	z := Zone(t, zone)
	s.mu.Lock()
	s.zone = z
	s.mu.Unlock()
}

// Fail makes the server misbehave for name (any type); Fail(name, 0)
// heals it.
func (s *Server) Fail(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := mdns.CanonicalName(name)
	if f == 0 {
		delete(s.faults, n)
	} else {
		s.faults[n] = f
	}
}

// Queries returns how many queries the server received, over UDP and TCP.
func (s *Server) Queries() int { return int(s.queries.Load()) }

func (s *Server) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	s.queries.Add(1)
	s.mu.Lock()
	zone := s.zone
	var fault Fault
	if len(req.Question) == 1 {
		fault = s.faults[mdns.CanonicalName(req.Question[0].Name)]
	}
	s.mu.Unlock()
	var m *mdns.Msg
	switch fault {
	case Silent:
		return
	case ServFail:
		m = new(mdns.Msg)
		m.SetRcode(req, mdns.RcodeServerFailure)
	case Refused:
		m = new(mdns.Msg)
		m.SetRcode(req, mdns.RcodeRefused)
	default:
		m = zone.Reply(req)
	}
	if strings.HasPrefix(w.LocalAddr().Network(), "udp") {
		size := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(size, int(opt.UDPSize()))
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

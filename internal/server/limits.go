package server

import (
	"net"
	"net/netip"
	"sync"
)

// connLimiter bounds open connections in total and per client address.
type connLimiter struct {
	max, perIP int

	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

func newConnLimiter(max, perIP int) *connLimiter {
	return &connLimiter{max: max, perIP: perIP, byIP: make(map[netip.Addr]int)}
}

// acquire admits a connection from addr, returning the function that
// releases it, or false when a limit is reached.
func (l *connLimiter) acquire(addr net.Addr) (release func(), ok bool) {
	ip := netip.Addr{}
	if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max {
		return nil, false
	}
	if l.perIP > 0 && l.byIP[ip] >= l.perIP {
		return nil, false
	}
	l.total++
	l.byIP[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byIP[ip]--; l.byIP[ip] <= 0 {
				delete(l.byIP, ip)
			}
		})
	}, true
}

package guard

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
)

// BenchmarkAllowDone: the cost the guard adds to one login (no wait).
func BenchmarkAllowDone(b *testing.B) {
	g, err := New(Options{Policy: DefaultPolicy()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			user := "u" + strconv.Itoa(i&1023) + "@example.org"
			if g.Allow(ctx, a, user) == nil {
				g.Done(a, user, true)
			}
		}
	})
}

// BenchmarkBanned: the accept-time check, with 10,000 bans in force.
func BenchmarkBanned(b *testing.B) {
	g, err := New(Options{Policy: DefaultPolicy()})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), 32)
		g.banLocked(Ban{Prefix: p})
	}
	a := netip.MustParseAddr("203.0.113.9")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if g.Banned(a) {
				b.Fatal("banned")
			}
		}
	})
}

// FuzzParsePrefix: whatever ParsePrefix accepts is masked, IPv4 for
// IPv4-mapped input, and reads back as itself.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"192.0.2.7", "192.0.2.7/24", "::ffff:192.0.2.7/120", "2001:db8::1", "fe80::1%eth0", "::/0", "0.0.0.0/0", "::ffff:0:0/90"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err != nil {
			return
		}
		if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("ParsePrefix(%q) = %v: not normalized", s, p)
		}
		q, err := ParsePrefix(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePrefix(%q) = %v; reading it back gives %v, %v", s, p, q, err)
		}
	})
}

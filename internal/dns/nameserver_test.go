package dns_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/dns"
	"postfach/internal/dns/dnstest"
)

const nsZone = `
$ORIGIN example.org.
$TTL 300
@      SOA ns hostmaster 1 3600 600 86400 30
@      MX 10 mx
@      TXT "v=spf1 mx -all"
mx     A 127.0.0.2
alias  CNAME mx
far    CNAME target.other.test.
short  60 TXT "short-lived"
`

const otherZone = `
$ORIGIN other.test.
@      SOA ns hostmaster 1 3600 600 86400 30
target A 127.0.0.3
`

func lookupErr(t *testing.T, err error) *net.DNSError {
	t.Helper()
	de, ok := err.(*net.DNSError)
	if !ok {
		t.Fatalf("error %v is %T, want a bare *net.DNSError", err, err)
	}
	return de
}

func TestNameserverResolver(t *testing.T) {
	srv := dnstest.Start(t, nsZone+otherZone)
	r, err := dns.NewNameserverResolver([]string{srv.Addr}, dns.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	txt, err := r.LookupTXT(ctx, "example.org")
	if err != nil || !slices.Equal(txt, []string{"v=spf1 mx -all"}) {
		t.Fatalf("TXT: %q %v", txt, err)
	}
	mx, err := r.LookupMX(ctx, "Example.Org.")
	if err != nil || len(mx) != 1 || mx[0].Host != "mx.example.org." || mx[0].Pref != 10 {
		t.Fatalf("MX: %v %v", mx, err)
	}
	ips, err := r.LookupNetIP(ctx, "ip4", "alias.example.org")
	if err != nil || len(ips) != 1 || ips[0].String() != "127.0.0.2" {
		t.Fatalf("A via CNAME: %v %v", ips, err)
	}
	cname, err := r.LookupCNAME(ctx, "far.example.org")
	if err != nil || cname != "target.other.test." {
		t.Fatalf("CNAME: %q %v", cname, err)
	}
	ips, err = r.LookupNetIP(ctx, "ip", "far.example.org")
	if err != nil || len(ips) != 1 || ips[0].String() != "127.0.0.3" {
		t.Fatalf("A via CNAME in another zone: %v %v", ips, err)
	}

	// NXDOMAIN and NODATA are both "not found", never temporary.
	for _, name := range []string{"nosuch.example.org", "mx.example.org"} {
		_, err := r.LookupTXT(ctx, name)
		if de := lookupErr(t, err); !de.IsNotFound || de.IsTemporary || de.Name != name {
			t.Fatalf("%s: %+v", name, de)
		}
	}
	// A name outside what the server knows: REFUSED, which is temporary
	// (a resolver problem, not the domain owner's "no").
	_, err = r.LookupTXT(ctx, "unknown.test")
	if de := lookupErr(t, err); de.IsNotFound || !de.IsTemporary {
		t.Fatalf("refused: %+v", de)
	}
}

func TestNameserverCache(t *testing.T) {
	srv := dnstest.Start(t, nsZone)
	r, err := dns.NewNameserverResolver([]string{srv.Addr}, dns.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := r.LookupTXT(ctx, "example.org"); err != nil {
			t.Fatal(err)
		}
		r.LookupTXT(ctx, "nosuch.example.org") // negative, SOA minimum 30s
	}
	if n := srv.Queries(); n != 2 {
		t.Fatalf("%d queries for 2 questions asked 3 times", n)
	}
	// The cache holds what the server said, even after it changed.
	srv.SetZone(t, strings.Replace(nsZone, "v=spf1 mx -all", "changed", 1))
	txt, _ := r.LookupTXT(ctx, "example.org")
	if !slices.Equal(txt, []string{"v=spf1 mx -all"}) {
		t.Fatalf("cached TXT: %q", txt)
	}
	// Without a cache every question goes out.
	r2, _ := dns.NewNameserverResolver([]string{srv.Addr}, dns.Options{CacheSize: -1})
	before := srv.Queries()
	r2.LookupTXT(ctx, "example.org")
	txt, _ = r2.LookupTXT(ctx, "example.org")
	if srv.Queries()-before != 2 || !slices.Equal(txt, []string{"changed"}) {
		t.Fatalf("uncached: %d queries, %q", srv.Queries()-before, txt)
	}
}

func TestNameserverTruncationFallsBackToTCP(t *testing.T) {
	// 20 TXT records of 200 bytes: over the 1232-byte EDNS0 size.
	var b strings.Builder
	for i := range 20 {
		b.WriteString("big.test. TXT \"" + strings.Repeat(string(rune('a'+i)), 200) + "\"\n")
	}
	srv := dnstest.Start(t, b.String())
	r, _ := dns.NewNameserverResolver([]string{srv.Addr}, dns.Options{})
	txt, err := r.LookupTXT(context.Background(), "big.test")
	if err != nil || len(txt) != 20 {
		t.Fatalf("got %d records, %v", len(txt), err)
	}
	if srv.Queries() != 2 {
		t.Fatalf("%d queries, want UDP then TCP", srv.Queries())
	}
}

func TestNameserverFailover(t *testing.T) {
	good := dnstest.Start(t, nsZone)
	bad := dnstest.Start(t, nsZone)
	bad.Fail("example.org", dnstest.ServFail)
	silent := dnstest.Start(t, nsZone)
	silent.Fail("example.org", dnstest.Silent)
	opts := dns.Options{Timeout: 200 * time.Millisecond, CacheSize: -1}

	r, _ := dns.NewNameserverResolver([]string{bad.Addr, silent.Addr, good.Addr}, opts)
	for range 6 { // every rotation start reaches the good server
		txt, err := r.LookupTXT(context.Background(), "example.org")
		if err != nil || len(txt) != 1 {
			t.Fatalf("%q %v", txt, err)
		}
	}
	if bad.Queries() == 0 || good.Queries() < 6 {
		t.Fatalf("rotation: bad %d, good %d queries", bad.Queries(), good.Queries())
	}

	// SERVFAIL everywhere: temporary, after Attempts rounds.
	r, _ = dns.NewNameserverResolver([]string{bad.Addr}, dns.Options{Attempts: 3, CacheSize: -1})
	before := bad.Queries()
	_, err := r.LookupMX(context.Background(), "example.org")
	if de := lookupErr(t, err); !de.IsTemporary || de.IsNotFound || de.IsTimeout {
		t.Fatalf("servfail: %+v", de)
	}
	if n := bad.Queries() - before; n != 3 {
		t.Fatalf("%d tries, want 3", n)
	}

	// Silence: a temporary timeout.
	r, _ = dns.NewNameserverResolver([]string{silent.Addr}, opts)
	_, err = r.LookupTXT(context.Background(), "example.org")
	if de := lookupErr(t, err); !de.IsTemporary || !de.IsTimeout {
		t.Fatalf("timeout: %+v", de)
	}

	// A dead server (nothing listens): temporary.
	dead := deadAddr(t)
	r, _ = dns.NewNameserverResolver([]string{dead}, opts)
	_, err = r.LookupTXT(context.Background(), "example.org")
	if de := lookupErr(t, err); !de.IsTemporary {
		t.Fatalf("dead server: %+v", de)
	}

	// The caller's deadline wins over attempts and timeouts.
	r, _ = dns.NewNameserverResolver([]string{silent.Addr}, dns.Options{Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.LookupTXT(ctx, "example.org")
	if de := lookupErr(t, err); !de.IsTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("deadline: %+v after %v", de, time.Since(start))
	}
}

// deadAddr returns a loopback UDP address nothing listens on.
func deadAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestNew(t *testing.T) {
	srv := dnstest.Start(t, nsZone+otherZone)
	dir := t.TempDir()
	zonePath := filepath.Join(dir, "zone.txt")
	os.WriteFile(zonePath, []byte(`
example.org.      TXT "from the zone file"
file.test.        A 127.0.0.9
pointer.test.     CNAME mx.example.org.
$ORIGIN sealed.test.
@ SOA ns hostmaster 1 2 3 4 5
`), 0o644)
	ctx := context.Background()

	// Neither: the system resolver outside tests; in a test binary no
	// name exists, and the answer comes at once without the network.
	r, err := dns.New(config.DNS{})
	if err != nil || r == net.DefaultResolver {
		t.Fatalf("neither: %T %v", r, err)
	}
	var dnsErr *net.DNSError
	if _, err := r.LookupTXT(ctx, "example.net"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("neither: TXT example.net: %v", err)
	}

	// Zone file only: names outside it do not exist.
	r, err = dns.New(config.DNS{ZoneFile: zonePath})
	if err != nil {
		t.Fatal(err)
	}
	if txt, err := r.LookupTXT(ctx, "example.org"); err != nil || txt[0] != "from the zone file" {
		t.Fatalf("zone: %q %v", txt, err)
	}
	if _, err := r.LookupMX(ctx, "example.org"); !lookupErr(t, err).IsNotFound {
		t.Fatal(err)
	}
	if _, err := r.LookupMX(ctx, "other.test"); !lookupErr(t, err).IsNotFound {
		t.Fatal(err)
	}
	if srv.Queries() != 0 {
		t.Fatal("the zone file resolver asked a server")
	}

	// Both: the file answers for its names (NODATA included), the
	// nameservers for the rest; a CNAME from the file leads out.
	r, err = dns.New(config.DNS{ZoneFile: zonePath, Nameservers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	if txt, err := r.LookupTXT(ctx, "example.org"); err != nil || txt[0] != "from the zone file" {
		t.Fatalf("both, file: %q %v", txt, err)
	}
	if _, err := r.LookupMX(ctx, "example.org"); !lookupErr(t, err).IsNotFound {
		t.Fatalf("both, NODATA in the file: %v", err)
	}
	if ips, err := r.LookupNetIP(ctx, "ip", "mx.example.org"); err != nil || ips[0].String() != "127.0.0.2" {
		t.Fatalf("both, nameserver: %v %v", ips, err)
	}
	if ips, err := r.LookupNetIP(ctx, "ip", "pointer.test"); err != nil || ips[0].String() != "127.0.0.2" {
		t.Fatalf("both, CNAME out of the file: %v %v", ips, err)
	}
	// Under an SOA of the file, the file is authoritative: NXDOMAIN
	// without asking.
	before := srv.Queries()
	if _, err := r.LookupTXT(ctx, "x.sealed.test"); !lookupErr(t, err).IsNotFound || srv.Queries() != before {
		t.Fatalf("both, sealed: %v, %d queries", err, srv.Queries()-before)
	}

	// Nameservers only.
	r, err = dns.New(config.DNS{Nameservers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LookupTXT(ctx, "file.test"); err == nil {
		t.Fatal("nameservers only answered from the file")
	}

	// Errors.
	if _, err := dns.New(config.DNS{ZoneFile: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("missing zone file accepted")
	}
	if _, err := dns.New(config.DNS{Nameservers: []string{"no-port"}}); err == nil {
		t.Fatal("nameserver without port accepted")
	}
}

func TestDNSTestResolver(t *testing.T) {
	r := dnstest.Resolver(t, "a.test. TXT \"x\"\n")
	if txt, err := r.LookupTXT(context.Background(), "a.test"); err != nil || txt[0] != "x" {
		t.Fatal(txt, err)
	}
	_, err := r.LookupTXT(context.Background(), "b.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Fatal(err)
	}
}

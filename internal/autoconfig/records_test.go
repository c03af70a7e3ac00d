package autoconfig

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/dns"
	"postfach/internal/dns/dnstest"
)

// testDKIM is the key record of a fixed Ed25519 key.
func testDKIM(seed byte) DKIMKey {
	pub := ed25519.NewKeyFromSeed(make32(seed)).Public().(ed25519.PublicKey)
	return DKIMKey{Selector: "pf202611e", TXT: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

func make32(b byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = b
	}
	return s
}

func testRecordsOptions() RecordsOptions {
	return RecordsOptions{
		Domain:   "example.org",
		Hostname: "mail.example.org",
		Services: []Service{
			{Listener: "imaps", Protocol: IMAP, Port: 993},
			{Listener: "imap", Protocol: IMAP, Security: STARTTLS, Port: 143},
			{Listener: "submissions", Protocol: SMTP, Port: 465},
			{Listener: "submission", Protocol: SMTP, Security: STARTTLS, Port: 587},
		},
		HTTP: true, HTTPS: true,
		DKIM:      []DKIMKey{testDKIM(1)},
		Policy:    Policy{Mode: "enforce", MX: []string{"mail.example.org"}, MaxAge: 7 * 24 * time.Hour},
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")},
	}
}

// goodZone publishes everything Records asks for, in its own words where
// that is allowed (an SPF record that names the address, an alias by
// address instead of CNAME).
func goodZone(o RecordsOptions) string {
	return fmt.Sprintf(`
example.org.              3600 IN MX    10 mail.example.org.
mail.example.org.         3600 IN A     192.0.2.10
mail.example.org.         3600 IN AAAA  2001:db8::10
example.org.              3600 IN TXT   "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/64 -all"
example.org.              3600 IN TXT   "google-site-verification=x"
mail.example.org.         3600 IN TXT   "v=spf1 a -all"
pf202611e._domainkey.example.org. 3600 IN TXT "v=DKIM1; k=ed25519; " "p=%s"
_dmarc.example.org.       3600 IN TXT   "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"
_imaps._tcp.example.org.  3600 IN SRV   0 1 993 mail.example.org.
_imap._tcp.example.org.   3600 IN SRV   10 1 143 mail.example.org.
_pop3s._tcp.example.org.  3600 IN SRV   0 0 0 .
_pop3._tcp.example.org.   3600 IN SRV   0 0 0 .
_submissions._tcp.example.org. 3600 IN SRV 0 1 465 mail.example.org.
_submission._tcp.example.org.  3600 IN SRV 10 1 587 mail.example.org.
autoconfig.example.org.   3600 IN CNAME mail.example.org.
autodiscover.example.org. 3600 IN CNAME mail.example.org.
_autodiscover._tcp.example.org. 3600 IN SRV 0 1 443 mail.example.org.
mta-sts.example.org.      3600 IN A     192.0.2.10
mta-sts.example.org.      3600 IN AAAA  2001:db8::10
_mta-sts.example.org.     3600 IN TXT   "v=STSv1; id=%s"
_smtp._tls.example.org.   3600 IN TXT   "v=TLSRPTv1; rua=mailto:tls@example.org"
10.2.0.192.in-addr.arpa.  3600 IN PTR   mail.example.org.
%s 3600 IN PTR mail.example.org.
`, strings.TrimPrefix(o.DKIM[0].TXT, "v=DKIM1; k=ed25519; p="), o.Policy.ID(), reverseName(netip.MustParseAddr("2001:db8::10")))
}

func TestCheckRecordsAllGood(t *testing.T) {
	o := testRecordsOptions()
	res := dnstest.Resolver(t, goodZone(o))
	results := CheckRecords(context.Background(), res, Records(o))
	for _, r := range results {
		if r.Status != StatusOK || r.Severity() != 0 {
			t.Errorf("%s %s: %v %s", r.Record.Name, r.Record.Type, r.Status, r.Detail)
		}
	}
	if len(results) != 21 {
		t.Errorf("%d results", len(results))
	}
}

func TestCheckRecordsProblems(t *testing.T) {
	o := testRecordsOptions()
	zone := goodZone(o)
	edit := func(old, new string) {
		t.Helper()
		if !strings.Contains(zone, old) {
			t.Fatalf("zone lacks %q", old)
		}
		zone = strings.Replace(zone, old, new, 1)
	}
	// MX elsewhere; SPF that leaves the IPv6 address out; another DKIM
	// key; DMARC p=none; a POP3 record for a service that is off; a
	// submission port that is wrong; the _imaps record missing; an alias
	// to another address; an old MTA-STS id; no TLS-RPT; a PTR naming
	// another host.
	edit("10 mail.example.org.", "10 mx.other.example.")
	edit("ip6:2001:db8::/64 ", "")
	edit(strings.TrimPrefix(o.DKIM[0].TXT, "v=DKIM1; k=ed25519; p="), strings.TrimPrefix(testDKIM(2).TXT, "v=DKIM1; k=ed25519; p="))
	edit("p=quarantine", "p=none")
	edit("_pop3._tcp.example.org.   3600 IN SRV   0 0 0 .", "_pop3._tcp.example.org. 3600 IN SRV 0 1 110 mail.example.org.")
	edit("10 1 587 mail.example.org.", "10 1 2587 mail.example.org.")
	edit("_imaps._tcp.example.org.  3600 IN SRV   0 1 993 mail.example.org.", "")
	edit("autodiscover.example.org. 3600 IN CNAME mail.example.org.", "autodiscover.example.org. 3600 IN A 192.0.2.99")
	edit("id="+o.Policy.ID(), "id=20260101")
	edit(`_smtp._tls.example.org.   3600 IN TXT   "v=TLSRPTv1; rua=mailto:tls@example.org"`, "")
	zone = strings.Replace(zone, reverseName(netip.MustParseAddr("2001:db8::10"))+" 3600 IN PTR mail.example.org.", reverseName(netip.MustParseAddr("2001:db8::10"))+" 3600 IN PTR host.provider.example.", 1)

	res := dnstest.Resolver(t, zone)
	results := CheckRecords(context.Background(), res, Records(o))
	type key struct{ name, typ string }
	got := map[key]Result{}
	worst := 0
	for _, r := range results {
		k := key{r.Record.Name, r.Record.Type}
		if r.Record.Kind == KindPTR || r.Record.Kind == KindAddress {
			k.name += " " + r.Record.Addr.String()
		}
		got[k] = r
		worst = max(worst, r.Severity())
	}
	for _, tc := range []struct {
		name, typ string
		status    Status
		detail    string
	}{
		{"example.org.", "MX", StatusWrong, "MX is 10 mx.other.example."},
		{"mail.example.org. 192.0.2.10", "A", StatusOK, "192.0.2.10, 2001:db8::10"},
		{"example.org.", "TXT", StatusWrong, "gives fail for 2001:db8::10"},
		{"mail.example.org.", "TXT", StatusOK, "passes for 192.0.2.10, 2001:db8::10"},
		{"pf202611e._domainkey.example.org.", "TXT", StatusWrong, "differs from the server's"},
		{"_dmarc.example.org.", "TXT", StatusWeak, "p=none only monitors"},
		{"_imaps._tcp.example.org.", "SRV", StatusMissing, "not published"},
		{"_imap._tcp.example.org.", "SRV", StatusOK, "143 mail.example.org."},
		{"_pop3s._tcp.example.org.", "SRV", StatusOK, "0 ."},
		{"_pop3._tcp.example.org.", "SRV", StatusWrong, "which the server does not offer"},
		{"_submission._tcp.example.org.", "SRV", StatusWrong, "points to 2587 mail.example.org.; want port 587"},
		{"autoconfig.example.org.", "CNAME", StatusOK, "CNAME mail.example.org."},
		{"autodiscover.example.org.", "CNAME", StatusWrong, "resolves to 192.0.2.99"},
		{"mta-sts.example.org.", "CNAME", StatusOK, "same addresses as mail.example.org."},
		{"_mta-sts.example.org.", "TXT", StatusWrong, "the served policy's id is " + o.Policy.ID()},
		{"_smtp._tls.example.org.", "TXT", StatusMissing, "not published"},
		{reverseName(netip.MustParseAddr("192.0.2.10")) + " 192.0.2.10", "PTR", StatusOK, "name mail.example.org."},
		{reverseName(netip.MustParseAddr("2001:db8::10")) + " 2001:db8::10", "PTR", StatusWrong, "names host.provider.example."},
	} {
		r, ok := got[key{tc.name, tc.typ}]
		if !ok {
			t.Errorf("no result for %s %s", tc.name, tc.typ)
			continue
		}
		if r.Status != tc.status || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("%s %s: %v %q, want %v containing %q", tc.name, tc.typ, r.Status, r.Detail, tc.status, tc.detail)
		}
	}
	// Required ones: MX, SPF, DKIM, PTR are wrong: failure.
	if worst != 2 {
		t.Errorf("worst severity %d", worst)
	}
	if r := got[key{"_smtp._tls.example.org.", "TXT"}]; r.Severity() != 1 {
		t.Errorf("optional TLS-RPT missing: severity %d", r.Severity())
	}
	if r := got[key{"_dmarc.example.org.", "TXT"}]; r.Severity() != 1 {
		t.Errorf("weak DMARC: severity %d", r.Severity())
	}
}

// Without any zone data every record is missing, and a failing server
// is an error, not "missing".
func TestCheckRecordsNothingPublished(t *testing.T) {
	o := testRecordsOptions()
	srv := dnstest.Start(t, "example.org. 3600 IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300\n")
	srv.Fail("_dmarc.example.org", dnstest.ServFail)
	res, err := dns.NewWithOptions(config.DNS{Nameservers: []string{srv.Addr}}, dns.Options{Timeout: time.Second, Attempts: 1, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range CheckRecords(context.Background(), res, Records(o)) {
		want := StatusMissing
		switch {
		case r.Record.Name == "_dmarc.example.org.":
			want = StatusError
		case r.Record.Kind == KindPTR || r.Record.Kind == KindSPF || r.Record.Kind == KindSPFHelo:
			// Not published, or nothing to evaluate them for.
			if r.Status == StatusMissing || r.Status == StatusError {
				want = r.Status
			}
		}
		if r.Status != want {
			t.Errorf("%s %s: %v %s, want %v", r.Record.Name, r.Record.Type, r.Status, r.Detail, want)
		}
		if r.Record.Required && r.Severity() != 2 || !r.Record.Required && r.Severity() != 1 {
			t.Errorf("%s: severity %d", r.Record.Name, r.Severity())
		}
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10":   "10.2.0.192.in-addr.arpa.",
		"2001:db8::10": "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	} {
		if got := reverseName(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestQuoteTXT(t *testing.T) {
	long := strings.Repeat("a", 300)
	if got := quoteTXT(long); got != `( "`+strings.Repeat("a", 255)+`" "`+strings.Repeat("a", 45)+`" )` {
		t.Errorf("long: %s", got)
	}
	if got := quoteTXT(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("escapes: %s", got)
	}
}

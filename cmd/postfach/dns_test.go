package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// dnsConfig writes a configuration whose listeners name a public
// address (so that the records can name it), with MTA-STS enforced, and
// returns its path. Nothing binds these addresses: dns only reads them.
func dnsConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "postfach.toml")
	err := os.WriteFile(path, []byte(`
hostname = "mail.example.org"
data_dir = "data"

[listen]
imaps = "192.0.2.10:993"
imap = "192.0.2.10:143"
submissions = "192.0.2.10:465"
submission = "192.0.2.10:587"
smtp = "192.0.2.10:25"
https = "192.0.2.10:443"

[auth]
time = 1
memory_kib = 64
threads = 1

[mta_sts]
mode = "enforce"
`+extra), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// writeDKIMKey makes a fixed Ed25519 key the domain's only DKIM key
// (domain add generated random ones).
func writeDKIMKey(t *testing.T, dataDir, domain, selector string, seed byte) {
	t.Helper()
	removeDKIMKeys(t, dataDir, domain)
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(s))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dataDir, "dkim", domain)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, selector+".pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// removeDKIMKeys deletes the domain's DKIM keys.
func removeDKIMKeys(t *testing.T, dataDir, domain string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dataDir, "dkim", domain)); err != nil {
		t.Fatal(err)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestDNSRecordsGolden(t *testing.T) {
	cfg := dnsConfig(t, "")
	postfach(t, nil, "", "--config", cfg, "domain", "add", "example.org").expect(t, 0)
	writeDKIMKey(t, filepath.Join(filepath.Dir(cfg), "data"), "example.org", "pf202611e", 7)
	r := postfach(t, nil, "", "--config", cfg, "dns", "example.org")
	r.expect(t, 0)
	golden(t, "dns-example.org.zone", r.stdout)
}

func TestDNSWithoutKeysOrDomain(t *testing.T) {
	cfg := dnsConfig(t, "")
	postfach(t, nil, "", "--config", cfg, "domain", "add", "example.org").expect(t, 0)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	removeDKIMKeys(t, dataDir, "example.org")
	postfach(t, nil, "", "--config", cfg, "dns", "Example.ORG.").expect(t, 0,
		"out:; DKIM: example.org has no keys yet (in "+filepath.Join(dataDir, "dkim", "example.org")+")",
		"out:postfach dkim generate example.org",
		"out:example.org.", "out:MX    10 mail.example.org.")
	postfach(t, nil, "", "--config", cfg, "dns", "other.example").expect(t, 0,
		"err:domain other.example does not exist here", "out:other.example. ")
	postfach(t, nil, "", "--config", cfg, "dns", "not a domain").expect(t, 2, "err:is not a domain name")
	postfach(t, nil, "", "--config", cfg, "dns").expect(t, 2, "err:missing DOMAIN")
}

// zoneFor is what an operator publishes after reading postfach dns:
// the records, with the hints filled in.
const dnsCheckZone = `
example.org.              3600 IN SOA   ns.example.org. hostmaster.example.org. 1 3600 600 86400 300
example.org.              3600 IN MX    10 mail.example.org.
mail.example.org.         3600 IN A     192.0.2.10
example.org.              3600 IN TXT   "v=spf1 mx -all"
mail.example.org.         3600 IN TXT   "v=spf1 a -all"
_dmarc.example.org.       3600 IN TXT   "v=DMARC1; p=reject; rua=mailto:postmaster@example.org"
_imaps._tcp.example.org.  3600 IN SRV   0 1 993 mail.example.org.
_imap._tcp.example.org.   3600 IN SRV   10 1 143 mail.example.org.
_pop3s._tcp.example.org.  3600 IN SRV   0 0 0 .
_pop3._tcp.example.org.   3600 IN SRV   0 0 0 .
_submissions._tcp.example.org. 3600 IN SRV 0 1 465 mail.example.org.
_submission._tcp.example.org.  3600 IN SRV 10 1 587 mail.example.org.
autoconfig.example.org.   3600 IN CNAME mail.example.org.
autodiscover.example.org. 3600 IN CNAME mail.example.org.
_autodiscover._tcp.example.org. 3600 IN SRV 0 1 443 mail.example.org.
mta-sts.example.org.      3600 IN CNAME mail.example.org.
_smtp._tls.example.org.   3600 IN TXT   "v=TLSRPTv1; rua=mailto:postmaster@example.org"
10.2.0.192.in-addr.arpa.  3600 IN PTR   mail.example.org.
`

func TestDNSCheck(t *testing.T) {
	cfg := dnsConfig(t, "\n[dns]\nzone_file = \"zone.txt\"\n")
	zoneFile := filepath.Join(filepath.Dir(cfg), "zone.txt")
	postfach(t, nil, "", "--config", cfg, "domain", "add", "example.org").expect(t, 0)
	writeDKIMKey(t, filepath.Join(filepath.Dir(cfg), "data"), "example.org", "pf202611e", 7)

	// Take the DKIM and MTA-STS records from postfach dns itself.
	zone := postfach(t, nil, "", "--config", cfg, "dns", "example.org").stdout
	var dkim, sts string
	for _, l := range strings.Split(zone, "\n") {
		switch {
		case strings.HasPrefix(l, "pf202611e._domainkey."):
			dkim = l
		case strings.HasPrefix(l, "_mta-sts."):
			sts = l
		}
	}
	if dkim == "" || sts == "" {
		t.Fatalf("no DKIM or MTA-STS record in\n%s", zone)
	}
	write := func(z string) {
		t.Helper()
		if err := os.WriteFile(zoneFile, []byte(z), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(dnsCheckZone + dkim + "\n" + sts + "\n")
	r := postfach(t, nil, "", "--config", cfg, "dns", "check", "example.org")
	r.expect(t, 0, "out:postfach dns check example.org: 19 records: 19 ok", "out:Verdict: all records are right (exit status 0)")

	// An optional record missing: a warning.
	write(strings.Replace(dnsCheckZone, "_smtp._tls.", "_smtp-old._tls.", 1) + dkim + "\n" + sts + "\n")
	r = postfach(t, nil, "", "--config", cfg, "dns", "check", "example.org")
	r.expect(t, 1, "out:MISSING  TXT    _smtp._tls.example.org.", "out:(optional)")

	// Required ones missing or wrong: a failure, each line saying what
	// to publish.
	bad := strings.Replace(dnsCheckZone, "10 mail.example.org.", "10 mx.elsewhere.example.", 1)
	bad = strings.Replace(bad, `"v=DMARC1; p=reject;`, `"v=DMARC1; p=none;`, 1)
	write(bad + sts + "\n") // no DKIM
	r = postfach(t, nil, "", "--config", cfg, "dns", "check", "example.org")
	r.expect(t, 2,
		"out:WRONG    MX     example.org.",
		"out:MX is 10 mx.elsewhere.example.; want mail.example.org.; want: MX 10 mail.example.org.",
		"out:WRONG    TXT    example.org.", "out:gives fail for 192.0.2.10",
		"out:MISSING  TXT    pf202611e._domainkey.example.org.",
		"out:WEAK     TXT    _dmarc.example.org.",
		"out:Verdict: failures: required records are missing or wrong (exit status 2)")
}

package mailauth

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"postfach/internal/dns"
	"postfach/internal/dns/dnstest"
	"postfach/internal/mime"
)

// fixture is a data directory with DKIM keys for some domains and a
// signer using them.
type fixture struct {
	dataDir string
	signer  *Signer
	keys    map[string][]*Key // by domain
}

// newFixture generates keys for domains (RSA 2048 and Ed25519 each).
func newFixture(t testing.TB, domains ...string) *fixture {
	t.Helper()
	f := &fixture{dataDir: t.TempDir(), keys: map[string][]*Key{}}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, d := range domains {
		keys, err := GenerateKeys(f.dataDir, d, now)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[d] = keys
	}
	f.signer = NewSigner(f.dataDir)
	return f
}

// records returns the key records of domains in master file syntax, as
// `postfach dkim` prints them.
func (f *fixture) records(domains ...string) string {
	var b strings.Builder
	for _, d := range domains {
		for _, k := range f.keys[d] {
			b.WriteString(k.Record().String() + "\n")
		}
	}
	return b.String()
}

// sign returns msg with the DKIM-Signature fields of domain prepended.
func (f *fixture) sign(t testing.TB, domain string, msg []byte) []byte {
	t.Helper()
	h, err := f.signer.Sign(context.Background(), domain, bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(h), msg...)
}

// message builds a small message from the header lines given.
func message(header ...string) []byte {
	var b strings.Builder
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Date: Thu, 26 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nSubject: Test\r\n\r\nHello.\r\n\r\n")
	return []byte(b.String())
}

// flaky wraps a resolver and fails lookups of the names in temp with a
// temporary error (SERVFAIL), which a zone cannot express.
type flaky struct {
	dns.Resolver
	temp map[string]bool
}

func (f flaky) fail(name string) error {
	if f.temp[strings.TrimSuffix(strings.ToLower(name), ".")] {
		return &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return nil
}

func (f flaky) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := f.fail(name); err != nil {
		return nil, err
	}
	return f.Resolver.LookupTXT(ctx, name)
}

func (f flaky) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := f.fail(name); err != nil {
		return nil, err
	}
	return f.Resolver.LookupMX(ctx, name)
}

func (f flaky) LookupIPAddr(ctx context.Context, name string) ([]net.IPAddr, error) {
	if err := f.fail(name); err != nil {
		return nil, err
	}
	return f.Resolver.LookupIPAddr(ctx, name)
}

// verifier returns a Verifier on zone, with lookups of temp names failing
// temporarily.
func verifier(t testing.TB, zone string, temp ...string) *Verifier {
	t.Helper()
	fl := flaky{Resolver: dnstest.Resolver(t, zone), temp: map[string]bool{}}
	for _, n := range temp {
		fl.temp[n] = true
	}
	v, err := NewVerifier(VerifierOptions{Resolver: fl, AuthServID: "mx.postfach.test"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// input is an Input for msg from ip.
func input(ip, helo, mailFrom string, msg []byte) Input {
	return Input{RemoteIP: netip.MustParseAddr(ip), HELO: helo, MailFrom: mailFrom, Message: bytes.NewReader(msg), Size: int64(len(msg))}
}

type mimeField = mime.Field

// field builds a header field.
func field(name, value string) mime.Field {
	return mime.Field{Name: name, Raw: []byte(name + ": " + value + "\r\n")}
}

// parseAuthResults parses a header field as written by formatAuthResults
// with go-msgauth's parser, an independent reading.
func parseAuthResults(field string) (string, []authres.Result, error) {
	v, ok := strings.CutPrefix(field, "Authentication-Results: ")
	if !ok || !strings.HasSuffix(v, "\r\n") {
		return "", nil, fmt.Errorf("not a header field: %q", field)
	}
	// Unfold (RFC 5322 section 2.2.3).
	v = strings.NewReplacer("\r\n\t", " ", "\r\n ", " ").Replace(strings.TrimSuffix(v, "\r\n"))
	return authres.Parse(v)
}

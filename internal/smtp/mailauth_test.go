package smtp

import (
	"strings"
	"testing"
	"time"

	"postfach/internal/dns/dnstest"
	"postfach/internal/mailauth"
)

// TestRealMailAuth runs submission and the MX with the real DKIM signer
// and verifier over fixed DNS data: what alice submits is signed with
// RSA and Ed25519, and the same message arriving at the MX passes SPF,
// DKIM and DMARC; mail claiming domains whose DMARC policy it fails is
// refused or goes to Junk, as the policy says.
func TestRealMailAuth(t *testing.T) {
	keyDir := t.TempDir()
	keys, err := mailauth.GenerateKeys(keyDir, "example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	zone := `
example.org.        TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.example.org. TXT "v=DMARC1; p=reject"
bank.test.          TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.bank.test.   TXT "v=DMARC1; p=reject"
shop.test.          TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.shop.test.   TXT "v=DMARC1; p=quarantine"
`
	for _, k := range keys {
		zone += k.Record().String() + "\n"
	}
	verifier, err := mailauth.NewVerifier(mailauth.VerifierOptions{Resolver: dnstest.Resolver(t, zone), AuthServID: testHost})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{verifier: verifier, signer: mailauth.NewSigner(keyDir)})

	c := e.login("alice@example.org")
	c.do("MAIL FROM:<alice@example.org>", "250")
	c.do("RCPT TO:<bob@example.org>", "250")
	c.data("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: signed\r\n\r\nHello Bob.\r\n", "250 2.0.0 Delivered")
	b := e.mailbox("bob@example.org", "INBOX")
	if len(b) != 1 || strings.Count(b[0], "DKIM-Signature:") != 2 || !strings.Contains(b[0], "a=ed25519-sha256") || !strings.Contains(b[0], "a=rsa-sha256") {
		t.Fatalf("bob's copy is not signed twice:\n%q", b)
	}
	signed := strings.TrimPrefix(b[0], "Return-Path: <alice@example.org>\r\n")

	// The same message, as another server's MX would get it from us.
	m := e.dial(MX)
	m.expect("220 ")
	m.do("EHLO mail.example.org", "250 ")
	m.do("MAIL FROM:<alice@example.org>", "250")
	m.do("RCPT TO:<carol@example.net>", "250")
	m.data(signed, "250 2.0.0 Delivered")
	got := e.mailbox("carol@example.net", "INBOX")
	if len(got) != 1 {
		t.Fatalf("carol has %d messages", len(got))
	}
	for _, want := range []string{"Authentication-Results: " + testHost, "spf=pass", "dkim=pass", "dmarc=pass"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("carol's copy lacks %q:\n%s", want, got[0])
		}
	}

	// Claiming bank.test from here fails its DMARC policy of reject;
	// shop.test's quarantine sends it to Junk.
	m.do("MAIL FROM:<ceo@bank.test>", "250")
	m.do("RCPT TO:<bob@example.org>", "250")
	m.data("From: CEO <ceo@bank.test>\r\nSubject: wire the money\r\n\r\nnow\r\n", "550 5.7.1")
	m.do("MAIL FROM:<deals@shop.test>", "250")
	m.do("RCPT TO:<bob@example.org>", "250")
	m.data("From: Deals <deals@shop.test>\r\nSubject: cheap\r\n\r\nbuy\r\n", "250 2.0.0")
	if junk := e.mailbox("bob@example.org", "Junk"); len(junk) != 1 || !strings.Contains(junk[0], "dmarc=fail") {
		t.Errorf("bob's Junk holds %q", junk)
	}
	if n := len(e.mailbox("bob@example.org", "INBOX")); n != 1 {
		t.Errorf("bob's INBOX holds %d messages", n)
	}
}

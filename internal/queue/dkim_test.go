package queue

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"postfach/internal/dns/dnstest"
	"postfach/internal/mailauth"
)

// A message DKIM-signed at submission arrives with signatures that
// verify: the queue sends the content exactly as it was signed (dot
// stuffing, line endings, 8-bit octets), with both RSA and Ed25519.
func TestDKIMSignatureVerifiesOnArrival(t *testing.T) {
	keyDir := t.TempDir()
	keys, err := mailauth.GenerateKeys(keyDir, "local.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	zone := testZone
	for _, k := range keys {
		zone += k.Record().String() + "\n"
	}
	e := newEnv(t, envOptions{zone: zone})

	msg := []byte("From: Alice <alice@local.test>\r\nTo: <bob@remote.test>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <dkim@local.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		".a line with a leading dot\r\n..two dots\r\n.\r\nSch\xc3\xb6n.\r\n\r\n\r\n")
	signer := mailauth.NewSigner(keyDir)
	sig, err := signer.Sign(context.Background(), "local.test", bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	signed := append([]byte(sig), msg...)
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test"}}}, signed)
	e.waitGone(id)
	got := e.remote.messages()
	if len(got) != 1 {
		t.Fatalf("remote got %d messages", len(got))
	}
	if !bytes.Equal(got[0].data, signed) {
		t.Fatalf("content changed on the way:\n%q\nwant\n%q", got[0].data, signed)
	}
	v, err := mailauth.NewVerifier(mailauth.VerifierOptions{Resolver: dnstest.Resolver(t, zone), AuthServID: "mx.remote.test"})
	if err != nil {
		t.Fatal(err)
	}
	res := v.Verify(context.Background(), mailauth.Input{
		RemoteIP: netip.MustParseAddr("127.0.0.1"), HELO: got[0].helo, MailFrom: got[0].from,
		Message: bytes.NewReader(got[0].data), Size: int64(len(got[0].data)),
	})
	if len(res.DKIM) != 2 {
		t.Fatalf("DKIM results %+v, want two signatures", res.DKIM)
	}
	algs := map[string]bool{}
	for _, d := range res.DKIM {
		if d.Status != mailauth.StatusPass || d.Domain != "local.test" {
			t.Errorf("DKIM %s: %s (%s)", d.Algorithm, d.Status, d.Detail)
		}
		algs[d.Algorithm] = true
	}
	if !algs["rsa-sha256"] || !algs["ed25519-sha256"] {
		t.Errorf("algorithms %v, want RSA and Ed25519", algs)
	}
	if !strings.Contains(res.Header, "dkim=pass") {
		t.Errorf("Authentication-Results %q", res.Header)
	}
}

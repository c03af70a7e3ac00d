package queue

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

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

// DSNs we send out are signed with the keys of the host name's nearest
// domain that has some, so that they pass DMARC at the sender's server.
func TestDSNIsDKIMSigned(t *testing.T) {
	keyDir := t.TempDir()
	keys, err := mailauth.GenerateKeys(keyDir, "local.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	zone := testZone
	for _, k := range keys {
		zone += k.Record().String() + "\n"
	}
	e := newEnv(t, envOptions{zone: zone, opts: func(o *Options) { o.Signer = mailauth.NewSigner(keyDir) }})
	e.remote.setRcptReply(func(to string) error {
		if to == "gone@remote.test" {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "gone"}
		}
		return nil
	})
	id := e.enqueue("sender@remote.test", "gone@remote.test")
	e.waitGone(id)
	waitFor(t, "the DSN at the remote", func() bool { return len(e.remote.messages()) == 1 })
	got := e.remote.messages()[0]
	checkDSN(t, got.data, "failed", "5.1.1")
	v, err := mailauth.NewVerifier(mailauth.VerifierOptions{Resolver: dnstest.Resolver(t, zone), AuthServID: "mx.remote.test"})
	if err != nil {
		t.Fatal(err)
	}
	res := v.Verify(context.Background(), mailauth.Input{RemoteIP: netip.MustParseAddr("127.0.0.1"), HELO: got.helo, Message: bytes.NewReader(got.data), Size: int64(len(got.data))})
	if len(res.DKIM) != 2 || res.DKIM[0].Status != mailauth.StatusPass || res.DKIM[1].Status != mailauth.StatusPass || res.DKIM[0].Domain != "local.test" {
		t.Errorf("DKIM of the DSN: %+v", res.DKIM)
	}
}

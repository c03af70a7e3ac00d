package mailauth

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// benchMessage is a 10 KB message, the size of the throughput
// figure.
func benchMessage() []byte {
	var b strings.Builder
	b.WriteString("From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Benchmark\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < 10*1024 {
		b.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return []byte(b.String())
}

// BenchmarkSign signs a 10 KB message with both keys (RSA 2048 and
// Ed25519).
func BenchmarkSign(b *testing.B) {
	f := newFixture(b, "example.org")
	msg := benchMessage()
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.signer.Sign(ctx, "example.org", bytes.NewReader(msg), int64(len(msg))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies a dual-signed 10 KB message: SPF pass, two
// DKIM passes, DMARC pass, DNS answered from memory (so the figure is
// the CPU cost; real DNS adds its round trips, run concurrently).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, "example.org")
	zone := f.records("example.org") + `
example.org. TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.example.org. TXT "v=DMARC1; p=reject"
`
	v := verifier(b, zone)
	msg := f.sign(b, "example.org", benchMessage())
	in := input("192.0.2.1", "client.test", "alice@example.org", msg)
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		res := v.Verify(ctx, in)
		if res.DMARC.Status != StatusPass || len(res.DKIM) != 2 {
			b.Fatalf("%+v", res)
		}
	}
}

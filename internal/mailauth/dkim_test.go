package mailauth

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"postfach/internal/dns/dnstest"
)

func TestDKIMDecisionTable(t *testing.T) {
	f := newFixture(t, "example.org")
	rsaKey, edKey := f.keys["example.org"][0], f.keys["example.org"][1]
	if rsaKey.Algorithm != AlgRSA || edKey.Algorithm != AlgEd25519 {
		t.Fatalf("keys: %s %s", rsaKey.Algorithm, edKey.Algorithm)
	}
	rsaRec, edRec := rsaKey.Record().String(), edKey.Record().String()
	// The RSA key under the Ed25519 selector, nothing under the RSA one.
	wrong := rsaKey.Record()
	wrong.Name = edKey.Selector + "._domainkey.example.org."
	wrongKey := wrong.String() + "\n"
	revoked := `pf202611r._domainkey.example.org. TXT "v=DKIM1; k=rsa; p="` + "\n"
	msg := message("From: Alice <alice@example.org>", "To: bob@example.net")
	signed := f.sign(t, "example.org", msg)

	for _, tc := range []struct {
		name string
		zone string
		temp []string
		msg  []byte
		want []Status // RSA, then Ed25519
	}{
		{"valid", rsaRec + edRec, nil, signed, []Status{StatusPass, StatusPass}},
		{"body changed", rsaRec + edRec, nil, bytes.Replace(signed, []byte("Hello."), []byte("Hallo."), 1), []Status{StatusFail, StatusFail}},
		{"body appended", rsaRec + edRec, nil, append(slices.Clip(signed), "P.S. buy now\r\n"...), []Status{StatusFail, StatusFail}},
		{"signed header changed", rsaRec + edRec, nil, bytes.Replace(signed, []byte("Subject: Test"), []byte("Subject: Tess"), 1), []Status{StatusFail, StatusFail}},
		{"From added (oversigned)", rsaRec + edRec, nil, bytes.Replace(signed, []byte("From: Alice"), []byte("From: evil@attacker.test\r\nFrom: Alice"), 1), []Status{StatusFail, StatusFail}},
		{"unsigned header added", rsaRec + edRec, nil, bytes.Replace(signed, []byte("Subject: Test"), []byte("Subject: Test\r\nX-Mailer: any"), 1), []Status{StatusPass, StatusPass}},
		{"relaxed: whitespace and case", rsaRec + edRec, nil, bytes.Replace(bytes.Replace(signed, []byte("Subject: Test"), []byte("SUBJECT:   Test  "), 1), []byte("Hello.\r\n"), []byte("Hello.   \r\n\r\n\r\n"), 1), []Status{StatusPass, StatusPass}},
		{"RSA key missing", edRec, nil, signed, []Status{StatusPermError, StatusPass}},
		{"no keys", "", nil, signed, []Status{StatusPermError, StatusPermError}},
		{"RSA key revoked", revoked + edRec, nil, signed, []Status{StatusPermError, StatusPass}},
		{"key lookup fails", rsaRec + edRec, []string{rsaKey.Selector + "._domainkey.example.org"}, signed, []Status{StatusTempError, StatusPass}},
		{"wrong key published", wrongKey, nil, signed, []Status{StatusPermError, StatusPermError}},
		{"unsigned", rsaRec + edRec, nil, msg, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier(t, tc.zone, tc.temp...)
			res := v.Verify(context.Background(), input("192.0.2.1", "client.test", "alice@example.org", tc.msg))
			var got []Status
			for _, d := range res.DKIM {
				got = append(got, d.Status)
				if d.Domain != "example.org" || d.Identifier != "@example.org" || len(d.B) != 8 {
					t.Errorf("result fields: %+v", d)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v (%+v)", got, tc.want, res.DKIM)
			}
			if len(got) > 0 && (res.DKIM[0].Algorithm != "rsa-sha256" || res.DKIM[1].Algorithm != "ed25519-sha256" || res.DKIM[0].Selector != "pf202611r") {
				t.Fatalf("fields: %+v", res.DKIM)
			}
			// The header field reports each signature.
			_, results, err := parseAuthResults(res.Header)
			if err != nil {
				t.Fatalf("header %q: %v", res.Header, err)
			}
			var fromHeader []string
			for _, r := range results {
				if d, ok := r.(*authres.DKIMResult); ok {
					fromHeader = append(fromHeader, string(d.Value))
				}
			}
			if len(tc.want) == 0 {
				if !slices.Equal(fromHeader, []string{"none"}) {
					t.Fatalf("header dkim results %v, want none", fromHeader)
				}
				return
			}
			for i := range tc.want {
				if fromHeader[i] != string(tc.want[i]) {
					t.Fatalf("header dkim results %v, want %v", fromHeader, tc.want)
				}
			}
		})
	}
}

func TestDKIMStatusPolicy(t *testing.T) {
	// A signature with l= that verifies... is not what go-msgauth lets
	// through; one that fails while l= is present is reported as policy.
	if s, _ := dkimStatus(errors.New("dkim: message contains an insecure body length tag"), true); s != StatusPolicy {
		t.Fatalf("got %s", s)
	}
	if s, _ := dkimStatus(errors.New("dkim: body hash did not verify"), false); s != StatusFail {
		t.Fatalf("got %s", s)
	}
	if s, _ := dkimStatus(nil, false); s != StatusPass {
		t.Fatalf("got %s", s)
	}
}

func TestSignRoundTrip(t *testing.T) {
	f := newFixture(t, "example.org")
	zone := f.records("example.org")
	// The records `postfach dkim` prints parse as a zone.
	if z := dnstest.Zone(t, zone); z.Len() != 2 {
		t.Fatalf("%d records", z.Len())
	}
	v := verifier(t, zone)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"simple", message("From: alice@example.org", "To: bob@example.net")},
		{"no body", []byte("From: alice@example.org\r\nSubject: x\r\n")},
		{"empty body", []byte("From: alice@example.org\r\nSubject: x\r\n\r\n")},
		{"folded and repeated fields", message("From: \"Alice\"\r\n <alice@example.org>", "To: a@example.net,\r\n\tb@example.net", "Cc: c@example.net", "Cc: d@example.net", "Reply-To: r@example.org")},
		{"8bit body", []byte("From: alice@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n")},
		{"long body", append([]byte("From: alice@example.org\r\n\r\n"), bytes.Repeat([]byte("0123456789 abcdefghij\r\n"), 50000)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := f.signer.Sign(context.Background(), "Example.ORG", bytes.NewReader(tc.msg), int64(len(tc.msg)))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(h, "DKIM-Signature:"); n != 2 || !strings.HasSuffix(h, "\r\n") {
				t.Fatalf("%d signatures in %q", n, h)
			}
			// go-msgauth folds between tags only, so the h= tag makes a
			// long line; RFC 5322 section 2.1.1 allows up to 998.
			for _, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
				if len(line) > 998 {
					t.Fatalf("line of %d: %q", len(line), line)
				}
			}
			if !strings.Contains(h, "c=relaxed/relaxed") || !strings.Contains(strings.ReplaceAll(h, "\r\n ", ""), "h=From:") {
				t.Fatalf("signature: %q", h)
			}
			signed := append([]byte(h), tc.msg...)
			res := v.Verify(context.Background(), input("192.0.2.1", "client.test", "alice@example.org", signed))
			if len(res.DKIM) != 2 || res.DKIM[0].Status != StatusPass || res.DKIM[1].Status != StatusPass {
				t.Fatalf("verification: %+v", res.DKIM)
			}
		})
	}
}

func TestHeaderKeys(t *testing.T) {
	got := headerKeys([]mimeField{
		field("From", "a@example.org"), field("To", "x"), field("Cc", "y"), field("Cc", "z"),
		field("X-Other", "q"), field("List-Id", "l"),
	})
	count := map[string]int{}
	for _, k := range got {
		count[k]++
	}
	for name, n := range map[string]int{"From": 2, "To": 2, "Cc": 3, "Subject": 1, "Reply-To": 1, "List-Id": 1, "X-Other": 0, "Resent-From": 0} {
		if count[name] != n {
			t.Errorf("%s signed %d times, want %d (h=%v)", name, count[name], n, got)
		}
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	nov := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	keys, err := GenerateKeys(dir, "Example.ORG.", nov)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Selector != "pf202611r" || keys[1].Selector != "pf202611e" || keys[0].Domain != "example.org" {
		t.Fatalf("keys: %+v %+v", keys[0], keys[1])
	}
	for _, k := range keys {
		fi, err := os.Stat(filepath.Join(dir, "dkim", "example.org", k.Selector+".pem"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", k.Selector, fi.Mode(), err)
		}
	}
	if _, err := GenerateKeys(dir, "example.org", nov.Add(24*time.Hour)); !errors.Is(err, ErrKeysExist) {
		t.Fatalf("second generation in a month: %v", err)
	}
	for _, bad := range []string{"", "../etc", "a/b", "exa mple.org", "[192.0.2.1]"} {
		if _, err := GenerateKeys(dir, bad, nov); err == nil {
			t.Errorf("domain %q accepted", bad)
		}
	}

	// A signer running before the rotation picks up the newer keys.
	s := NewSigner(dir)
	msg := message("From: a@example.org")
	sel := func() []string {
		h, err := s.Sign(context.Background(), "example.org", bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, part := range strings.Split(strings.ReplaceAll(h, "\r\n ", ""), ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "s="); ok {
				out = append(out, v)
			}
		}
		return out
	}
	if got := sel(); !slices.Equal(got, []string{"pf202611r", "pf202611e"}) {
		t.Fatalf("selectors %v", got)
	}
	if _, err := GenerateKeys(dir, "example.org", nov.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	if got := sel(); !slices.Equal(got, []string{"pf202612r", "pf202612e"}) {
		t.Fatalf("selectors after rotation %v", got)
	}
	all, err := LoadKeys(dir, "example.org")
	if err != nil || len(all) != 4 || all[0].Selector != "pf202612r" {
		t.Fatalf("LoadKeys: %d keys, %v", len(all), err)
	}

	if _, err := s.Sign(context.Background(), "other.test", bytes.NewReader(msg), int64(len(msg))); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("domain without keys: %v", err)
	}
	if keys, err := LoadKeys(dir, "other.test"); err != nil || len(keys) != 0 {
		t.Fatalf("LoadKeys of a domain without keys: %v %v", keys, err)
	}
	// A corrupt key file is an error, not a silent unsigned message.
	os.WriteFile(filepath.Join(dir, "dkim", "example.org", "pf209901r.pem"), []byte("junk"), 0o600)
	if _, err := LoadKeys(dir, "example.org"); err == nil {
		t.Fatal("corrupt key loaded")
	}
}

func TestRecordString(t *testing.T) {
	long := Record{Name: "s._domainkey.example.org.", Type: "TXT", Value: strings.Repeat("a", 300) + `"\`, Comment: "c"}
	z := dnstest.Resolver(t, long.String())
	txt, err := z.LookupTXT(context.Background(), "s._domainkey.example.org")
	if err != nil || len(txt) != 1 || txt[0] != long.Value {
		t.Fatalf("%q %v", txt, err)
	}
}

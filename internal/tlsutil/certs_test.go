package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// makePair writes a self-signed certificate for names (RSA or ECDSA)
// into dir as <base>.pem and <base>.key and returns the files.
func makePair(t *testing.T, dir, base string, useRSA bool, names ...string) Pair {
	t.Helper()
	var key crypto.Signer
	var err error
	if useRSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := Pair{Cert: filepath.Join(dir, base+".pem"), Key: filepath.Join(dir, base+".key")}
	if err := writeFileAtomic(p.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(p.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSNI: the name the client asks for picks the pair; an RSA-only
// client gets the RSA pair of a name with both; no name or an unknown
// one gets the first pair.
func TestSNI(t *testing.T) {
	dir := t.TempDir()
	mail := makePair(t, dir, "mail", false, "mail.example.org")
	otherEC := makePair(t, dir, "other-ec", false, "other.example.net", "*.other.example.net")
	otherRSA := makePair(t, dir, "other-rsa", true, "other.example.net")
	certs, err := NewCertificates([]Pair{mail, otherEC, otherRSA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := certs.ServerConfig()
	if cfg.MinVersion != tls.VersionTLS12 || cfg.CipherSuites != nil {
		t.Errorf("MinVersion %x, CipherSuites %v", cfg.MinVersion, cfg.CipherSuites)
	}
	addr := serve(t, cfg)
	tests := []struct {
		name   string
		client *tls.Config
		want   string // leaf common name
		rsa    bool
	}{
		{"hostname", &tls.Config{ServerName: "mail.example.org"}, "mail.example.org", false},
		{"second name", &tls.Config{ServerName: "other.example.net"}, "other.example.net", false},
		{"wildcard", &tls.Config{ServerName: "imap.other.example.net"}, "other.example.net", false},
		{"trailing dot, case", &tls.Config{ServerName: "Other.Example.NET."}, "other.example.net", false},
		{"unknown name", &tls.Config{ServerName: "nope.example.com"}, "mail.example.org", false},
		{"no name", &tls.Config{}, "mail.example.org", false},
		{"RSA-only client", &tls.Config{ServerName: "other.example.net", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, "other.example.net", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client.InsecureSkipVerify = true
			leaf, err := handshake(t, addr, tt.client)
			if err != nil {
				t.Fatal(err)
			}
			_, isRSA := leaf.PublicKey.(*rsa.PublicKey)
			if leaf.Subject.CommonName != tt.want || isRSA != tt.rsa {
				t.Errorf("got %s (RSA %v), want %s (RSA %v)", leaf.Subject.CommonName, isRSA, tt.want, tt.rsa)
			}
		})
	}
	if _, err := NewCertificates(nil, nil); err == nil {
		t.Error("NewCertificates without pairs succeeded")
	}
	if _, err := NewCertificates([]Pair{mail, {Cert: mail.Cert, Key: otherEC.Key}}, nil); err == nil {
		t.Error("NewCertificates with a mismatched pair succeeded")
	}
}

// TestReloadAutomatic: with the real clock, a pair replaced on disk (as
// an ACME client or an administrator does, by rename) is served by new
// handshakes within the check interval; nothing is restarted or called.
func TestReloadAutomatic(t *testing.T) {
	dir := t.TempDir()
	p := makePair(t, dir, "mail", false, "mail.example.org")
	certs, err := NewCertificates([]Pair{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	certs.pairs[0].interval = 50 * time.Millisecond
	addr := serve(t, certs.ServerConfig())
	client := &tls.Config{ServerName: "mail.example.org", InsecureSkipVerify: true}
	first, err := handshake(t, addr, client)
	if err != nil {
		t.Fatal(err)
	}
	// Replace both files in place, as a renewal does.
	renewed := makePair(t, t.TempDir(), "new", false, "mail.example.org")
	for _, f := range [][2]string{{renewed.Key, p.Key}, {renewed.Cert, p.Cert}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFileAtomic(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := readLeaf(t, renewed.Cert).SerialNumber
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaf, err := handshake(t, addr, client)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.SerialNumber.Cmp(want) == 0 {
			break
		}
		if leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Fatalf("serving serial %v, neither old nor new", leaf.SerialNumber)
		}
		if time.Now().After(deadline) {
			t.Fatal("renewed certificate never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

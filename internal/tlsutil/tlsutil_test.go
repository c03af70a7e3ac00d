package tlsutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := SelfSigned(dir, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if certFile != filepath.Join(dir, "tls", "cert.pem") || keyFile != filepath.Join(dir, "tls", "key.pem") {
		t.Errorf("files %s %s", certFile, keyFile)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, %v; want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(keyFile)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("tls dir mode %v, %v; want 0700", fi.Mode(), err)
	}
	leaf := readLeaf(t, certFile)
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", leaf.PublicKey)
	}
	for _, name := range []string{"mail.example.org", "localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not cover %s: %v", name, err)
		}
	}
	if err := leaf.VerifyHostname("other.example.org"); err == nil {
		t.Error("certificate covers other.example.org")
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("EKU %v, want serverAuth", leaf.ExtKeyUsage)
	}
	if v := leaf.NotAfter.Sub(leaf.NotBefore); v > 825*24*time.Hour || v < 790*24*time.Hour {
		t.Errorf("validity %v: Apple clients want at most 825 days", v)
	}
	// Files left behind by the atomic write: none.
	entries, _ := os.ReadDir(filepath.Dir(certFile))
	if len(entries) != 2 {
		t.Errorf("tls dir holds %d entries, want 2", len(entries))
	}
}

func TestSelfSignedReuse(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	certFile, keyFile, err := selfSigned(dir, "mail.example.org", now)
	if err != nil {
		t.Fatal(err)
	}
	first := readSerial(t, certFile)

	steps := []struct {
		name     string
		prepare  func()
		hostname string
		at       time.Time
		same     bool
	}{
		{"reused", nil, "mail.example.org", now.Add(24 * time.Hour), true},
		{"reused for localhost", nil, "localhost", now, true},
		{"hostname changed", nil, "imap.example.org", now, false},
		{"near expiry", nil, "imap.example.org", now.Add(780 * 24 * time.Hour), false},
		{"key lost", func() { os.Remove(keyFile) }, "imap.example.org", now.Add(780 * 24 * time.Hour), false},
		{"mismatched key", func() {
			// Another pair's key: LoadX509KeyPair refuses it.
			other := t.TempDir()
			_, k, err := selfSigned(other, "x.example.org", now)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(k)
			os.WriteFile(keyFile, b, 0o600)
		}, "imap.example.org", now.Add(780 * 24 * time.Hour), false},
		{"garbage cert", func() { os.WriteFile(certFile, []byte("junk"), 0o644) }, "imap.example.org", now.Add(780 * 24 * time.Hour), false},
	}
	prev := first
	for _, st := range steps {
		if st.prepare != nil {
			st.prepare()
		}
		c, k, err := selfSigned(dir, st.hostname, st.at)
		if err != nil || c != certFile || k != keyFile {
			t.Fatalf("%s: %s %s %v", st.name, c, k, err)
		}
		serial := readSerial(t, c)
		if (serial.Cmp(prev) == 0) != st.same {
			t.Errorf("%s: reused = %v, want %v", st.name, serial.Cmp(prev) == 0, st.same)
		}
		if _, err := tls.LoadX509KeyPair(c, k); err != nil {
			t.Errorf("%s: pair does not load: %v", st.name, err)
		}
		prev = serial
	}
}

// handshake connects to addr and returns the server's leaf certificate.
func handshake(t *testing.T, addr string, cfg *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// serve accepts TLS connections on 127.0.0.1 until the test ends.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err == nil {
					c.Write([]byte("ok"))
				}
			})
		}
	})
	return ln.Addr().String()
}

func rootsFor(t *testing.T, certFile string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no certificate in", certFile)
	}
	return pool
}

func TestServerConfigHandshake(t *testing.T) {
	certFile, keyFile, err := SelfSigned(t.TempDir(), "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.CipherSuites != nil {
		t.Errorf("MinVersion %x, CipherSuites %v", cfg.MinVersion, cfg.CipherSuites)
	}
	addr := serve(t, cfg)
	roots := rootsFor(t, certFile)

	tests := []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"hostname", &tls.Config{RootCAs: roots, ServerName: "mail.example.org"}, true},
		{"localhost", &tls.Config{RootCAs: roots, ServerName: "localhost"}, true},
		{"loopback IP", &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}, true},
		{"TLS 1.2 only", &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12}, true},
		{"TLS 1.3 only", &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.1 refused", &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"wrong name", &tls.Config{RootCAs: roots, ServerName: "other.example.org"}, false},
		{"untrusted", &tls.Config{ServerName: "localhost"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := handshake(t, addr, tt.client)
			if tt.ok && (err != nil || leaf.Subject.CommonName != "mail.example.org") {
				t.Errorf("handshake: %v", err)
			}
			if !tt.ok && err == nil {
				t.Error("handshake succeeded")
			}
		})
	}
}

func TestServerConfigMissingFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := ServerConfig(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")); err == nil {
		t.Error("ServerConfig succeeded without files")
	}
	certFile, _, err := SelfSigned(dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	// A certificate as its own key.
	if _, err := ServerConfig(certFile, certFile); err == nil {
		t.Error("ServerConfig succeeded with a certificate as key")
	}
}

// TestReload: a replaced certificate is served after the check interval,
// without a restart; a broken replacement is not.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	keyFile := filepath.Join(dir, "key.pem")
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mtime := now

	// install writes a fresh pair at the given files with a new mtime.
	install := func(certPEM, keyPEM []byte) {
		t.Helper()
		mtime = mtime.Add(time.Second)
		for _, f := range []struct {
			name string
			data []byte
		}{{keyFile, keyPEM}, {certFile, certPEM}} {
			if err := writeFileAtomic(f.name, f.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f.name, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	newPair := func() ([]byte, []byte) {
		c, k, err := generate("localhost", now)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}

	c1, k1 := newPair()
	install(c1, k1)
	r, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := now
	r.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	r.lastCheck.Store(clock.UnixNano())
	advance := func(d time.Duration) {
		mu.Lock()
		clock = clock.Add(d)
		mu.Unlock()
	}
	addr := serve(t, r.ServerConfig())

	// The client trusts every pair this test makes.
	roots := x509.NewCertPool()
	served := func() *big.Int {
		t.Helper()
		leaf, err := handshake(t, addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber
	}
	serialOf := func(certPEM []byte) *big.Int {
		roots.AppendCertsFromPEM(certPEM)
		b, _ := pem.Decode(certPEM)
		leaf, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber
	}
	s1 := serialOf(c1)
	if got := served(); got.Cmp(s1) != 0 {
		t.Fatalf("serving %v, want %v", got, s1)
	}

	c2, k2 := newPair()
	s2 := serialOf(c2)
	install(c2, k2)
	if got := served(); got.Cmp(s1) != 0 {
		t.Error("reloaded before the check interval")
	}
	advance(DefaultCheckInterval)
	if got := served(); got.Cmp(s2) != 0 {
		t.Errorf("after the interval serving %v, want the new %v", got, s2)
	}

	// A renewal half done: new certificate, old key. Keep serving s2.
	c3, k3 := newPair()
	s3 := serialOf(c3)
	install(c3, k2)
	advance(DefaultCheckInterval)
	if got := served(); got.Cmp(s2) != 0 {
		t.Errorf("broken pair: serving %v, want the previous %v", got, s2)
	}
	// The key arrives: the next check loads the pair.
	install(c3, k3)
	advance(DefaultCheckInterval)
	if got := served(); got.Cmp(s3) != 0 {
		t.Errorf("completed renewal: serving %v, want %v", got, s3)
	}

	// Files gone for a moment: keep serving.
	os.Remove(certFile)
	advance(DefaultCheckInterval)
	if got := served(); got.Cmp(s3) != 0 {
		t.Errorf("missing file: serving %v, want %v", got, s3)
	}
}

func readLeaf(t *testing.T, certFile string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s: want one CERTIFICATE block", certFile)
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func readSerial(t *testing.T, certFile string) *big.Int {
	return readLeaf(t, certFile).SerialNumber
}

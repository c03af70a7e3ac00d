package clienttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// writeSelfSigned writes a self-signed certificate for names only (no IP
// addresses) and its key, and returns their paths.
func writeSelfSigned(t *testing.T, dir, name string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestMbsyncPinnedCertificate answers how a user points mbsync at a
// server with a self-signed certificate: listing the certificate in
// CertificateFile pins it, and mbsync then accepts it although its name
// (mail.example.org) does not match the host it connects to (127.0.0.1),
// over implicit TLS and over STARTTLS. A different certificate in
// CertificateFile makes mbsync refuse the server: the pin is checked.
func TestMbsyncPinnedCertificate(t *testing.T) {
	requireClient(t, mbsyncPath, "isync")
	dir := t.TempDir()
	cert, key := writeSelfSigned(t, dir, "server", "mail.example.org")
	other, _ := writeSelfSigned(t, dir, "other", "mail.example.org")
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.TLS.Cert, cfg.TLS.Key = cert, key
	}})
	c := goLogin(t, env, "alice@example.org", nil)
	appendMessages(t, c, "INBOX", corpus(5005, 2), nil)

	for _, tc := range []struct {
		name     string
		startTLS bool
	}{{"IMAPS", false}, {"STARTTLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMbsyncSetup(t, env, mbsyncOptions{StartTLS: tc.startTLS, CertFile: cert})
			st := s.sync("pinned " + tc.name)
			if st.Near.New != 2 {
				t.Errorf("near side got %d new messages, want 2", st.Near.New)
			}
			if got := readMaildir(t, s.inbox); len(got) != 2 {
				t.Errorf("the Maildir has %d messages, want 2", len(got))
			}
		})
	}

	t.Run("wrong pin", func(t *testing.T) {
		s := newMbsyncSetup(t, env, mbsyncOptions{CertFile: other})
		tty, stderr, err := s.run()
		if err == nil {
			t.Fatalf("mbsync accepted a server whose certificate is not pinned:\n%s\n%s", tty, stderr)
		}
		if !strings.Contains(strings.ToLower(stderr+tty), "certificate") {
			t.Errorf("mbsync failed, but not over the certificate:\n%s\n%s", tty, stderr)
		}
		if got := readMaildir(t, s.inbox); len(got) != 0 {
			t.Errorf("the Maildir has %d messages after a refused connection", len(got))
		}
		t.Logf("mbsync refused: %s", strings.TrimSpace(stderr))
	})
}

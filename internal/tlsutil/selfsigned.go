// Package tlsutil provides the server's TLS material: a self-signed
// certificate for servers without one, and a tls.Config whose certificate
// follows the files on disk (renewals need no restart).
//
// Invariants:
//   - Certificate and key files are replaced atomically (write to a
//     temporary file, fsync, rename), so a reader never sees half a file;
//     private keys are created with mode 0600.
//   - A certificate that fails to load never replaces one that works.
//   - The package holds no mutable package-level state.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

const (
	// selfSignedValidity is 800 days: Apple's clients reject TLS server
	// certificates valid for more than 825 days (iOS 13, macOS 10.15),
	// even ones a user chose to trust.
	selfSignedValidity = 800 * 24 * time.Hour
	// renewBefore is how long before expiry a start replaces the
	// certificate.
	renewBefore = 30 * 24 * time.Hour
)

// SelfSigned returns the files of a self-signed certificate for hostname
// kept in <dataDir>/tls (cert.pem, key.pem), creating them on first use.
// Later calls reuse them while they are a valid pair that names hostname
// and stays valid for more than 30 days; otherwise they are replaced.
//
// The key is ECDSA P-256, which every mail client of the last decade
// accepts (Ed25519 certificates are still refused by browsers, Outlook and
// Apple Mail). The certificate names hostname, "localhost", 127.0.0.1 and
// ::1, carries the serverAuth extended key usage Apple requires, and is
// valid for 800 days.
func SelfSigned(dataDir, hostname string) (certFile, keyFile string, err error) {
	return selfSigned(dataDir, hostname, time.Now())
}

func selfSigned(dataDir, hostname string, now time.Time) (certFile, keyFile string, err error) {
	dir := filepath.Join(dataDir, "tls")
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if usable(certFile, keyFile, hostname, now) {
		return certFile, keyFile, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("tls: %w", err)
	}
	certPEM, keyPEM, err := generate(hostname, now)
	if err != nil {
		return "", "", err
	}
	// The key first: a crash in between leaves a mismatched pair, which
	// the next start detects and replaces.
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// usable reports whether the files hold a matching pair that covers
// hostname and does not expire soon.
func usable(certFile, keyFile, hostname string, now time.Time) bool {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil || len(pair.Certificate) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	return leaf.VerifyHostname(hostname) == nil
}

// generate makes a self-signed certificate and its key, PEM-encoded.
// GenerateSelfSigned returns a new self-signed certificate and its key,
// PEM-encoded, as SelfSigned would create them (for tools that keep them
// elsewhere, as the benchmark comparison).
func GenerateSelfSigned(hostname string) (certPEM, keyPEM []byte, err error) {
	return generate(hostname, time.Now())
}

func generate(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generating serial: %w", err)
	}
	names := []string{hostname}
	if hostname != "localhost" {
		names = append(names, "localhost")
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hostname, Organization: []string{"postfach self-signed"}},
		// An hour back, for clients whose clocks run slow.
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic replaces name with data: a temporary file in the same
// directory, synced, renamed over name, and the directory synced.
func writeFileAtomic(name string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("tls: writing %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("tls: syncing %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Hooks and helpers for the external tests (package auth_test), which
// use the real SQLite store: the store imports packages that import auth,
// so tests that need it cannot live in package auth.

// SetSCRAMNonce fixes the server's SCRAM nonce.
func SetSCRAMNonce(s *Service, f func() string) { s.scramNonce = f }

// SetNow sets the service's clock.
func SetNow(s *Service, f func() time.Time) { s.now = f }

// WatchedCredentials is the number of credentials watched for
// revocation.
func WatchedCredentials(s *Service) int { return s.revocations.count() }

// TwoFactorText is the refusal of the account password under 2FA.
const TwoFactorText = twoFactorText

// DowngradeText is the refusal of the "y" flag where -PLUS is offered.
var DowngradeText = errDowngrade().Text

// SelfSigned makes an ECDSA P-256 certificate signed with SHA-256.
func SelfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.org"},
		DNSNames: []string{"mail.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TLSConns holds both ends' view of one real TLS connection.
type TLSConns struct {
	Server    Conn // as a protocol fills it, ServerCertificate included
	ClientTLS *tls.ConnectionState
}

// Handshake runs a TLS handshake over a pipe, the server's configuration
// wrapped by CaptureCertificate as protocols do.
func Handshake(t testing.TB, cert tls.Certificate, version uint16) TLSConns {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	conf, presented := CaptureCertificate(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	srv := tls.Server(a, conf)
	cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org", MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ss, cs := srv.ConnectionState(), cli.ConnectionState()
	return TLSConns{
		Server:    Conn{Protocol: "imap", Remote: netip.MustParseAddr("192.0.2.7"), TLS: &ss, ServerCertificate: presented()},
		ClientTLS: &cs,
	}
}

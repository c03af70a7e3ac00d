// Package acmetest runs a local ACME CA for tests: pebble (Let's
// Encrypt's test server) in process, on 127.0.0.1, with its own DNS
// server on the loopback that points every name at 127.0.0.1, so that
// HTTP-01 and TLS-ALPN-01 checks reach the test's listeners and nothing
// uses the system resolver.
package acmetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// CA is a running test ACME server.
type CA struct {
	// Directory is the ACME directory URL (https://127.0.0.1:port/dir).
	Directory string
	// RootFile is a PEM file of the certificate the directory's HTTPS
	// uses (trust it: tls.acme_ca_root).
	RootFile string
	// HTTPPort and TLSALPNPort are the loopback ports the CA checks
	// HTTP-01 and TLS-ALPN-01 challenges on: the client must answer
	// there.
	HTTPPort, TLSALPNPort int

	roots  *x509.CertPool
	issuer *x509.CertPool
}

// Start runs a CA until the test ends; its certificates are valid for
// validity. It sets pebble's environment variables (no random waits, no
// nonce rejections), so tests that use it cannot run in parallel.
func Start(t testing.TB, validity time.Duration) *CA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	logger := log.New(io.Discard, "", 0)
	if os.Getenv("POSTFACH_TEST_LOG") != "" {
		logger = log.New(os.Stderr, "pebble ", log.LstdFlags)
	}
	c := &CA{HTTPPort: freePort(t), TLSALPNPort: freePort(t)}
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "test", ValidityPeriod: uint64(validity / time.Second)},
	})
	v := va.New(logger, c.HTTPPort, c.TLSALPNPort, false, startDNS(t), store)
	w := wfe.New(logger, store, v, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	cert, certPEM := selfSigned(t)
	c.RootFile = filepath.Join(t.TempDir(), "acme-root.pem")
	if err := os.WriteFile(c.RootFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	c.roots = x509.NewCertPool()
	c.roots.AppendCertsFromPEM(certPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: w.Handler(), ErrorLog: logger}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c.Directory = "https://" + ln.Addr().String() + wfe.DirectoryPath

	root, err := x509.ParseCertificate(authority.GetRootCert(0).DER)
	if err != nil {
		t.Fatal(err)
	}
	c.issuer = x509.NewCertPool()
	c.issuer.AddCert(root)
	return c
}

// Roots returns the pool that trusts the directory's HTTPS.
func (c *CA) Roots() *x509.CertPool { return c.roots }

// HTTPAddr and TLSALPNAddr are the challenge addresses to configure.
func (c *CA) HTTPAddr() string    { return "127.0.0.1:" + strconv.Itoa(c.HTTPPort) }
func (c *CA) TLSALPNAddr() string { return "127.0.0.1:" + strconv.Itoa(c.TLSALPNPort) }

// Issued reports whether chain (leaf first) was issued by this CA for
// name.
func (c *CA) Issued(chain []*x509.Certificate, name string) error {
	if len(chain) == 0 {
		return fmt.Errorf("no certificate")
	}
	inter := x509.NewCertPool()
	for _, cert := range chain[1:] {
		inter.AddCert(cert)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{DNSName: name, Roots: c.issuer, Intermediates: inter})
	return err
}

// startDNS answers A queries for every name with 127.0.0.1 (and AAAA
// with nothing), over TCP, as pebble's VA asks.
func startDNS(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// selfSigned makes the directory's certificate, for 127.0.0.1.
func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "acmetest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

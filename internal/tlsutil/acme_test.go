package tlsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// loopbackDNS answers A queries for every name with 127.0.0.1 and AAAA
// queries with nothing, over TCP on 127.0.0.1 (pebble's VA asks over
// TCP), so the CA finds our challenge listeners without the system
// resolver.
func loopbackDNS(t *testing.T) string {
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

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testCA is an in-process pebble ACME server on 127.0.0.1.
type testCA struct {
	directory string
	roots     *x509.CertPool // for the directory's HTTPS
	issuer    *x509.CertPool // pebble's issuing root
	ca        *ca.CAImpl
	httpPort  int
	tlsPort   int
}

// startPebble runs pebble with certificates valid for validity, checking
// challenges on fresh loopback ports through a loopback DNS server.
func startPebble(t *testing.T, validity time.Duration) *testCA {
	t.Helper()
	// Validate at once (no random sleep), accept every nonce.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	logger := log.New(io.Discard, "", 0)
	if os.Getenv("POSTFACH_TEST_LOG") != "" {
		logger = log.New(os.Stderr, "pebble ", log.LstdFlags)
	}
	tc := &testCA{httpPort: freePort(t), tlsPort: freePort(t)}
	store := db.NewMemoryStore()
	tc.ca = ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "test", ValidityPeriod: uint64(validity / time.Second)},
	})
	v := va.New(logger, tc.httpPort, tc.tlsPort, false, loopbackDNS(t), store)
	w := wfe.New(logger, store, v, tc.ca, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	// The directory's own HTTPS certificate, self-signed for 127.0.0.1.
	dir := t.TempDir()
	certFile, keyFile, err := SelfSigned(dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	tc.roots = rootsFor(t, certFile)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: w.Handler(), ErrorLog: logger}
	go srv.ServeTLS(ln, certFile, keyFile)
	t.Cleanup(func() { srv.Close() })
	tc.directory = "https://" + ln.Addr().String() + wfe.DirectoryPath

	tc.issuer = x509.NewCertPool()
	root, err := x509.ParseCertificate(tc.ca.GetRootCert(0).DER)
	if err != nil {
		t.Fatal(err)
	}
	tc.issuer.AddCert(root)
	return tc
}

// testLogger logs to the test when POSTFACH_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("POSTFACH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// waitACMECert handshakes with addr until it presents a certificate for
// name that chains to the CA's root, and returns it.
func waitACMECert(t *testing.T, addr, name string, tc *testCA, differentFrom *x509.Certificate, timeout time.Duration) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		certs := conn.ConnectionState().PeerCertificates
		conn.Close()
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, verr := certs[0].Verify(x509.VerifyOptions{DNSName: name, Roots: tc.issuer, Intermediates: inter})
		if verr == nil && (differentFrom == nil || !certs[0].Equal(differentFrom)) {
			return certs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate from the ACME CA for %s after %v (last: %s, %v)", name, timeout, certs[0].Subject, verr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestACME gets certificates from a local ACME CA (pebble, in process)
// through each challenge type, serves them by SNI next to the static
// pair, and renews them in the background before they expire.
func TestACME(t *testing.T) {
	if testing.Short() {
		t.Skip("ACME round trips take seconds")
	}
	// Certificates live 30 s: renewal (at a third left, or when the CA's
	// renewal information says) comes within the test.
	tc := startPebble(t, 30*time.Second)
	tests := []struct {
		name      string
		domain    string
		http, tls bool
	}{
		{"HTTP-01", "http01.example.org", true, false},
		{"TLS-ALPN-01", "alpn.example.org", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ACMEOptions{
				Domains:            []string{tt.domain},
				Email:              "postmaster@example.org",
				CA:                 tc.directory,
				CARoots:            tc.roots,
				StorageDir:         filepath.Join(t.TempDir(), "acme"),
				RenewCheckInterval: time.Second,
				Logger:             testLogger(),
			}
			if tt.http {
				opts.HTTPAddr = "127.0.0.1:" + strconv.Itoa(tc.httpPort)
			}
			if tt.tls {
				opts.TLSALPNAddr = "127.0.0.1:" + strconv.Itoa(tc.tlsPort)
			}
			a, err := NewACME(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Stop()
			static, err := NewCertificates([]Pair{makePair(t, t.TempDir(), "static", false, "static.example.org")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sel := &Selector{Static: static, ACME: a}
			addr := serve(t, sel.ServerConfig())

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			first := waitACMECert(t, addr, tt.domain, tc, nil, 60*time.Second)
			if got := first.NotAfter.Sub(first.NotBefore); got > time.Minute {
				t.Errorf("certificate lifetime %v, want pebble's 30s", got)
			}
			// Other names keep the static pair.
			leaf, err := handshake(t, addr, &tls.Config{ServerName: "static.example.org", InsecureSkipVerify: true})
			if err != nil || leaf.Subject.CommonName != "static.example.org" {
				t.Errorf("static name: %v, %v", leaf.Subject, err)
			}
			// Renewal in the background, served without a restart.
			renewed := waitACMECert(t, addr, tt.domain, tc, first, 60*time.Second)
			if !renewed.NotAfter.After(first.NotAfter) {
				t.Errorf("renewed certificate ends %v, not after %v", renewed.NotAfter, first.NotAfter)
			}
			// The certificate is kept in storage for the next start.
			var found bool
			filepath.WalkDir(opts.StorageDir, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, tt.domain+".crt") {
					found = true
				}
				return nil
			})
			if !found {
				t.Error("certificate not stored under the storage directory")
			}
		})
	}
}

func TestACMEOptions(t *testing.T) {
	base := ACMEOptions{Domains: []string{"a.example.org"}, CA: "https://127.0.0.1:1/dir", StorageDir: t.TempDir(), HTTPAddr: "127.0.0.1:80"}
	for name, mod := range map[string]func(*ACMEOptions){
		"no domains":   func(o *ACMEOptions) { o.Domains = nil },
		"no CA":        func(o *ACMEOptions) { o.CA = "" },
		"no challenge": func(o *ACMEOptions) { o.HTTPAddr = "" },
		"bad port":     func(o *ACMEOptions) { o.HTTPAddr = "127.0.0.1:http" },
		"two hosts":    func(o *ACMEOptions) { o.TLSALPNAddr = "127.0.0.2:443" },
	} {
		o := base
		mod(&o)
		if _, err := NewACME(o); err == nil {
			t.Errorf("%s: NewACME succeeded", name)
		}
	}
	a, err := NewACME(base)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	if !a.Manages("A.example.org.") || a.Manages("b.example.org") {
		t.Error("Manages")
	}
}

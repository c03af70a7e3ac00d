package tlsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/tlsutil/acmetest"
)

// testLogger logs to the test when POSTFACH_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("POSTFACH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// waitACMECert handshakes with addr until it presents a certificate for
// name that chains to the CA's root, and returns it.
func waitACMECert(t *testing.T, addr, name string, tc *acmetest.CA, differentFrom *x509.Certificate, timeout time.Duration) *x509.Certificate {
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
		verr := tc.Issued(certs, name)
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
	tc := acmetest.Start(t, 30*time.Second)
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
				CA:                 tc.Directory,
				CARoots:            tc.Roots(),
				StorageDir:         filepath.Join(t.TempDir(), "acme"),
				RenewCheckInterval: time.Second,
				Logger:             testLogger(),
			}
			if tt.http {
				opts.HTTPAddr = tc.HTTPAddr()
			}
			if tt.tls {
				opts.TLSALPNAddr = tc.TLSALPNAddr()
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

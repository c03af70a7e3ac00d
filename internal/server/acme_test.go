package server_test

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"postfach/internal/server"
	"postfach/internal/tlsutil/acmetest"
)

// TestACMEConfig: with [tls] acme = true and no certificate files, the
// server starts on its self-signed certificate, gets one from the ACME
// CA (a local pebble) in the background, and serves it on its TLS
// listeners, also to clients that send no name; the certificate is kept
// under <data_dir>/acme for the next start.
func TestACMEConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("an ACME round trip takes seconds")
	}
	ca := acmetest.Start(t, time.Hour)
	cfg := testConfig(t)
	cfg.TLS.ACME = true
	cfg.TLS.ACMEEmail = "postmaster@example.org"
	cfg.TLS.ACMECA = ca.Directory
	cfg.TLS.ACMECARoot = ca.RootFile
	cfg.TLS.ACMEHTTPAddr = ca.HTTPAddr()
	cfg.TLS.ACMETLSALPNAddr = ca.TLSALPNAddr()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	for _, sni := range []string{"mail.example.org", ""} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr("imaps").String(),
				&tls.Config{InsecureSkipVerify: true, ServerName: sni})
			if err != nil {
				t.Fatal(err)
			}
			chain := conn.ConnectionState().PeerCertificates
			conn.Close()
			ierr := ca.Issued(chain, "mail.example.org")
			if ierr == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SNI %q: no ACME certificate after 60s: %v", sni, ierr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var stored bool
	filepath.WalkDir(filepath.Join(cfg.DataDir, "acme"), func(p string, d os.DirEntry, err error) error {
		stored = stored || err == nil && filepath.Base(p) == "mail.example.org.crt"
		return nil
	})
	if !stored {
		t.Error("certificate not stored under data_dir/acme")
	}
}

// TestACMEChallengeOnHTTPListener: when the http listener holds the
// HTTP-01 port, it answers the CA's challenge itself.
func TestACMEChallengeOnHTTPListener(t *testing.T) {
	if testing.Short() {
		t.Skip("an ACME round trip takes seconds")
	}
	ca := acmetest.Start(t, time.Hour)
	cfg := testConfig(t)
	cfg.Listen.HTTP = ca.HTTPAddr()
	cfg.TLS.ACME = true
	cfg.TLS.ACMECA = ca.Directory
	cfg.TLS.ACMECARoot = ca.RootFile
	cfg.TLS.ACMEHTTPAddr = ca.HTTPAddr()
	cfg.TLS.ACMETLSALPNAddr = ""
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if got := srv.Addr("http").String(); got != ca.HTTPAddr() {
		t.Fatalf("http listener on %s, want %s", got, ca.HTTPAddr())
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr("imaps").String(),
			&tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"})
		if err != nil {
			t.Fatal(err)
		}
		chain := conn.ConnectionState().PeerCertificates
		conn.Close()
		ierr := ca.Issued(chain, "mail.example.org")
		if ierr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ACME certificate after 60s: %v", ierr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestACMEChallengeOnHTTPSListener: when the https listener holds the
// TLS-ALPN-01 port, it answers the CA's challenge handshake itself.
func TestACMEChallengeOnHTTPSListener(t *testing.T) {
	if testing.Short() {
		t.Skip("an ACME round trip takes seconds")
	}
	ca := acmetest.Start(t, time.Hour)
	cfg := testConfig(t)
	cfg.Listen.HTTPS = ca.TLSALPNAddr()
	cfg.TLS.ACME = true
	cfg.TLS.ACMECA = ca.Directory
	cfg.TLS.ACMECARoot = ca.RootFile
	cfg.TLS.ACMEHTTPAddr = ""
	cfg.TLS.ACMETLSALPNAddr = ca.TLSALPNAddr()
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr("https").String(),
			&tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"})
		if err != nil {
			t.Fatal(err)
		}
		chain := conn.ConnectionState().PeerCertificates
		conn.Close()
		ierr := ca.Issued(chain, "mail.example.org")
		if ierr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ACME certificate after 60s: %v", ierr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Ordinary clients still get HTTP only.
	conn, err := tls.Dial("tcp", srv.Addr("https").String(), &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org", NextProtos: []string{"imap"}})
	if err == nil {
		conn.Close()
		t.Error("https negotiated with a client that wants imap (ALPACA)")
	}
}

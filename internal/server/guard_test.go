package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/guard"
	"postfach/internal/server"
	"postfach/internal/tlsutil"
)

// TestBannedRefusedAtAccept: a ban (here from the store, as `postfach
// ban add` writes it) closes new connections at accept on every
// listener that takes logins, with a goodbye in the protocol's words on
// plaintext ones, but not on the MX port; and it survives a restart.
func TestBannedRefusedAtAccept(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen = config.Listen{IMAP: "127.0.0.1:0", IMAPS: "127.0.0.1:0", POP3: "127.0.0.1:0",
		Submission: "127.0.0.1:0", SMTP: "127.0.0.1:0"}
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Shutdown(context.Background())
		}
	}()
	lo := netip.MustParseAddr("127.0.0.1")
	if srv.Guard.Banned(lo) {
		t.Fatal("banned before any ban")
	}
	if err := srv.Store.PutBan(context.Background(), guard.Ban{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Created: time.Now(), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * guard.DefaultPollInterval)
	for !srv.Guard.Banned(lo) {
		if time.Now().After(deadline) {
			t.Fatal("the running server did not pick up the ban")
		}
		time.Sleep(20 * time.Millisecond)
	}
	firstLine := func(listener string) string {
		c, err := net.Dial("tcp", srv.Addr(listener).String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		return l
	}
	for _, tt := range []struct{ listener, want string }{
		{"imap", "* BYE [UNAVAILABLE] Too many failed logins from your address; try again later\r\n"},
		{"pop3", "-ERR [SYS/TEMP] Too many failed logins from your address; try again later\r\n"},
		{"submission", "421 4.7.0 mail.example.org Too many failed logins from your address; try again later\r\n"},
	} {
		if got := firstLine(tt.listener); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.listener, got, tt.want)
		}
	}
	if got := firstLine("smtp"); !strings.HasPrefix(got, "220 ") {
		t.Errorf("MX refused a banned address: %q", got)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr("imaps").String(),
		&tls.Config{InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Error("imaps: TLS handshake with a banned address")
	}

	// The ban is in the store: a restarted server enforces it at once.
	stopped = true
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv2, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	if !srv2.Guard.Banned(lo) {
		t.Error("ban lost across a restart")
	}
}

// TestSNICertificates: [[tls.certificates]] pairs are served by the name
// the client asks for, cert/key to the rest.
func TestSNICertificates(t *testing.T) {
	cfg := testConfig(t)
	cert, key, err := tlsutil.SelfSigned(t.TempDir(), "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey, err := tlsutil.SelfSigned(t.TempDir(), "mail.other.example")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS.Cert, cfg.TLS.Key = cert, key
	cfg.TLS.Certificates = []config.CertKey{{Cert: otherCert, Key: otherKey}}
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, tt := range []struct{ sni, want string }{
		{"mail.example.org", "mail.example.org"},
		{"mail.other.example", "mail.other.example"},
		{"", "mail.example.org"},
		{"unknown.example", "mail.example.org"},
	} {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr("imaps").String(),
			&tls.Config{InsecureSkipVerify: true, ServerName: tt.sni})
		if err != nil {
			t.Fatalf("%q: %v", tt.sni, err)
		}
		got := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
		conn.Close()
		if got != tt.want {
			t.Errorf("SNI %q: certificate for %s, want %s", tt.sni, got, tt.want)
		}
	}
}

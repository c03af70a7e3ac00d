package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/server"
)

// smtpConfig serves every SMTP listener, LMTP on a unix socket, and
// answers DNS from an empty zone file: no test reaches the system
// resolver.
func smtpConfig(t *testing.T) (*config.Config, string) {
	cfg := testConfig(t)
	sock := filepath.Join(t.TempDir(), "lmtp.sock")
	cfg.Listen.SMTP, cfg.Listen.Submission, cfg.Listen.Submissions = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Listen.LMTP = "unix:" + sock
	zone := filepath.Join(t.TempDir(), "zone.txt")
	if err := os.WriteFile(zone, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.DNS.ZoneFile = zone
	return cfg, sock
}

func greeting(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Every SMTP listener is bound and greets; the LMTP socket gets the
// configured mode, and a stale socket file of a crashed run is replaced.
func TestSMTPListeners(t *testing.T) {
	cfg, sock := smtpConfig(t)
	cfg.SMTP.LMTPSocketMode = "0660"
	// A crashed run left its socket file behind.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	var out strings.Builder
	srv, err := server.New(cfg, server.Options{Out: &out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, want := range []string{"SMTP        port", "SSL/TLS (implicit TLS)", "STARTTLS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Not available") {
		t.Errorf("a listener is reported unavailable:\n%s", out.String())
	}
	for _, name := range []string{"smtp", "submission"} {
		c, err := net.Dial("tcp", srv.Addr(name).String())
		if err != nil {
			t.Fatal(err)
		}
		if g := greeting(t, c); !strings.HasPrefix(g, "220 mail.example.org ESMTP") {
			t.Errorf("%s greets %q", name, g)
		}
		c.Close()
	}
	tc, err := tls.Dial("tcp", srv.Addr("submissions").String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := greeting(t, tc); !strings.HasPrefix(g, "220 ") {
		t.Errorf("submissions greets %q", g)
	}
	tc.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("LMTP socket mode %v", fi.Mode())
	}
	uc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if g := greeting(t, uc); !strings.HasPrefix(g, "220 mail.example.org LMTP") {
		t.Errorf("lmtp greets %q", g)
	}
	uc.Close()

	// A second server on the same socket is refused: that one is live.
	cfg2, _ := smtpConfig(t)
	cfg2.Listen.LMTP = cfg.Listen.LMTP
	srv2, err := server.New(cfg2, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	if err := srv2.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "another process listens") {
		t.Errorf("second server on a live socket: %v", err)
	}
}

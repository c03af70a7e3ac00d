package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/server"
	"postfach/internal/store/sqlite"
)

func testConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.Hostname = "mail.example.org"
	cfg.DataDir = t.TempDir()
	cfg.Listen = config.Listen{IMAP: "127.0.0.1:0", IMAPS: "127.0.0.1:0"}
	cfg.Auth.Time, cfg.Auth.MemoryKiB, cfg.Auth.Threads = 1, 1024, 1
	return cfg
}

func TestFirstStartCreatesPostmasterAndPrintsSettings(t *testing.T) {
	cfg := testConfig(t)
	var out strings.Builder
	srv, err := server.New(cfg, server.Options{Out: &out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"address:  postmaster@example.org", "password: ",
		"Server:     mail.example.org", "User name:  the full email address",
		"IMAP        port", "SSL/TLS (implicit TLS)", "STARTTLS", "SHA-256 fingerprint",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, text)
		}
	}
	pass := ""
	for _, l := range strings.Split(text, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "password: "); ok {
			pass = p
		}
	}
	if len(pass) < 16 {
		t.Fatalf("weak first password %q", pass)
	}
	// The printed password works.
	conn, err := tls.Dial("tcp", srv.Addr("imaps").String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	br.ReadString('\n')
	conn.Write([]byte("a LOGIN postmaster@example.org " + pass + "\r\n"))
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("LOGIN with the printed password: %q", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// A second start keeps the account and does not print a password.
	out.Reset()
	srv, err = server.New(cfg, server.Options{Out: &out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	if strings.Contains(out.String(), "password: ") {
		t.Fatalf("second start printed a password:\n%s", out.String())
	}
}

func TestOneServerPerDataDir(t *testing.T) {
	cfg := testConfig(t)
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := server.New(cfg, server.Options{NoSync: true}); err == nil || !strings.Contains(err.Error(), sqlite.ErrLocked.Error()) {
		t.Fatalf("second server on the same data dir: %v", err)
	}
}

func TestConnectionLimitPerIP(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxConnectionsPerIP = 2
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	addr := srv.Addr("imap").String()
	greet := func() (net.Conn, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		return c, l
	}
	c1, l1 := greet()
	c2, l2 := greet()
	_, l3 := greet()
	if !strings.HasPrefix(l1, "* OK") || !strings.HasPrefix(l2, "* OK") {
		t.Fatalf("greetings %q %q", l1, l2)
	}
	if !strings.HasPrefix(l3, "* BYE Too many connections") {
		t.Fatalf("third connection: %q", l3)
	}
	c1.Close()
	// The slot frees once the server notices the close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, l := greet()
		if strings.HasPrefix(l, "* OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %q", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2.Close()
}

func TestListenErrorNamesListener(t *testing.T) {
	cfg := testConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg.Listen.IMAPS = ln.Addr().String()
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listen.imaps") {
		t.Fatalf("Start on a busy port: %v", err)
	}
}

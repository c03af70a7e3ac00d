package serverproc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary act as the server under test: it
// listens on the port the variable names, after childDelayEnv, until
// SIGTERM; with "exit" instead of a port it writes a line and fails.
const (
	childEnv      = "SERVERPROC_TEST_CHILD"
	childDelayEnv = "SERVERPROC_TEST_DELAY"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(child(v))
	}
	os.Exit(m.Run())
}

func child(arg string) int {
	if arg == "exit" {
		fmt.Println("cannot open the store")
		return 3
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if d, err := time.ParseDuration(os.Getenv(childDelayEnv)); err == nil {
		select {
		case <-term:
			return 0
		case <-time.After(d):
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+arg)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	<-term
	return 0
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startChild starts the test binary as a child (see child), stopped when
// the test ends, and returns it with the path of its output.
func startChild(t *testing.T, arg string, delay time.Duration) (*Process, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+arg, childDelayEnv+"="+delay.String())
	logPath := filepath.Join(t.TempDir(), "out.log")
	p, err := Start(cmd, logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p, logPath
}

func TestStartWaitStop(t *testing.T) {
	port := freePort(t)
	p, logPath := startChild(t, strconv.Itoa(port), 300*time.Millisecond)
	if err := p.WaitPorts(context.Background(), time.Minute, logPath, port); err != nil {
		t.Fatal(err)
	}
	if !Listening(port) {
		t.Fatal("WaitPorts returned before the port was open")
	}
	p.Stop()
	if !p.Cmd.ProcessState.Exited() || p.Cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("after Stop: %v, want a clean exit on SIGTERM", p.Cmd.ProcessState)
	}
	if Listening(port) {
		t.Fatal("port still open after Stop")
	}
	p.Stop() // a second Stop returns at once
	var none *Process
	none.Stop()
}

func TestWaitPortsFailures(t *testing.T) {
	t.Run("exited", func(t *testing.T) {
		p, logPath := startChild(t, "exit", 0)
		err := p.WaitPorts(context.Background(), time.Minute, logPath, freePort(t))
		if err == nil || !strings.Contains(err.Error(), "exited (exit status 3)") || !strings.Contains(err.Error(), "cannot open the store") {
			t.Fatalf("got %v, want the exit and the log's last lines", err)
		}
		p.Stop() // the end was put back: Stop does not wait for it again
	})
	t.Run("timeout", func(t *testing.T) {
		port := freePort(t)
		p, logPath := startChild(t, strconv.Itoa(port), time.Minute)
		err := p.WaitPorts(context.Background(), 300*time.Millisecond, logPath, port)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d not open after 300ms", port)) {
			t.Fatalf("got %v, want a timeout", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		port := freePort(t)
		p, logPath := startChild(t, strconv.Itoa(port), time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.WaitPorts(ctx, time.Minute, logPath, port); err != context.Canceled {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 2, ""},
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb", 5, "a\nb"},
	} {
		if got := tail([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// The certificate serves TLS on 127.0.0.1 and verifies for the names the
// benchmarks dial.
func TestWriteCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := WriteCertificate(dir); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v %v, want mode 0600", fi.Mode(), err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, name := range []string{"mail.example.org", "localhost", "127.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "mail.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

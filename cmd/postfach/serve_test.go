package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe starts the server in-process on a loopback port, reads the
// IMAP greeting, then cancels the context as SIGTERM would: serve must
// shut down and exit 0.
func TestServe(t *testing.T) {
	// A free port: bind, note it, release it for the server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "postfach.toml")
	os.WriteFile(cfg, []byte(`
hostname = "mail.example.org"
data_dir = "data"
[listen]
imap = "`+addr+`"
imaps = ""
[auth]
time = 1
memory_kib = 64
threads = 1
`), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runEnv(ctx, []string{"serve", "--config", cfg}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	}()

	var conn net.Conn
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before listening\nstderr: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not listening on %s: %v\nstderr: %s", addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	greeting, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Errorf("greeting %q, %v", greeting, err)
	}
	conn.Close()

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after shutdown\nstderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
	if !strings.Contains(stderr.String(), "starting postfach") {
		t.Errorf("no start-up log line in %q", stderr.String())
	}
}

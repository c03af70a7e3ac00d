package auth

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

// TestFailureLine: every failed login writes the one stable line, with
// the remote address before the client's user name.
func TestFailureLine(t *testing.T) {
	accts := newFakeAccounts()
	var buf bytes.Buffer
	s := newTestService(t, accts, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	s.allowPlaintextLoopback = true
	conn := Conn{Protocol: "pop3", Remote: netip.MustParseAddr("::ffff:127.0.0.1")}
	if _, err := s.Password(context.Background(), conn, `x remote=6.6.6.6 "`, "guess"); err != ErrInvalidCredentials {
		t.Fatalf("Password = %v", err)
	}
	line := buf.String()
	want := `msg="auth failed" protocol=pop3 remote=127.0.0.1 user="x remote=6.6.6.6 \"" reason="unknown user"`
	if !strings.Contains(line, want) {
		t.Errorf("line %q\nwant it to contain %q", line, want)
	}
	buf.Reset()
	long := strings.Repeat("é", 100) + "@example.org"
	s.Password(context.Background(), conn, long, "guess")
	if !strings.Contains(buf.String(), "user="+strings.Repeat("é", 64)+"... ") {
		t.Errorf("long user name not cut at 128 octets: %q", buf.String())
	}
}

// Package fail2ban_test checks the shipped fail2ban filter against the
// lines postfach really writes.
package fail2ban_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"postfach/internal/auth"
	"postfach/internal/store/sqlite"
)

// attempt is one failed login and the address fail2ban must take from
// its line.
type attempt struct {
	protocol, remote, user string
}

// attempts include user names crafted to steer a filter to another
// address (6.6.6.6).
var attempts = []attempt{
	{"imap", "192.0.2.7", "tim@example.org"},
	{"pop3", "2001:db8::7", "nobody@example.org"},
	{"smtp", "::ffff:198.51.100.3", "tim@example.org"},
	{"imap", "192.0.2.8", `x msg="auth failed" protocol=imap remote=6.6.6.6 `},
	{"imap", "192.0.2.9", `a","remote":"6.6.6.6","x":"`},
	{"pop3", "192.0.2.10", `remote=6.6.6.6`},
	{"smtp", "192.0.2.11", "tim@example.org remote=6.6.6.6"},
}

// want is the address per attempt, as fail2ban prints it.
func want() []string {
	var out []string
	for _, a := range attempts {
		out = append(out, netip.MustParseAddr(a.remote).Unmap().String())
	}
	return out
}

// syncBuffer is a bytes.Buffer for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// logLines runs the attempts through a real auth.Service over a real
// store and returns what it logged, in the text or JSON format, with a
// successful login and other log lines mixed in.
func logLines(t *testing.T, format string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	params := auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.Hash("right", params)
	if _, err := st.AddAccount(ctx, "tim@example.org", hash); err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if format == "json" {
		h = slog.NewJSONHandler(&buf, nil)
	}
	log := slog.New(h)
	svc, err := auth.NewService(st, auth.Options{Params: params, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("listening", "listener", "imaps", "addr", "127.0.0.1:993")
	for i, a := range attempts {
		// Over TLS: the service refuses plaintext before looking.
		conn := auth.Conn{Protocol: a.protocol, Remote: netip.MustParseAddr(a.remote), TLS: fakeTLS()}
		if _, err := svc.Password(ctx, conn, a.user, "wrong"); err != auth.ErrInvalidCredentials {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	conn := auth.Conn{Protocol: "imap", Remote: netip.MustParseAddr("203.0.113.5"), TLS: fakeTLS()}
	if _, err := svc.Password(ctx, conn, "tim@example.org", "right"); err != nil {
		t.Fatalf("good login: %v", err)
	}
	return buf.b.String()
}

// fakeTLS stands for a TLS connection: the service wants one before it
// takes a password.
func fakeTLS() *tls.ConnectionState { return &tls.ConnectionState{HandshakeComplete: true} }

// failRegexes reads the failregex lines of the shipped filter.
func failRegexes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("filter.d/postfach.conf")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "failregex"):
			_, re, _ := strings.Cut(line, "=")
			out = append(out, strings.TrimSpace(re))
			in = true
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && strings.TrimSpace(line) != "":
			out = append(out, strings.TrimSpace(line))
		default:
			in = false
		}
	}
	if len(out) == 0 {
		t.Fatal("no failregex in the filter")
	}
	return out
}

// TestFilterGoRegexp applies the filter's patterns with Go's regexp,
// <HOST> replaced by a group for an IP address, the way fail2ban searches
// a line: the first pattern that matches gives the address.
func TestFilterGoRegexp(t *testing.T) {
	var res []*regexp.Regexp
	for _, fr := range failRegexes(t) {
		re, err := regexp.Compile(strings.ReplaceAll(fr, "<HOST>", `(?P<host>[0-9A-Fa-f.:]+)`))
		if err != nil {
			t.Fatalf("pattern %q: %v", fr, err)
		}
		res = append(res, re)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(logLines(t, format)), "\n") {
				for _, re := range res {
					if m := re.FindStringSubmatch(line); m != nil {
						got = append(got, m[re.SubexpIndex("host")])
						break
					}
				}
			}
			if !slices.Equal(got, want()) {
				t.Errorf("addresses %q\nwant      %q", got, want())
			}
		})
	}
}

// TestFilterFail2banRegex runs Debian's fail2ban-regex with the shipped
// filter over the lines postfach writes. Without the tool the test is
// skipped, unless POSTFACH_REQUIRE_CLIENTS=1.
func TestFilterFail2banRegex(t *testing.T) {
	tool, err := exec.LookPath("fail2ban-regex")
	if err != nil {
		if os.Getenv("POSTFACH_REQUIRE_CLIENTS") == "1" {
			t.Fatal("fail2ban-regex not installed (Debian package fail2ban)")
		}
		t.Skip("fail2ban-regex not installed (Debian package fail2ban)")
	}
	filter, err := filepath.Abs("filter.d/postfach.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "postfach.log")
			if err := os.WriteFile(logFile, []byte(logLines(t, format)), 0o644); err != nil {
				t.Fatal(err)
			}
			// -o ip prints the address of each matched line.
			out, err := exec.Command(tool, "-o", "ip", logFile, filter).CombinedOutput()
			if err != nil {
				t.Fatalf("fail2ban-regex: %v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			if !slices.Equal(got, want()) {
				t.Errorf("fail2ban-regex found %q\nwant                %q", got, want())
			}
		})
	}
}

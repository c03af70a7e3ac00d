package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/loadgen"
)

// TestBenchSmoke runs `postfach bench prepare` and a short `postfach
// bench` of every IMAP workload against a real server: each must report
// throughput and no errors.
func TestBenchSmoke(t *testing.T) {
	const users = 6
	var names []string
	for i := range users {
		names = append(names, fmt.Sprintf("bench%d@example.org", i))
	}
	srv := imaptest.Start(t, imaptest.Options{Users: names, Configure: func(c *config.Config) {
		c.Listen.POP3S = "127.0.0.1:0"
		c.Listen.LMTP = "127.0.0.1:0"
		c.Listen.SMTP = "127.0.0.1:0"
	}})
	env := map[string]string{"POSTFACH_BENCH_PASSWORD": imaptest.Password}
	common := []string{"--imap", "imaps://" + srv.IMAPS, "--insecure", "--users", "bench%d@example.org", "--user-count", fmt.Sprint(users), "--quiet"}
	protocols := []string{"--pop3", "pop3s://" + srv.Server.Addr("pop3s").String(),
		"--lmtp", "lmtp://" + srv.Server.Addr("lmtp").String(), "--smtp", "smtp://" + srv.Server.Addr("smtp").String(),
		"--rcpts", "2"}

	r := postfach(t, env, "", append([]string{"bench", "prepare", "--messages", "20"}, common...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "appended 120 messages") {
		t.Fatalf("bench prepare: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, wl := range []string{"imap-mixed", "imap-fetch", "imap-append", "imap-search", "imap-mixed:2,imap-search:1", "idle", "pop3", "lmtp", "smtp"} {
		t.Run(wl, func(t *testing.T) {
			var rep loadgen.Report
			// A machine so busy that nothing completed in the window
			// (and nothing failed) gets a window twice as long, twice.
			for try, window := 0, time.Second; ; try, window = try+1, 2*window {
				args := append([]string{"bench", "--json", "--workload", wl, "--clients", "3", "--duration", window.String(), "--warmup", "200ms",
					"--idle-conns", "4", "--idle-rate", "20", "--settle", "100ms"}, common...)
				args = append(args, protocols...)
				r := postfach(t, env, "", args...)
				if r.code != 0 {
					t.Fatalf("bench: exit %d\n%s", r.code, r.stderr)
				}
				rep = loadgen.Report{}
				if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
					t.Fatalf("report: %v\n%s", err, r.stdout)
				}
				if try == 2 || !slices.ContainsFunc(rep.Workloads, func(w loadgen.WorkloadReport) bool { return w.Errors == 0 && w.Ops == 0 }) {
					break
				}
				t.Logf("nothing completed in %v: again with twice the window", window)
			}
			if len(rep.Workloads) != len(strings.Split(wl, ",")) {
				t.Fatalf("%d workloads reported", len(rep.Workloads))
			}
			for _, w := range rep.Workloads {
				if w.Errors != 0 || w.Ops == 0 || w.OpsPerSec <= 0 {
					t.Errorf("%s: %d ops, %.1f ops/s, %d errors %q", w.Name, w.Ops, w.OpsPerSec, w.Errors, w.ErrorSamples)
				}
				if w.Name == "idle" && (w.Idle == nil || w.Idle.Notified == 0) {
					t.Errorf("idle: %+v", w.Idle)
				}
			}
		})
	}

	// The text report names every command.
	r = postfach(t, env, "", append([]string{"bench", "--workload", "imap-mixed", "--clients", "1", "--duration", "500ms", "--warmup", "0s"}, common...)...)
	for _, want := range []string{"sessions/s", "CONNECT", "LOGIN", "SELECT", "FETCH HEADERS", "FETCH BODY", "STORE", "APPEND", "EXPUNGE", "LOGOUT", "p99 ms"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestBenchRefuses checks the usage errors: load goes to loopback only,
// and runs are bounded.
func TestBenchRefuses(t *testing.T) {
	env := map[string]string{"POSTFACH_BENCH_PASSWORD": "x"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--imap", "imaps://192.0.2.1:993"}, "not a loopback address"},
		{[]string{"bench", "--imap", "imaps://mail.example.org:993"}, "loopback IP address"},
		{[]string{"bench", "--imap", "imaps://127.0.0.1:993", "--duration", "0s"}, "--duration"},
		{[]string{"bench", "--imap", "imaps://127.0.0.1:993", "--duration", "48h"}, "--duration"},
		{[]string{"bench", "--imap", "imaps://127.0.0.1:993", "--clients", "0"}, "--clients"},
		{[]string{"bench", "--imap", "imaps://127.0.0.1:993", "--workload", "nope"}, "unknown workload"},
		{[]string{"bench", "--imap", "imaps://127.0.0.1:993", "--users", "nobody"}, "%d"},
		{[]string{"bench", "prepare"}, "--imap is required"},
	} {
		r := postfach(t, env, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	// A workload whose target is missing.
	r := postfach(t, env, "", "bench", "--imap", "imaps://127.0.0.1:993", "--workload", "pop3", "--duration", "1s")
	if r.code == exitOK || !strings.Contains(r.stderr, "needs a pop3 target") {
		t.Errorf("missing target: exit %d, %q", r.code, r.stderr)
	}
}

// TestBenchPrepareCreatesUsers creates the users in a running server's
// data directory and writes Dovecot's passwd-file, then fills the
// mailboxes.
func TestBenchPrepareCreatesUsers(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	srv := imaptest.Start(t, imaptest.Options{Users: []string{}, DataDir: dataDir})
	conf := filepath.Join(dir, "postfach.toml")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`
hostname = "mail.example.org"
data_dir = %q

[auth]
time = 1
memory_kib = 64
threads = 1
`, dataDir)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(dir, "users")
	env := map[string]string{"POSTFACH_BENCH_PASSWORD": "a-long-bench-password"}
	args := []string{"bench", "prepare", "--config", conf, "--create-users", "--dovecot-passwd", passwd,
		"--imap", "imaps://" + srv.IMAPS, "--insecure", "--users", "new%d@bench.example", "--user-count", "3", "--messages", "5"}
	r := postfach(t, env, "", args...)
	if r.code != 0 || !strings.Contains(r.stderr, "created 3 users (0 existed already)") || !strings.Contains(r.stdout, "appended 15 messages") {
		t.Fatalf("bench prepare: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(passwd)
	if err != nil {
		t.Fatal(err)
	}
	if want := "new0@bench.example:{PLAIN}a-long-bench-password::::::\n"; !strings.HasPrefix(string(b), want) || strings.Count(string(b), "\n") != 3 {
		t.Errorf("passwd-file:\n%s", b)
	}
	// Again: nothing to create, nothing to append.
	r = postfach(t, env, "", args...)
	if r.code != 0 || !strings.Contains(r.stderr, "created 0 users (3 existed already)") || !strings.Contains(r.stdout, "appended 0 messages") {
		t.Fatalf("second bench prepare: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

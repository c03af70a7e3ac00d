package loadgen

import (
	"context"
	"os"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

// smokeUsers is how many accounts the smoke server has: more than the
// clients of any smoke run, so that no two clients share one.
const smokeUsers = 12

// startSmokeServer starts postfach with smokeUsers users and preloads
// their INBOXes through IMAP.
func startSmokeServer(t *testing.T) (*imaptest.Env, Users) {
	t.Helper()
	users := Users{Pattern: "user%d@example.org", Count: smokeUsers, Password: imaptest.Password}
	names := make([]string, smokeUsers)
	for i := range names {
		names[i] = users.Name(i)
	}
	env := imaptest.Start(t, imaptest.Options{Users: names})
	rep, err := Prepare(context.Background(), PrepareConfig{
		IMAP:     mustTarget(t, IMAP, "imaps://"+env.IMAPS),
		Users:    users,
		Messages: 30,
		TLS:      imaptest.ClientTLS(),
	})
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if rep.Appended != 30*smokeUsers {
		t.Fatalf("prepare appended %d messages, want %d", rep.Appended, 30*smokeUsers)
	}
	return env, users
}

func mustTarget(t *testing.T, p Protocol, s string) Target {
	t.Helper()
	tg, err := ParseTarget(p, s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestSmokeIMAP runs each IMAP workload, and a mix, for a short while
// against a real server and wants throughput and no errors.
func TestSmokeIMAP(t *testing.T) {
	env, users := startSmokeServer(t)

	// Preparing again appends nothing.
	rep, err := Prepare(context.Background(), PrepareConfig{
		IMAP: mustTarget(t, IMAP, "imaps://"+env.IMAPS), Users: users, Messages: 30, TLS: imaptest.ClientTLS(),
	})
	if err != nil || rep.Appended != 0 || rep.Skipped != smokeUsers {
		t.Fatalf("second prepare: %+v, %v", rep, err)
	}

	for _, tc := range []struct {
		workloads string
		target    string
		clients   int
	}{
		{"imap-mixed", "imaps://" + env.IMAPS, 3},
		{"imap-mixed", "imap+starttls://" + env.IMAP, 2},
		{"imap-fetch", "imaps://" + env.IMAPS, 2},
		{"imap-append", "imaps://" + env.IMAPS, 2},
		{"imap-search", "imaps://" + env.IMAPS, 2},
		{"imap-mixed:2,imap-fetch:1,imap-search:1", "imaps://" + env.IMAPS, 4},
	} {
		t.Run(tc.workloads+"/"+tc.target[:4], func(t *testing.T) {
			specs, err := ParseWorkloads(tc.workloads)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(context.Background(), Config{
				IMAP:      mustTarget(t, IMAP, tc.target),
				Users:     users,
				Workloads: specs,
				Clients:   tc.clients,
				Warmup:    200 * time.Millisecond,
				Duration:  1500 * time.Millisecond,
				TLS:       imaptest.ClientTLS(),
			})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, len(specs))
		})
	}
}

// TestSmokeIdle opens idle connections in both modes and wants every
// delivery noticed.
func TestSmokeIdle(t *testing.T) {
	env, users := startSmokeServer(t)
	for _, mode := range []string{"accounts", "mailbox"} {
		t.Run(mode, func(t *testing.T) {
			r, err := Run(context.Background(), Config{
				IMAP:      mustTarget(t, IMAP, "imaps://"+env.IMAPS),
				Users:     users,
				Workloads: []WorkloadSpec{{Name: "idle", Weight: 1}},
				Clients:   1,
				Duration:  1500 * time.Millisecond,
				TLS:       imaptest.ClientTLS(),
				Idle:      IdleOptions{Conns: 8, Accounts: 4, Mode: mode, Rate: 20, Settle: 100 * time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, 1)
			id := r.Workloads[0].Idle
			if id.Connections != 8 || id.Deliveries == 0 || id.Notified == 0 || id.Notified != id.Expected {
				t.Errorf("idle report %+v", id)
			}
			perAccount := uint64(2)
			if mode == "mailbox" {
				perAccount = 8
			}
			if id.Expected != id.Deliveries*perAccount {
				t.Errorf("%d deliveries should cause %d notices, expected %d", id.Deliveries, id.Deliveries*perAccount, id.Expected)
			}
			// The server runs in this process: the port leads here.
			if id.ServerPID != os.Getpid() || id.RSSAfter == 0 || id.MemoryError != "" {
				t.Errorf("server memory: pid %d (want %d), RSS %d, error %q", id.ServerPID, os.Getpid(), id.RSSAfter, id.MemoryError)
			}
		})
	}
}

// checkReport wants n workloads, each with throughput and no errors.
func checkReport(t *testing.T, r *Report, n int) {
	t.Helper()
	if len(r.Workloads) != n {
		t.Fatalf("%d workload reports, want %d", len(r.Workloads), n)
	}
	for _, w := range r.Workloads {
		if w.Errors != 0 {
			t.Errorf("%s: %d errors: %q", w.Name, w.Errors, w.ErrorSamples)
		}
		if w.Ops == 0 || w.OpsPerSec <= 0 {
			t.Errorf("%s: no throughput: %d ops", w.Name, w.Ops)
		}
		if w.Name != "idle" && w.Primary.Value <= 0 {
			t.Errorf("%s: primary %s is %v", w.Name, w.Primary.Name, w.Primary.Value)
		}
		for _, c := range w.Commands {
			if c.Count > 0 && (c.P50 <= 0 || c.P99 < c.P50 || c.Max < c.P99) {
				t.Errorf("%s %s: latencies out of order: %+v", w.Name, c.Name, c)
			}
		}
	}
	if testing.Verbose() {
		r.WriteText(os.Stderr)
	}
}

package loadgen

import (
	"context"
	"os"
	"testing"
	"time"

	"postfach/internal/config"
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
	env := imaptest.Start(t, imaptest.Options{Users: names, Configure: func(c *config.Config) {
		c.Listen.POP3 = "127.0.0.1:0"
		c.Listen.POP3S = "127.0.0.1:0"
		c.Listen.SMTP = "127.0.0.1:0"
		c.Listen.LMTP = "127.0.0.1:0"
	}})
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
			r, err := runSmoke(t, Config{
				IMAP:      mustTarget(t, IMAP, tc.target),
				Users:     users,
				Workloads: specs,
				Clients:   tc.clients,
				Warmup:    200 * time.Millisecond,
				Duration:  3 * time.Second,
				TLS:       imaptest.ClientTLS(),
			})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, len(specs))
		})
	}
}

// TestSmokeProtocols runs the POP3, SMTP and LMTP workloads, alone and
// mixed, and IDLE with deliveries over LMTP.
func TestSmokeProtocols(t *testing.T) {
	env, users := startSmokeServer(t)
	addr := func(name string) string {
		a := env.Server.Addr(name)
		if a == nil {
			t.Fatalf("no %s listener", name)
		}
		return a.String()
	}
	targets := Config{
		IMAP: mustTarget(t, IMAP, "imaps://"+env.IMAPS),
		POP3: mustTarget(t, POP3, "pop3s://"+addr("pop3s")),
		SMTP: mustTarget(t, SMTP, "smtp://"+addr("smtp")),
		LMTP: mustTarget(t, LMTP, "lmtp://"+addr("lmtp")),
	}
	for _, tc := range []struct {
		workloads string
		pop3      string
		idle      IdleOptions
	}{
		{workloads: "pop3"},
		{workloads: "pop3", pop3: "pop3+starttls://" + addr("pop3")},
		{workloads: "smtp"},
		{workloads: "lmtp"},
		{workloads: "pop3,lmtp,imap-mixed"},
		{workloads: "idle", idle: IdleOptions{Conns: 6, Accounts: 3, Rate: 20, Deliver: "lmtp", Settle: 100 * time.Millisecond}},
	} {
		t.Run(tc.workloads+tc.pop3, func(t *testing.T) {
			specs, err := ParseWorkloads(tc.workloads)
			if err != nil {
				t.Fatal(err)
			}
			cfg := targets
			if tc.pop3 != "" {
				cfg.POP3 = mustTarget(t, POP3, tc.pop3)
			}
			cfg.Users = users
			// Deliveries go to users of their own, so that the POP3
			// maildrops stay as prepared.
			cfg.Recipients = Users{Pattern: users.Pattern, First: 6, Count: 6, Password: users.Password}
			cfg.RcptPerMessage = 3
			cfg.Workloads = specs
			cfg.Clients = 3
			cfg.Warmup = 200 * time.Millisecond
			cfg.Duration = 1500 * time.Millisecond
			cfg.TLS = imaptest.ClientTLS()
			cfg.Idle = tc.idle
			r, err := runSmoke(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r, len(specs))
			for _, w := range r.Workloads {
				switch w.Name {
				case "pop3":
					if commandCount(&w, "RETR") < 30 {
						t.Errorf("pop3: %d RETR, want every message of a session at least", commandCount(&w, "RETR"))
					}
				case "smtp", "lmtp":
					// Transactions that straddle the window's edges count
					// their RCPTs on one side and DATA on the other.
					rcpt, data := commandCount(&w, "RCPT"), commandCount(&w, "DATA")
					if rcpt+9 < 3*data || rcpt > 3*data+9 { // 3 clients, 3 recipients
						t.Errorf("%s: %d RCPT for %d DATA", w.Name, commandCount(&w, "RCPT"), commandCount(&w, "DATA"))
					}
				case "idle":
					if w.Idle.Notified == 0 || w.Idle.Notified != w.Idle.Expected {
						t.Errorf("idle: %+v", w.Idle)
					}
				}
			}
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
				Duration:  3 * time.Second,
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

// runSmoke runs cfg; when a workload completed nothing in the window
// without an error (a machine so busy that not one session fitted), it
// runs again with the window doubled, up to twice.
func runSmoke(t *testing.T, cfg Config) (*Report, error) {
	t.Helper()
	for try := 0; ; try++ {
		r, err := Run(context.Background(), cfg)
		if err != nil || try == 2 || !idleWindow(r) {
			return r, err
		}
		t.Logf("nothing completed in %v (a busy machine): again with twice the window", cfg.Duration)
		cfg.Duration *= 2
	}
}

// idleWindow reports whether some workload of r made no progress and
// had no errors.
func idleWindow(r *Report) bool {
	for _, w := range r.Workloads {
		if w.Errors == 0 && (w.Ops == 0 || w.Name != "idle" && w.Primary.Value <= 0) {
			return true
		}
	}
	return false
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
			// A notice may come before the acknowledgement: 0 then.
			zeroOK := c.Name == "EXISTS AFTER OK"
			if c.Count > 0 && ((c.P50 <= 0 && !zeroOK) || c.P99 < c.P50 || c.Max < c.P99) {
				t.Errorf("%s %s: latencies out of order: %+v", w.Name, c.Name, c)
			}
		}
	}
	if testing.Verbose() {
		r.WriteText(os.Stderr)
	}
}

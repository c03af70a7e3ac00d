package queue_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/auth"
	"postfach/internal/config"
	"postfach/internal/dns/dnstest"
	"postfach/internal/imaptest"
	"postfach/internal/mailauth"
	"postfach/internal/queue"
	"postfach/internal/server"
	"postfach/internal/tlsutil"
)

// The acceptance test of outbound mail: two complete postfach instances
// on loopback. "local" (mail.local.test, domain local.test) takes a
// submission from alice and queues it; its queue finds the MX of
// remote.test through its zone file, and delivers to the second instance
// (mx.remote.test), which checks SPF, DKIM and DMARC and stores the
// message in bob's INBOX. Both read mail over IMAPS, as users would.

const e2ePassword = "e2e-password-long-enough"

type instance struct {
	t   *testing.T
	cfg *config.Config
	srv *server.Server
}

func writeZone(t *testing.T, dir, zone string) string {
	t.Helper()
	p := filepath.Join(dir, "zone.txt")
	if err := os.WriteFile(p, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newConfig(t *testing.T, hostname string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Hostname = hostname
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Auth.Time, cfg.Auth.MemoryKiB, cfg.Auth.Threads = 1, 64, 1
	return cfg
}

// start runs an instance with the account, its domain and the DKIM keys
// of the domain.
func start(t *testing.T, cfg *config.Config, accounts ...string) *instance {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, server.Options{NoSync: true, Logger: testLogger(t, cfg.Hostname)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range accounts {
		domain := a[strings.IndexByte(a, '@')+1:]
		if _, err := srv.Store.AddDomain(ctx, domain); err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
		h, err := auth.Hash(e2ePassword, auth.Params{Time: 1, MemoryKiB: 64, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Store.AddAccount(ctx, a, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Start(ctx); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &instance{t: t, cfg: cfg, srv: srv}
}

// imap logs in over IMAPS and selects INBOX.
func (in *instance) imap(user string) *imaptest.Client {
	in.t.Helper()
	c := imaptest.Dial(in.t, in.srv.Addr("imaps").String(), true)
	c.MustOK("LOGIN " + user + " " + e2ePassword)
	c.MustOK("SELECT INBOX")
	return c
}

// waitMessage waits until user's INBOX has a message containing want,
// and returns it whole.
func (in *instance) waitMessage(user, want string) string {
	in.t.Helper()
	c := in.imap(user)
	defer c.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		r := c.MustOK("UID FETCH 1:* (BODY.PEEK[])")
		for _, l := range r.Untagged {
			if strings.Contains(l, want) {
				return l
			}
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("no message with %q in %s's INBOX on %s; found %d", want, user, in.cfg.Hostname, len(r.Untagged))
		}
		time.Sleep(50 * time.Millisecond)
		c.MustOK("NOOP")
	}
}

// submit sends a message as alice over submission with STARTTLS and AUTH,
// as a mail client does.
func submit(t *testing.T, in *instance, from string, to []string, msg string) {
	t.Helper()
	c, err := gosmtp.DialStartTLS(in.srv.Addr("submission").String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", from, e2ePassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		t.Fatalf("submission: %v", err)
	}
	c.Quit()
}

// queued lists local's queue from another handle, as `postfach queue
// list` does while the server runs.
func queued(t *testing.T, in *instance) []queue.MessageInfo {
	t.Helper()
	q, err := queue.Open(queue.DataDirQueue(in.cfg.DataDir), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l, err := q.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOutboundBetweenTwoInstances(t *testing.T) {
	// The remote: its MX listener is on an ephemeral port, which the
	// local queue learns as its smtp_port.
	rcfg := newConfig(t, "mx.remote.test")
	rcfg.Listen = config.Listen{SMTP: "127.0.0.1:0", IMAPS: "127.0.0.1:0"}

	// local's DKIM keys, published in the remote's view of DNS with SPF
	// and a DMARC policy of reject: the message only arrives if it
	// authenticates.
	lcfg := newConfig(t, "mail.local.test")
	keys, err := mailauth.GenerateKeys(lcfg.DataDir, "local.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	remoteZone := `
local.test.        TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc.local.test. 0 TXT "v=DMARC1; p=reject"
mail.local.test.   A   127.0.0.1
`
	for _, k := range keys {
		remoteZone += k.Record().String() + "\n"
	}
	// The remote asks a DNS server on loopback, which can be made to fail.
	rdns := dnstest.Start(t, remoteZone)
	rcfg.DNS.Nameservers = []string{rdns.Addr}
	remote := start(t, rcfg, "bob@remote.test")
	_, rport, _ := strings.Cut(remote.srv.Addr("smtp").String(), "127.0.0.1:")

	// The local instance trusts the remote's self-signed certificate,
	// so STARTTLS is verified, as with a CA-signed one.
	rcert, _, err := tlsutil.SelfSigned(rcfg.DataDir, rcfg.Hostname)
	if err != nil {
		t.Fatal(err)
	}
	lcfg.Listen = config.Listen{Submission: "127.0.0.1:0", IMAPS: "127.0.0.1:0"}
	lcfg.DNS.ZoneFile = writeZone(t, filepath.Dir(lcfg.DataDir), `
remote.test.      MX 10 mx.remote.test.
mx.remote.test.   A  127.0.0.1
`)
	fmt.Sscan(rport, &lcfg.Queue.SMTPPort)
	lcfg.Queue.RootCAFile = rcert
	lcfg.Queue.BackoffInitial = time.Second
	lcfg.Queue.BackoffMax = 2 * time.Second
	local := start(t, lcfg, "alice@local.test")

	t.Run("delivered with STARTTLS and a DKIM signature that verifies", func(t *testing.T) {
		submit(t, local, "alice@local.test", []string{"bob@remote.test"},
			"From: Alice <alice@local.test>\r\nTo: Bob <bob@remote.test>\r\nSubject: first contact\r\n\r\nHello Bob.\r\n")
		got := remote.waitMessage("bob@remote.test", "Subject: first contact")
		for _, want := range []string{"dkim=pass", "header.d=local.test", "spf=pass", "dmarc=pass", "with ESMTPS"} {
			if !strings.Contains(got, want) {
				t.Errorf("arrived without %q:\n%s", want, got)
			}
		}
		if n := len(queued(t, local)); n != 0 {
			t.Errorf("%d messages still queued", n)
		}
	})

	t.Run("temporary failure retried until it succeeds", func(t *testing.T) {
		// The remote cannot look up local.test's DMARC policy (SERVFAIL):
		// it answers 451 at the end of data, and the queue tries again.
		rdns.Fail("_dmarc.local.test", dnstest.ServFail)
		submit(t, local, "alice@local.test", []string{"bob@remote.test"},
			"From: Alice <alice@local.test>\r\nTo: Bob <bob@remote.test>\r\nSubject: second try\r\n\r\nAre you there?\r\n")
		deadline := time.Now().Add(time.Minute)
		for {
			l := queued(t, local)
			if len(l) == 1 && l[0].Recipients[0].Attempts >= 1 {
				if e := l[0].Recipients[0].LastError; !strings.HasPrefix(e, "451 4.") {
					t.Fatalf("deferred with %q, want the remote's 451", e)
				}
				t.Logf("deferred: %s", l[0].Recipients[0].LastError)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("never deferred: %+v", l)
			}
			time.Sleep(20 * time.Millisecond)
		}
		rdns.Fail("_dmarc.local.test", 0)
		got := remote.waitMessage("bob@remote.test", "Subject: second try")
		if !strings.Contains(got, "dmarc=pass") {
			t.Errorf("arrived without dmarc=pass:\n%s", got)
		}
		waitEmpty(t, local)
	})

	t.Run("permanent failure bounced to the sender's INBOX", func(t *testing.T) {
		submit(t, local, "alice@local.test", []string{"nobody@remote.test"},
			"From: Alice <alice@local.test>\r\nTo: <nobody@remote.test>\r\nSubject: into the void\r\n\r\nAnyone?\r\n")
		dsn := local.waitMessage("alice@local.test", "Undelivered Mail Returned to Sender")
		for _, want := range []string{
			"report-type=delivery-status",
			"Final-Recipient: rfc822; nobody@remote.test",
			"Action: failed",
			"Status: 5.1.1",
			"Remote-MTA: dns; mx.remote.test",
			"Diagnostic-Code: smtp; 550 5.1.1",
			"Subject: into the void",
		} {
			if !strings.Contains(dsn, want) {
				t.Errorf("DSN lacks %q:\n%s", want, dsn)
			}
		}
		waitEmpty(t, local)
	})
}

func waitEmpty(t *testing.T, in *instance) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(queued(t, in)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty: %+v", queued(t, in))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger sends an instance's log to the test log, prefixed with its
// name, at debug level, until the test's cleanups are done: background
// goroutines of a server that shut down may still log.
func testLogger(t *testing.T, name string) *slog.Logger {
	w := &logWriter{t: t, name: name}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct {
	t    *testing.T
	name string
	mu   sync.Mutex
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(w.name + ": " + strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

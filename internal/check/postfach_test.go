package check

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// clientListeners are the listeners a check probes.
var clientListeners = []string{"imaps", "imap", "pop3s", "pop3", "submissions", "submission", "smtp"}

// startPostfach runs postfach with every client listener on loopback
// (those this version serves) and the given certificate ("" keeps the
// self-signed one). It returns the services' ports.
func startPostfach(t testing.TB, certFile, keyFile string, configure func(*config.Config)) (*imaptest.Env, map[string]int) {
	t.Helper()
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		l := "127.0.0.1:0"
		cfg.Listen = config.Listen{IMAP: l, IMAPS: l, POP3: l, POP3S: l, Submission: l, Submissions: l, SMTP: l}
		cfg.TLS.Cert, cfg.TLS.Key = certFile, keyFile
		if configure != nil {
			configure(cfg)
		}
	}})
	ports := map[string]int{}
	for _, name := range clientListeners {
		if a, ok := env.Server.Addr(name).(*net.TCPAddr); ok {
			ports[name] = a.Port
		}
	}
	if ports["imaps"] == 0 || ports["imap"] == 0 {
		t.Fatalf("IMAP listeners not bound: %v", ports)
	}
	return env, ports
}

// postfachOptions checks the bound services only.
func postfachOptions(ports map[string]int, roots *testCA) Options {
	o := Options{Host: "127.0.0.1", Ports: ports, Timeout: 5 * time.Second}
	for name := range ports {
		o.Only = append(o.Only, name)
	}
	if roots != nil {
		o.Roots = roots.pool
	}
	return o
}

func runCheck(t *testing.T, opts Options) *Report {
	t.Helper()
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	return rep
}

func probe(t *testing.T, rep *Report, service string) *Probe {
	t.Helper()
	for _, p := range rep.Probes {
		if p.Service == service {
			return p
		}
	}
	t.Fatalf("no probe of %s", service)
	return nil
}

// expectFinding asserts a finding of the level and check whose text
// contains text.
func expectFinding(t *testing.T, p *Probe, level Level, check, text string) {
	t.Helper()
	for _, f := range p.Findings {
		if f.Level == level && f.Check == check && strings.Contains(f.Text, text) {
			return
		}
	}
	t.Errorf("%s: no %s %s finding containing %q in %+v", p.Service, level, check, text, p.Findings)
}

// certLevel is the level of a certificate problem: a failure for
// clients, a warning on port 25, where senders deliver anyway unless
// MTA-STS or DANE make them strict.
func certLevel(p *Probe) Level {
	if p.Service == "smtp" {
		return Warn
	}
	return Fail
}

func TestPostfachGoodCertificate(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, t.TempDir(), goodLeaf())
	_, ports := startPostfach(t, cert, key, nil)
	rep := runCheck(t, postfachOptions(ports, ca))
	if rep.Verdict != OK || rep.Verdict.ExitStatus() != 0 {
		t.Errorf("verdict %v", rep.Verdict)
	}
	if rep.Address != "127.0.0.1" || rep.ServerName != "127.0.0.1" {
		t.Errorf("address %q name %q", rep.Address, rep.ServerName)
	}
	for _, p := range rep.Probes {
		if !p.Reachable || p.Verdict != OK || p.Port != ports[p.Service] || p.Greet <= 0 {
			t.Errorf("%s: %+v", p.Service, p)
			continue
		}
		if p.TLS == nil || p.TLS.Version != "TLS 1.3" || p.TLS.Cipher == "" {
			t.Errorf("%s: TLS %+v", p.Service, p.TLS)
		}
		if c := p.Certificate; c == nil || !c.Trusted || !c.NameMatch || c.DaysLeft < 88 || c.DaysLeft > 90 || c.Issuer != "CN=postfach test CA" {
			t.Errorf("%s: certificate %+v", p.Service, c)
		}
		expectFinding(t, p, OK, "certificate", "valid for 127.0.0.1, issued by postfach test CA")
		expectFinding(t, p, OK, "greeting", "greeting after")
		if p.PlaintextLogin {
			t.Errorf("%s: plaintext login before TLS", p.Service)
		}
	}
	imaps, imap := probe(t, rep, "imaps"), probe(t, rep, "imap")
	if imaps.TLS.Mode != "implicit" || imap.TLS.Mode != "starttls" {
		t.Errorf("TLS modes %q %q", imaps.TLS.Mode, imap.TLS.Mode)
	}
	expectFinding(t, imap, OK, "plaintext-login", "LOGINDISABLED")
	for _, p := range []*Probe{imaps, imap} {
		if !slices.Contains(p.Capabilities, "IDLE") || !slices.Contains(p.SASL, "PLAIN") {
			t.Errorf("%s: capabilities %v, SASL %v", p.Service, p.Capabilities, p.SASL)
		}
	}
	if _, ok := ports["pop3"]; ok {
		expectFinding(t, probe(t, rep, "pop3"), OK, "plaintext-login", "no password login before STLS")
	}

	// The JSON form carries the same.
	var buf strings.Builder
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Verdict string
		Probes  []struct {
			Service     string
			Verdict     string
			Connect     float64 `json:"connect_ms"`
			Certificate struct{ Trusted bool }
			Findings    []struct{ Level, Check, Text string }
		}
	}
	if err := json.Unmarshal([]byte(buf.String()), &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != "ok" || len(back.Probes) != len(ports) || !back.Probes[0].Certificate.Trusted || back.Probes[0].Findings[0].Level == "" || back.Probes[0].Connect <= 0 {
		t.Errorf("JSON %s", buf.String())
	}
}

func TestPostfachAccount(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, t.TempDir(), goodLeaf())
	_, ports := startPostfach(t, cert, key, nil)
	opts := postfachOptions(ports, ca)
	opts.User, opts.Password = "alice@example.org", imaptest.Password
	_, canSend := ports["submissions"]
	opts.SendTest = canSend
	rep := runCheck(t, opts)
	imaps := probe(t, rep, "imaps")
	expectFinding(t, imaps, OK, "login", "logged in as alice@example.org")
	expectFinding(t, imaps, OK, "mailboxes", "6 mailboxes: ")
	expectFinding(t, imaps, OK, "capabilities", "after login: ")
	for _, mb := range []string{"INBOX", "Drafts", "Sent", "Junk", "Trash", "Archive"} {
		expectFinding(t, imaps, OK, "mailboxes", mb)
	}
	if _, ok := ports["pop3s"]; ok {
		expectFinding(t, probe(t, rep, "pop3s"), OK, "stat", "STAT: 0 messages, 0 octets")
	}
	if canSend {
		expectFinding(t, probe(t, rep, "submissions"), OK, "auth", "logged in as alice@example.org")
		expectFinding(t, imaps, OK, "push", "IDLE pushed the test message")
	}
	if rep.Verdict != OK {
		t.Errorf("verdict %v", rep.Verdict)
	}

	// A wrong password fails each login, and is not in the report.
	opts.Password, opts.SendTest = "not-the-password", false
	rep = runCheck(t, opts)
	expectFinding(t, probe(t, rep, "imaps"), Fail, "login", "login as alice@example.org refused")
	var buf strings.Builder
	rep.WriteJSON(&buf)
	rep.WriteText(&buf)
	if strings.Contains(buf.String(), opts.Password) {
		t.Error("the password is in the report")
	}
	if rep.Verdict != Fail {
		t.Errorf("verdict %v", rep.Verdict)
	}
}

func TestPostfachExpiredCertificate(t *testing.T) {
	ca := newTestCA(t)
	leaf := goodLeaf()
	leaf.notBefore, leaf.notAfter = time.Now().Add(-100*24*time.Hour), time.Now().Add(-3*24*time.Hour)
	cert, key := ca.issue(t, t.TempDir(), leaf)
	_, ports := startPostfach(t, cert, key, nil)
	opts := postfachOptions(ports, ca)
	opts.User, opts.Password = "alice@example.org", imaptest.Password
	rep := runCheck(t, opts)
	if rep.Verdict != Fail || rep.Verdict.ExitStatus() != 2 {
		t.Errorf("verdict %v", rep.Verdict)
	}
	for _, p := range rep.Probes {
		expectFinding(t, p, certLevel(p), "certificate", "expired 3 days ago")
		// The chain itself is fine: only the date is wrong.
		if c := p.Certificate; c == nil || !c.Trusted || !c.NameMatch || c.DaysLeft > -2 {
			t.Errorf("%s: certificate %+v", p.Service, c)
		}
	}
	// No password over a connection a client would refuse.
	expectFinding(t, probe(t, rep, "imaps"), Fail, "login", "not logging in over IMAP")
}

func TestPostfachWrongHostName(t *testing.T) {
	ca := newTestCA(t)
	leaf := goodLeaf()
	leaf.names, leaf.ips = []string{"wrong.example.net"}, nil
	cert, key := ca.issue(t, t.TempDir(), leaf)
	_, ports := startPostfach(t, cert, key, nil)
	rep := runCheck(t, postfachOptions(ports, ca))
	if rep.Verdict != Fail {
		t.Errorf("verdict %v", rep.Verdict)
	}
	for _, p := range rep.Probes {
		expectFinding(t, p, certLevel(p), "certificate", "does not name 127.0.0.1; it names wrong.example.net")
		if c := p.Certificate; c == nil || !c.Trusted || c.NameMatch {
			t.Errorf("%s: certificate %+v", p.Service, c)
		}
	}
	// Checked under the name it has, the same server is fine.
	opts := postfachOptions(ports, ca)
	opts.ServerName = "wrong.example.net"
	if rep := runCheck(t, opts); rep.Verdict != OK {
		t.Errorf("with --tls-name: verdict %v", rep.Verdict)
	}
}

func TestPostfachPlaintextLoginBeforeTLS(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, t.TempDir(), goodLeaf())
	_, ports := startPostfach(t, cert, key, func(cfg *config.Config) { cfg.Auth.AllowPlaintextLoopback = true })
	rep := runCheck(t, postfachOptions(ports, ca))
	if rep.Verdict != Warn || rep.Verdict.ExitStatus() != 1 {
		t.Errorf("verdict %v", rep.Verdict)
	}
	imap := probe(t, rep, "imap")
	if !imap.PlaintextLogin || imap.Verdict != Warn {
		t.Errorf("imap: %+v", imap)
	}
	expectFinding(t, imap, Warn, "plaintext-login", "offered before STARTTLS")
	// Implicit TLS ports have nothing before TLS.
	if p := probe(t, rep, "imaps"); p.PlaintextLogin || p.Verdict != OK {
		t.Errorf("imaps: %+v", p)
	}
}

func TestPostfachSelfSigned(t *testing.T) {
	env, ports := startPostfach(t, "", "", nil)
	rep := runCheck(t, postfachOptions(ports, nil))
	// Without its certificate among the roots: not trusted. The system
	// roots never include a fresh self-signed certificate.
	for _, p := range rep.Probes {
		expectFinding(t, p, certLevel(p), "certificate", "self-signed (give its CA with --ca FILE to trust it)")
	}
	// Trusting the certificate itself.
	self := &testCA{pool: mustPool(t, filepath.Join(env.Config.DataDir, "tls", "cert.pem"))}
	if rep := runCheck(t, postfachOptions(ports, self)); rep.Verdict != OK {
		t.Errorf("with the certificate trusted: verdict %v", rep.Verdict)
	}
}

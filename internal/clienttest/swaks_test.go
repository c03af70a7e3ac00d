package clienttest

import (
	"os"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

// swaks (Debian swaks; TLS needs libnet-ssleay-perl) is the SMTP test
// tool operators reach for: every listener, STARTTLS, implicit TLS, AUTH
// PLAIN and LOGIN, LMTP over TCP and a unix socket, pipelining.
const swaksPath = "/usr/bin/swaks"

const swaksTimeout = time.Minute

// runSwaks runs swaks and returns its transcript; wantOK says whether
// the transaction must succeed (exit 0) or fail.
func runSwaks(t *testing.T, wantOK bool, args ...string) string {
	t.Helper()
	bin := requireClient(t, swaksPath, "swaks")
	requireSwaksTLS(t)
	args = append([]string{"--timeout", "20"}, args...)
	out, err := execClient(swaksTimeout, t.TempDir(), bin, args...)
	if wantOK && err != nil {
		t.Fatalf("swaks %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !wantOK && err == nil {
		t.Fatalf("swaks %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// requireSwaksTLS checks that swaks can do TLS: it loads Net::SSLeay
// (Debian libnet-ssleay-perl). Without it swaks silently lacks STARTTLS;
// the test then skips or fails as for a missing client.
func requireSwaksTLS(t *testing.T) {
	t.Helper()
	if out, err := execClient(swaksTimeout, t.TempDir(), "/usr/bin/perl", "-MNet::SSLeay", "-e", "1"); err != nil {
		msg := "swaks cannot do TLS: Perl's Net::SSLeay is missing (Debian package libnet-ssleay-perl): " + strings.TrimSpace(out)
		if os.Getenv(requireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// expectLines checks that a transcript holds each of want.
func expectLines(t *testing.T, transcript string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(transcript, w) {
			t.Errorf("swaks transcript lacks %q:\n%s", w, transcript)
		}
	}
}

func TestSwaksMX(t *testing.T) {
	env := startSMTP(t, false, nil)
	out := runSwaks(t, true, "--server", env.SMTP, "--helo", "client.example",
		"--from", "bob@remote.test", "--to", "alice@example.org",
		"--header", "Subject: swaks on the MX", "--body", "plain MX delivery")
	expectLines(t, out, "<-  220 mail.example.org ESMTP", "250-PIPELINING", "250-STARTTLS", "<-  250 2.0.0 Delivered")
	// STARTTLS, pipelined commands, two recipients, one unknown.
	out = runSwaks(t, true, "--server", env.SMTP, "--helo", "client.example", "--tls", "--pipeline",
		"--from", "bob@remote.test", "--to", "alice@example.org,nobody@example.org,bob@example.org",
		"--header", "Subject: swaks with STARTTLS", "--body", "over TLS")
	expectLines(t, out, "<-  220 2.0.0 Ready to start TLS", "250-REQUIRETLS", "550 5.1.1", "<~  250 2.0.0 Delivered")
	// Relaying is refused.
	out = runSwaks(t, false, "--server", env.SMTP, "--helo", "client.example",
		"--from", "bob@remote.test", "--to", "someone@elsewhere.test")
	expectLines(t, out, "<** 550 5.7.1 Relaying denied")

	a := env.mailbox(t, "alice@example.org", "INBOX")
	if len(a) != 2 || !strings.Contains(a[0], "Subject: swaks on the MX") || !strings.Contains(a[1], " with ESMTPS id ") {
		t.Fatalf("alice has %d messages: %q", len(a), a)
	}
	if b := env.mailbox(t, "bob@example.org", "INBOX"); len(b) != 1 || !strings.Contains(b[0], "Authentication-Results: mail.example.org;") {
		t.Fatalf("bob has %q", b)
	}
}

func TestSwaksSubmission(t *testing.T) {
	env := startSMTP(t, false, nil)
	auth := []string{"--auth-user", "alice@example.org", "--auth-password", imaptest.Password}
	// 587: STARTTLS, then AUTH PLAIN.
	out := runSwaks(t, true, append([]string{"--server", env.Submission, "--helo", "client.example", "--tls", "--auth", "PLAIN",
		"--from", "alice@example.org", "--to", "bob@example.org", "--header", "Subject: swaks submission 587"}, auth...)...)
	expectLines(t, out, "250-STARTTLS", "~> AUTH PLAIN", "<~  235 2.0.0", "<~  250 2.0.0 Delivered")
	// 465: implicit TLS, AUTH LOGIN.
	out = runSwaks(t, true, append([]string{"--server", env.Submissions, "--helo", "client.example", "--tls-on-connect", "--auth", "LOGIN",
		"--from", "alice@example.org", "--to", "bob@example.org", "--header", "Subject: swaks submissions 465"}, auth...)...)
	expectLines(t, out, "~> AUTH LOGIN", "<~  235 2.0.0")
	// AUTH before STARTTLS is not even offered; swaks gives up.
	out = runSwaks(t, false, append([]string{"--server", env.Submission, "--helo", "client.example", "--auth", "PLAIN",
		"--from", "alice@example.org", "--to", "bob@example.org"}, auth...)...)
	if strings.Contains(out, "AUTH PLAIN") && !strings.Contains(out, "538 5.7.11") {
		t.Errorf("AUTH went out before TLS:\n%s", out)
	}
	// Wrong password; someone else's address.
	out = runSwaks(t, false, "--server", env.Submission, "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.org", "--auth-password", "wrong",
		"--from", "alice@example.org", "--to", "bob@example.org")
	expectLines(t, out, "<~* 535 5.7.8")
	out = runSwaks(t, false, append([]string{"--server", env.Submission, "--tls", "--auth", "PLAIN",
		"--from", "bob@example.org", "--to", "alice@example.org"}, auth...)...)
	expectLines(t, out, "<~* 550 5.7.1 Sender address <bob@example.org> does not belong to alice@example.org")
	out = runSwaks(t, false, append([]string{"--server", env.Submission, "--tls", "--auth", "PLAIN",
		"--from", "alice@example.org", "--to", "bob@example.org", "--header", "From: Bob <bob@example.org>"}, auth...)...)
	expectLines(t, out, "<~* 550 5.7.1 From address <bob@example.org> does not belong to alice@example.org")

	b := env.mailbox(t, "bob@example.org", "INBOX")
	if len(b) != 2 || !strings.Contains(b[0], "Subject: swaks submission 587") || !strings.Contains(b[1], " with ESMTPSA id ") {
		t.Fatalf("bob has %d messages: %q", len(b), b)
	}
}

func TestSwaksLMTP(t *testing.T) {
	for _, unix := range []bool{false, true} {
		name := "tcp"
		if unix {
			name = "unix"
		}
		t.Run(name, func(t *testing.T) {
			env := startSMTP(t, unix, nil)
			target := []string{"--server", env.LMTP}
			if unix {
				target = []string{"--socket", env.LMTPSocket}
			}
			out := runSwaks(t, true, append(target, "--protocol", "LMTP", "--helo", "mta.example",
				"--from", "bob@remote.test", "--to", "alice@example.org,bob@example.org",
				"--header", "Subject: swaks over LMTP")...)
			expectLines(t, out, "<-  220 mail.example.org LMTP", "-> LHLO mta.example", "<-  250 2.0.0 <alice@example.org> Delivered", "<-  250 2.0.0 <bob@example.org> Delivered")
			for _, u := range []string{"alice@example.org", "bob@example.org"} {
				m := env.mailbox(t, u, "INBOX")
				if len(m) != 1 || !strings.Contains(m[0], " with LMTP id ") {
					t.Fatalf("%s has %q", u, m)
				}
			}
		})
	}
}

package queue

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/dns"
	"postfach/internal/dns/dnstest"
)

func TestDeliverWithSTARTTLS(t *testing.T) {
	e := newEnv(t, envOptions{})
	msg := testMessage("alice@local.test", "bob@remote.test", "hi")
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test"}, {Addr: "carol@remote.test"}}}, msg)
	e.waitGone(id)
	got := e.remote.messages()
	if len(got) != 1 {
		t.Fatalf("remote got %d messages, want 1 (one transaction for both recipients)", len(got))
	}
	r := got[0]
	if !r.tls {
		t.Error("the message did not travel over TLS")
	}
	if r.helo != "mail.local.test" {
		t.Errorf("EHLO name %q, want mail.local.test", r.helo)
	}
	if r.from != "alice@local.test" || strings.Join(r.to, ",") != "bob@remote.test,carol@remote.test" {
		t.Errorf("envelope %s -> %v", r.from, r.to)
	}
	if !bytes.Equal(r.data, msg) {
		t.Errorf("content changed on the way:\n%q\nwant\n%q", r.data, msg)
	}
	if r.mailOpts.Body == gosmtp.Body8BitMIME {
		t.Error("BODY=8BITMIME for a 7-bit message")
	}
	if n := len(e.local.messages("alice@local.test")); n != 0 {
		t.Errorf("sender got %d DSNs for a successful delivery", n)
	}
}

func TestDeliverWithoutTLS(t *testing.T) {
	e := newEnv(t, envOptions{noTLS: true})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	e.waitGone(id)
	if got := e.remote.messages(); len(got) != 1 || got[0].tls {
		t.Fatalf("remote got %+v, want one message without TLS", got)
	}
}

// An untrusted certificate does not stop opportunistic TLS (RFC 7435).
func TestDeliverOpportunisticUntrustedCertificate(t *testing.T) {
	other := newTestCA(t)
	cert := other.issue(t, "mx.remote.test")
	e := newEnv(t, envOptions{remote: remoteOptions{tlsConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	e.waitGone(id)
	if got := e.remote.messages(); len(got) != 1 || !got[0].tls {
		t.Fatalf("remote got %+v, want one message over TLS", got)
	}
}

func TestEightBitAndSize(t *testing.T) {
	e := newEnv(t, envOptions{remote: remoteOptions{maxSize: 1 << 20}})
	msg := []byte("From: <alice@local.test>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nSch\xc3\xb6n.\r\n")
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test"}}}, msg)
	e.waitGone(id)
	got := e.remote.messages()
	if len(got) != 1 {
		t.Fatalf("remote got %d messages", len(got))
	}
	if got[0].mailOpts.Body != gosmtp.Body8BitMIME {
		t.Errorf("BODY=%q, want 8BITMIME", got[0].mailOpts.Body)
	}
	if got[0].mailOpts.Size != int64(len(msg)) {
		t.Errorf("SIZE=%d, want %d", got[0].mailOpts.Size, len(msg))
	}
	if !bytes.Equal(got[0].data, msg) {
		t.Errorf("content changed: %q", got[0].data)
	}

	// Larger than the remote's SIZE: a permanent failure before MAIL.
	big := append(bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), (1<<20)/64+1), "\r\n"...)
	big = append([]byte("Subject: big\r\n\r\n"), big...)
	id = e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test"}}}, big)
	e.waitGone(id)
	dsn := e.waitDSN("alice@local.test", 1)
	checkDSN(t, dsn[0], "failed", "5.3.4")
}

func TestTemporaryFailureRetriedUntilSuccess(t *testing.T) {
	e := newEnv(t, envOptions{})
	failures := 2
	e.remote.setRcptReply(func(to string) error {
		if failures > 0 {
			failures--
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try later"}
		}
		return nil
	})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	mi := e.waitAttempts(id, 1)
	r := mi.Recipients[0]
	if !strings.Contains(r.LastError, "451 4.7.1 greylisted") || r.RemoteMTA != "mx.remote.test" {
		t.Errorf("after the first attempt: %+v", r)
	}
	// The first retry is due after about 5 minutes (10% jitter).
	if wait := r.NextAttempt.Sub(e.clock.Now()); wait < 4*time.Minute || wait > 6*time.Minute {
		t.Errorf("next attempt in %v, want about 5m", wait)
	}
	// Not yet due: a kick does nothing.
	e.clock.advance(4 * time.Minute)
	e.q.Kick()
	time.Sleep(100 * time.Millisecond)
	if got := e.waitAttempts(id, 1).Recipients[0].Attempts; got != 1 {
		t.Fatalf("attempted %d times before the retry was due", got)
	}
	e.clock.advance(2 * time.Minute)
	e.q.Kick()
	mi = e.waitAttempts(id, 2)
	// The second retry waits about twice as long.
	if wait := mi.Recipients[0].NextAttempt.Sub(e.clock.Now()); wait < 9*time.Minute || wait > 11*time.Minute {
		t.Errorf("second retry in %v, want about 10m", wait)
	}
	e.clock.advance(11 * time.Minute)
	e.q.Kick()
	e.waitGone(id)
	if got := e.remote.messages(); len(got) != 1 {
		t.Fatalf("remote got %d messages, want 1", len(got))
	}
	if n := len(e.local.messages("alice@local.test")); n != 0 {
		t.Errorf("%d DSNs for a delivery that succeeded within the delay warning", n)
	}
}

func TestPermanentFailureBouncesToLocalSender(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setRcptReply(func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		return nil
	})
	msg := testMessage("alice@local.test", "nobody@remote.test", "lost")
	id := e.enqueueEnv(Envelope{From: "alice@local.test", ENVID: "env-42", To: []Recipient{
		{Addr: "nobody@remote.test", ORCPTType: "rfc822", ORCPT: "Nobody@remote.test"},
		{Addr: "bob@remote.test"},
	}}, msg)
	e.waitGone(id)
	if got := e.remote.messages(); len(got) != 1 || strings.Join(got[0].to, ",") != "bob@remote.test" {
		t.Fatalf("remote got %+v, want one message to bob", got)
	}
	dsn := e.waitDSN("alice@local.test", 1)
	rep := checkDSN(t, dsn[0], "failed", "5.1.1")
	for _, want := range []string{
		"Reporting-MTA: dns; mail.local.test",
		"Original-Envelope-Id: env-42",
		"Final-Recipient: rfc822; nobody@remote.test",
		"Original-Recipient: rfc822; Nobody@remote.test",
		"Remote-MTA: dns; mx.remote.test",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user here",
	} {
		if !strings.Contains(rep.status, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, rep.status)
		}
	}
	if strings.Contains(rep.status, "bob@remote.test") {
		t.Error("the DSN reports the recipient that was delivered")
	}
	// No RET: the whole message comes back.
	if rep.origType != "message/rfc822" || !bytes.Equal(rep.orig, msg) {
		t.Errorf("returned %s %q, want the message", rep.origType, rep.orig)
	}
	// Nothing is left: the DSN went to the local mailbox.
	waitFor(t, "an empty queue", func() bool { return len(e.list()) == 0 })
}

func TestFailureDSNHonoursRETAndNotify(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setRcptReply(func(to string) error {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no"}
	})
	msg := testMessage("alice@local.test", "x@remote.test", "headers only")
	id := e.enqueueEnv(Envelope{From: "alice@local.test", RET: "HDRS", To: []Recipient{{Addr: "x@remote.test"}, {Addr: "quiet@remote.test", Notify: NotifyNever}}}, msg)
	e.waitGone(id)
	dsn := e.waitDSN("alice@local.test", 1)
	rep := checkDSN(t, dsn[0], "failed", "5.1.1")
	if rep.origType != "text/rfc822-headers" || !bytes.HasSuffix(rep.orig, []byte("\r\n\r\n")) || bytes.Contains(rep.orig, []byte("Hello there")) {
		t.Errorf("RET=HDRS returned %s %q", rep.origType, rep.orig)
	}
	if strings.Contains(rep.status, "quiet@") {
		t.Error("a NOTIFY=NEVER recipient is in the DSN")
	}

	// The null sender never gets a DSN.
	id = e.enqueueEnv(Envelope{From: "", To: []Recipient{{Addr: "x@remote.test"}}}, msg)
	e.waitGone(id)
	time.Sleep(100 * time.Millisecond)
	if n := len(e.list()); n != 0 {
		t.Errorf("%d messages queued after a bounce to the null sender", n)
	}
}

func TestRemoteSenderGetsDSNBySMTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setRcptReply(func(to string) error {
		if to == "gone@remote.test" {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "gone"}
		}
		return nil
	})
	// A message relayed for a remote sender (a forwarding alias, say).
	id := e.enqueue("sender@remote.test", "gone@remote.test")
	e.waitGone(id)
	waitFor(t, "the DSN at the remote", func() bool { return len(e.remote.messages()) == 1 })
	got := e.remote.messages()[0]
	if got.from != "" || len(got.to) != 1 || got.to[0] != "sender@remote.test" {
		t.Fatalf("DSN envelope %q -> %v, want <> -> sender@remote.test", got.from, got.to)
	}
	checkDSN(t, got.data, "failed", "5.1.1")
}

func TestExpiryAndDelayWarning(t *testing.T) {
	e := newEnv(t, envOptions{opts: func(o *Options) {
		o.Expiry = time.Hour
		o.DelayWarning = 15 * time.Minute
		o.BackoffInitial = 10 * time.Minute
		o.BackoffMax = 20 * time.Minute
	}})
	e.remote.setRcptReply(func(to string) error {
		return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}
	})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	attempts := 1
	e.waitAttempts(id, attempts)
	for i := 0; ; i++ {
		if i > 20 {
			t.Fatal("the message never expired")
		}
		// The cap plus its 10% jitter.
		e.clock.advance(23 * time.Minute)
		e.q.Kick()
		attempts++
		gone := false
		waitFor(t, "the next attempt", func() bool {
			for _, m := range e.list() {
				if m.ID == id {
					return m.Recipients[0].Attempts >= attempts
				}
			}
			gone = true
			return true
		})
		if gone {
			break
		}
	}
	// One delay warning after 15 minutes, then the failure at the expiry.
	dsns := e.waitDSN("alice@local.test", 2)
	delay := checkDSN(t, dsns[0], "delayed", "4.2.1")
	if !strings.Contains(delay.status, "Will-Retry-Until:") || delay.origType != "text/rfc822-headers" {
		t.Errorf("delay DSN: %s / %s", delay.status, delay.origType)
	}
	if !strings.Contains(delay.subject, "Delayed") {
		t.Errorf("delay DSN subject %q", delay.subject)
	}
	fail := checkDSN(t, e.local.messages("alice@local.test")[1], "failed", "4.4.7")
	if !strings.Contains(fail.status, "Diagnostic-Code: smtp; 450 4.2.1 mailbox busy") {
		t.Errorf("expiry DSN lacks the last error:\n%s", fail.status)
	}
	if n := len(e.local.messages("alice@local.test")); n != 2 {
		t.Errorf("%d DSNs, want one delay warning and one failure", n)
	}
}

func TestNullMXBounces(t *testing.T) {
	e := newEnv(t, envOptions{zone: testZone + "null.test. MX 0 .\n"})
	id := e.enqueue("alice@local.test", "x@null.test")
	e.waitGone(id)
	rep := checkDSN(t, e.waitDSN("alice@local.test", 1)[0], "failed", "5.1.10")
	if !strings.Contains(rep.status, "null MX") {
		t.Errorf("status:\n%s", rep.status)
	}
}

func TestNoSuchDomainBounces(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.enqueue("alice@local.test", "x@nowhere.test")
	e.waitGone(id)
	checkDSN(t, e.waitDSN("alice@local.test", 1)[0], "failed", "5.1.2")
}

// Without MX records, the domain's own address is the mail exchanger
// (RFC 5321 section 5.1); hosts are tried in preference order, past one
// that does not answer.
func TestImplicitMXAndFallback(t *testing.T) {
	zone := testZone + `
plain.test.      A  127.0.0.1
multi.test.      MX 5  dead.multi.test.
multi.test.      MX 10 mx.remote.test.
dead.multi.test. A  127.0.0.254
`
	e := newEnv(t, envOptions{zone: zone})
	id1 := e.enqueue("alice@local.test", "a@plain.test")
	id2 := e.enqueue("alice@local.test", "b@multi.test")
	e.waitGone(id1)
	e.waitGone(id2)
	if n := len(e.remote.messages()); n != 2 {
		t.Fatalf("remote got %d messages, want 2", n)
	}
}

func TestAllHostsDownDefers(t *testing.T) {
	zone := `
down.test.    MX 10 mx.down.test.
mx.down.test. A  127.0.0.254
`
	e := newEnv(t, envOptions{zone: zone})
	id := e.enqueue("alice@local.test", "x@down.test")
	mi := e.waitAttempts(id, 1)
	if r := mi.Recipients[0]; !strings.HasPrefix(r.LastError, "451 4.4.1") {
		t.Errorf("last error %q, want a connection failure", r.LastError)
	}
}

func TestDSNParametersPassedOn(t *testing.T) {
	e := newEnv(t, envOptions{remote: remoteOptions{dsn: true}})
	id := e.enqueueEnv(Envelope{From: "alice@local.test", RET: "HDRS", ENVID: "id+1=2", To: []Recipient{
		{Addr: "bob@remote.test", Notify: NotifySuccess | NotifyFailure, ORCPTType: "rfc822", ORCPT: "Bob@Remote.test"},
	}}, testMessage("alice@local.test", "bob@remote.test", "dsn"))
	e.waitGone(id)
	got := e.remote.messages()[0]
	if got.mailOpts.Return != gosmtp.DSNReturnHeaders || got.mailOpts.EnvelopeID != "id+1=2" {
		t.Errorf("MAIL options %+v", got.mailOpts)
	}
	ro := got.rcptOpts[0]
	if len(ro.Notify) != 2 || ro.Notify[0] != gosmtp.DSNNotifySuccess || ro.Notify[1] != gosmtp.DSNNotifyFailure || ro.OriginalRecipient != "Bob@Remote.test" || ro.OriginalRecipientType != gosmtp.DSNAddressTypeRFC822 {
		t.Errorf("RCPT options %+v", ro)
	}
	// The remote reports success itself: no DSN from us.
	time.Sleep(100 * time.Millisecond)
	if n := len(e.local.messages("alice@local.test")); n != 0 {
		t.Errorf("%d DSNs from us although the remote does DSN", n)
	}
}

// NOTIFY=SUCCESS through a host without DSN: we say "relayed" (RFC 3461
// section 5.2.2).
func TestRelayedDSN(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test", Notify: NotifySuccess}}}, testMessage("alice@local.test", "bob@remote.test", "x"))
	e.waitGone(id)
	rep := checkDSN(t, e.waitDSN("alice@local.test", 1)[0], "relayed", "2.0.0")
	if !strings.Contains(rep.subject, "Successful") {
		t.Errorf("subject %q", rep.subject)
	}
}

func TestSMTPUTF8(t *testing.T) {
	e := newEnv(t, envOptions{remote: remoteOptions{smtputf8: true}})
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "jürgen@remote.test"}}}, testMessage("alice@local.test", "x", "utf8"))
	e.waitGone(id)
	got := e.remote.messages()[0]
	if !got.mailOpts.UTF8 || got.to[0] != "jürgen@remote.test" {
		t.Errorf("MAIL %+v to %v", got.mailOpts, got.to)
	}
}

func TestSMTPUTF8UnsupportedBounces(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "jürgen@remote.test"}}}, testMessage("alice@local.test", "x", "utf8"))
	e.waitGone(id)
	rep := checkDSN(t, e.waitDSN("alice@local.test", 1)[0], "failed", "5.6.7")
	if !strings.Contains(rep.contentType, "global-delivery-status") {
		t.Errorf("DSN about a UTF-8 address is %q, want the global report type", rep.contentType)
	}
	if n := len(e.remote.messages()); n != 0 {
		t.Errorf("remote got %d messages", n)
	}
}

// mtastsHost serves an MTA-STS policy over HTTPS for remote.test, with a
// certificate of ca.
func mtastsHost(t *testing.T, ca *testCA, policy string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.remote.test" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, policy)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "mta-sts.remote.test")}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

const stsZone = testZone + `
_mta-sts.remote.test.   TXT "v=STSv1; id=20261126"
mta-sts.remote.test.    A   127.0.0.1
`

// stsEnv is an env whose remote.test publishes policy.
func stsEnv(t *testing.T, policy string, ro remoteOptions, noTLS bool) *env {
	t.Helper()
	ca := newTestCA(t)
	srv := mtastsHost(t, ca, policy)
	return newEnv(t, envOptions{zone: stsZone, ca: ca, remote: ro, noTLS: noTLS, opts: func(o *Options) {
		o.MTASTSPort = srv.Listener.Addr().(*net.TCPAddr).Port
	}})
}

func TestMTASTSEnforceRefusesMismatchingMX(t *testing.T) {
	e := stsEnv(t, "version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.test\r\nmax_age: 86400\r\n", remoteOptions{}, false)
	id := e.enqueue("alice@local.test", "bob@remote.test")
	mi := e.waitAttempts(id, 1)
	if r := mi.Recipients[0]; !strings.Contains(r.LastError, "does not match the MTA-STS policy") {
		t.Errorf("last error %q", r.LastError)
	}
	e.remote.mu.Lock()
	sessions := e.remote.sessions
	e.remote.mu.Unlock()
	if sessions != 0 {
		t.Errorf("%d connections to an MX the policy does not name", sessions)
	}
}

func TestMTASTSEnforceDeliversToMatchingMX(t *testing.T) {
	e := stsEnv(t, "version: STSv1\nmode: enforce\nmx: *.remote.test\nmax_age: 86400\n", remoteOptions{}, false)
	id := e.enqueue("alice@local.test", "bob@remote.test")
	e.waitGone(id)
	if got := e.remote.messages(); len(got) != 1 || !got[0].tls {
		t.Fatalf("remote got %+v", got)
	}
	// The policy is cached in the database and survives a restart even
	// when its TXT record is gone (RFC 8461 section 10.2).
	var n int
	if err := e.q.rdb.QueryRow("SELECT COUNT(*) FROM mtasts WHERE domain = 'remote.test'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("cached policies: %d, %v", n, err)
	}
}

func TestMTASTSEnforceNeedsValidCertificate(t *testing.T) {
	other := newTestCA(t)
	ro := remoteOptions{tlsConfig: &tls.Config{Certificates: []tls.Certificate{other.issue(t, "mx.remote.test")}}}
	e := stsEnv(t, "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n", ro, false)
	id := e.enqueue("alice@local.test", "bob@remote.test")
	mi := e.waitAttempts(id, 1)
	if r := mi.Recipients[0]; !strings.HasPrefix(r.LastError, "451 4.7.5") {
		t.Errorf("last error %q, want a TLS failure", r.LastError)
	}
	if n := len(e.remote.messages()); n != 0 {
		t.Errorf("delivered %d messages over an unauthenticated connection", n)
	}
}

func TestMTASTSEnforceNeedsSTARTTLS(t *testing.T) {
	e := stsEnv(t, "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n", remoteOptions{}, true)
	id := e.enqueue("alice@local.test", "bob@remote.test")
	mi := e.waitAttempts(id, 1)
	if r := mi.Recipients[0]; !strings.HasPrefix(r.LastError, "451 4.7.10") {
		t.Errorf("last error %q", r.LastError)
	}
}

// "TLS-Required: No" (RFC 8689 section 5) lets a message past a policy.
func TestTLSRequiredNoIgnoresPolicy(t *testing.T) {
	e := stsEnv(t, "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n", remoteOptions{}, false)
	msg := []byte("From: <alice@local.test>\r\nTLS-Required: No\r\nSubject: x\r\n\r\nbody\r\n")
	id := e.enqueueEnv(Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test"}}}, msg)
	e.waitGone(id)
	if n := len(e.remote.messages()); n != 1 {
		t.Fatalf("remote got %d messages", n)
	}
}

func TestREQUIRETLS(t *testing.T) {
	policy := "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n"
	e := stsEnv(t, policy, remoteOptions{requireTLS: true}, false)
	id := e.enqueueEnv(Envelope{From: "alice@local.test", RequireTLS: true, To: []Recipient{{Addr: "bob@remote.test"}}}, testMessage("alice@local.test", "bob@remote.test", "secret"))
	e.waitGone(id)
	got := e.remote.messages()
	if len(got) != 1 || !got[0].mailOpts.RequireTLS || !got[0].tls {
		t.Fatalf("remote got %+v", got)
	}

	// A host without REQUIRETLS: bounced with 5.7.30 (RFC 8689 section 5).
	e2 := stsEnv(t, policy, remoteOptions{}, false)
	id = e2.enqueueEnv(Envelope{From: "alice@local.test", RequireTLS: true, To: []Recipient{{Addr: "bob@remote.test"}}}, testMessage("alice@local.test", "bob@remote.test", "secret"))
	e2.waitGone(id)
	rep := checkDSN(t, e2.waitDSN("alice@local.test", 1)[0], "failed", "5.7.30")
	if rep.origType != "text/rfc822-headers" {
		t.Errorf("a REQUIRETLS message came back as %s, want its header only", rep.origType)
	}
}

func TestQueueSurvivesRestart(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setRcptReply(func(to string) error {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "later"}
	})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	e.waitAttempts(id, 1)
	e.restart()
	l := e.list()
	if len(l) != 1 || l[0].ID != id || l[0].Recipients[0].Attempts != 1 {
		t.Fatalf("after restart: %+v", l)
	}
	e.remote.setRcptReply(nil)
	if err := e.q.Retry(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.waitGone(id)
	// A clean restart after delivery sends nothing again.
	e.restart()
	e.clock.advance(24 * time.Hour)
	e.q.Kick()
	time.Sleep(200 * time.Millisecond)
	if n := len(e.remote.messages()); n != 1 {
		t.Fatalf("remote got %d copies, want 1", n)
	}
}

func TestDropAndRetryFromAnotherProcess(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setRcptReply(func(to string) error {
		return &gosmtp.SMTPError{Code: 451, Message: "later"}
	})
	id1 := e.enqueue("alice@local.test", "bob@remote.test")
	id2 := e.enqueue("alice@local.test", "carol@remote.test")
	e.waitAttempts(id1, 1)
	e.waitAttempts(id2, 1)

	// The admin command opens the same directory, unstarted.
	admin, err := Open(e.dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Drop(context.Background(), id1); err != nil {
		t.Fatal(err)
	}
	if err := admin.Drop(context.Background(), id1); err == nil {
		t.Error("dropping twice succeeded")
	}
	if err := admin.Retry(context.Background(), "0000000000000000"); err == nil {
		t.Error("retrying an unknown ID succeeded")
	}
	e.remote.setRcptReply(nil)
	if err := admin.Retry(context.Background(), strings.ToUpper(id2)); err != nil {
		t.Fatal(err)
	}
	// The server notices the other process's change by itself.
	e.waitGone(id2)
	if got := e.remote.messages(); len(got) != 1 || got[0].to[0] != "carol@remote.test" {
		t.Fatalf("remote got %+v", got)
	}
	// The dropped message's spool file is gone too.
	files := 0
	e.q.spool.Walk(context.Background(), func(string, time.Time) error { files++; return nil })
	if files != 0 {
		t.Errorf("%d spool files left", files)
	}
}

// dsnReport is a parsed DSN.
type dsnReport struct {
	subject     string
	contentType string
	text        string
	status      string
	origType    string
	orig        []byte
}

// waitDSN waits until to has n DSNs in the local box.
func (e *env) waitDSN(to string, n int) [][]byte {
	e.t.Helper()
	waitFor(e.t, "DSN to "+to, func() bool { return len(e.local.messages(to)) >= n })
	return e.local.messages(to)
}

// checkDSN parses a DSN and checks the first recipient's Action and
// Status.
func checkDSN(t *testing.T, raw []byte, action, status string) dsnReport {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("DSN does not parse: %v\n%s", err, raw)
	}
	rep := dsnReport{subject: m.Header.Get("Subject"), contentType: m.Header.Get("Content-Type")}
	if m.Header.Get("Auto-Submitted") != "auto-replied" || !strings.HasPrefix(m.Header.Get("From"), "Mail Delivery System <MAILER-DAEMON@") {
		t.Errorf("DSN header: %v", m.Header)
	}
	mt, params, err := mime.ParseMediaType(rep.contentType)
	if err != nil || mt != "multipart/report" || !strings.HasSuffix(params["report-type"], "delivery-status") {
		t.Fatalf("DSN content type %q", rep.contentType)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("DSN part %d: %v", i, err)
		}
		b, _ := io.ReadAll(p)
		switch i {
		case 0:
			rep.text = string(b)
		case 1:
			rep.status = string(b)
		case 2:
			rep.origType = p.Header.Get("Content-Type")
			rep.orig = b
		}
	}
	if !strings.Contains(rep.status, "Action: "+action+"\r\n") || !strings.Contains(rep.status, "Status: "+status+"\r\n") {
		t.Errorf("DSN wants Action %s, Status %s:\n%s", action, status, rep.status)
	}
	return rep
}

// swapResolver answers from one zone and then another.
type swapResolver struct {
	mu sync.Mutex
	dns.Resolver
}

func (s *swapResolver) set(r dns.Resolver) {
	s.mu.Lock()
	s.Resolver = r
	s.mu.Unlock()
}

func (s *swapResolver) get() dns.Resolver {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Resolver
}

func (s *swapResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return s.get().LookupTXT(ctx, name)
}

func (s *swapResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return s.get().LookupMX(ctx, name)
}

func (s *swapResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return s.get().LookupNetIP(ctx, network, host)
}

// A cached policy holds until max_age even when its TXT record goes, and
// across a restart (RFC 8461 sections 5.1, 10.2); a new id in the record
// fetches the policy again.
func TestMTASTSPolicyCache(t *testing.T) {
	ca := newTestCA(t)
	var policy atomic.Value
	policy.Store("version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy.Load().(string))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "mta-sts.remote.test")}}
	srv.StartTLS()
	defer srv.Close()
	res := &swapResolver{Resolver: dnstest.Resolver(t, stsZone)}
	e := newEnv(t, envOptions{ca: ca, opts: func(o *Options) {
		o.MTASTSPort = srv.Listener.Addr().(*net.TCPAddr).Port
		o.Resolver = res
	}})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	e.waitAttempts(id, 1)

	// The record goes; the policy stays, also after a restart.
	res.set(dnstest.Resolver(t, testZone))
	e.restart()
	e.clock.advance(time.Hour)
	e.q.Kick()
	mi := e.waitAttempts(id, 2)
	if r := mi.Recipients[0]; !strings.Contains(r.LastError, "MTA-STS") {
		t.Fatalf("after the record went: %q", r.LastError)
	}

	// A new policy under a new id is fetched and applies.
	policy.Store("version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n")
	res.set(dnstest.Resolver(t, strings.Replace(stsZone, "id=20261126", "id=20261127", 1)))
	e.clock.advance(time.Hour)
	e.q.Kick()
	e.waitGone(id)
	if got := e.remote.messages(); len(got) != 1 || !got[0].tls {
		t.Fatalf("remote got %+v", got)
	}

	// Once expired, a cached policy no longer applies: with neither
	// record nor policy host, delivery is opportunistic again.
	policy.Store("version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 3600\n")
	res.set(dnstest.Resolver(t, strings.Replace(stsZone, "id=20261126", "id=3", 1)))
	id = e.enqueue("alice@local.test", "carol@remote.test")
	if r := e.waitAttempts(id, 1).Recipients[0]; !strings.Contains(r.LastError, "MTA-STS") {
		t.Fatalf("under the third policy: %q", r.LastError)
	}
	srv.Close()
	res.set(dnstest.Resolver(t, testZone))
	e.clock.advance(2 * time.Hour)
	e.q.Kick()
	e.waitGone(id)
}

// Mail the SMTP server queued for a local recipient (its delivery failed
// temporarily) goes into the mailbox, with its return path, and never
// out by SMTP; a local failure is retried or bounced like a remote one.
func TestLocalRecipients(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.local.setFail(&Error{Code: 452, Enhanced: "4.2.2", Text: "Mailbox full"})
	id := e.enqueueEnv(Envelope{From: "sender@remote.test", To: []Recipient{{Addr: "alice@local.test"}, {Addr: "bob@remote.test"}}}, testMessage("sender@remote.test", "alice@local.test", "local"))
	waitFor(t, "bob's copy at the remote", func() bool { return len(e.remote.messages()) == 1 })
	var mi MessageInfo
	waitFor(t, "alice's deferral", func() bool {
		l := e.list()
		if len(l) != 1 || len(l[0].Recipients) != 1 {
			return false
		}
		mi = l[0]
		return mi.Recipients[0].Attempts == 1
	})
	if r := mi.Recipients[0]; r.Addr != "alice@local.test" || !strings.HasPrefix(r.LastError, "452 4.2.2") {
		t.Fatalf("after the first attempt: %+v", mi.Recipients)
	}
	if got := e.remote.messages(); len(got) != 1 || got[0].to[0] != "bob@remote.test" {
		t.Fatalf("remote got %+v, want only bob's copy", got)
	}
	e.local.setFail(nil)
	e.clock.advance(6 * time.Minute)
	e.q.Kick()
	e.waitGone(id)
	if got := e.local.returnPaths("alice@local.test"); len(got) != 1 || got[0] != "sender@remote.test" {
		t.Errorf("local delivery with return paths %q", got)
	}

	// A permanent local failure bounces to the (here remote) sender.
	e.local.setFail(&Error{Code: 550, Enhanced: "5.1.1", Text: "No such user here"})
	id = e.enqueue("sender@remote.test", "gone@local.test")
	e.waitGone(id)
	waitFor(t, "the DSN at the remote", func() bool { return len(e.remote.messages()) == 2 })
	dsn := e.remote.messages()[1]
	if dsn.from != "" || dsn.to[0] != "sender@remote.test" {
		t.Fatalf("DSN %q -> %v", dsn.from, dsn.to)
	}
	rep := checkDSN(t, dsn.data, "failed", "5.1.1")
	if strings.Contains(rep.status, "Remote-MTA") {
		t.Errorf("a local failure names a remote MTA:\n%s", rep.status)
	}
}

// A host that turns us away (421 greeting) is skipped for the next one in
// preference order.
func TestNextMXAfterRefusal(t *testing.T) {
	zone := `
remote.test.     MX 5  busy.remote.test.
remote.test.     MX 10 mx.remote.test.
busy.remote.test. A  127.0.0.2
mx.remote.test.  A   127.0.0.1
`
	e := newEnv(t, envOptions{zone: zone})
	busy, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(e.remote.port)))
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 at the remote's port: %v", err)
	}
	defer busy.Close()
	var turnedAway atomic.Int32
	go func() {
		for {
			c, err := busy.Accept()
			if err != nil {
				return
			}
			turnedAway.Add(1)
			io.WriteString(c, "421 4.3.2 busy.remote.test too busy, try later\r\n")
			c.Close()
		}
	}()
	id := e.enqueue("alice@local.test", "bob@remote.test")
	e.waitGone(id)
	if turnedAway.Load() == 0 {
		t.Error("the preferred MX was never tried")
	}
	if n := len(e.remote.messages()); n != 1 {
		t.Errorf("remote got %d messages", n)
	}
}

// The reply to the end of data decides for every recipient the server
// took at RCPT.
func TestDataRefusedBounces(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setDataReply(func() error {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "spam detected"}
	})
	id := e.enqueue("alice@local.test", "bob@remote.test", "carol@remote.test")
	e.waitGone(id)
	rep := checkDSN(t, e.waitDSN("alice@local.test", 1)[0], "failed", "5.7.1")
	for _, want := range []string{"Final-Recipient: rfc822; bob@remote.test", "Final-Recipient: rfc822; carol@remote.test", "Diagnostic-Code: smtp; 554 5.7.1 spam detected"} {
		if !strings.Contains(rep.status, want) {
			t.Errorf("DSN lacks %q:\n%s", want, rep.status)
		}
	}
}

// A 554 greeting defers rather than bounces: it says nothing about the
// message.
func TestRefusedSessionDefers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "554 5.7.1 no service for you\r\n")
			c.Close()
		}
	}()
	e := newEnv(t, envOptions{opts: func(o *Options) { o.SMTPPort = ln.Addr().(*net.TCPAddr).Port }})
	id := e.enqueue("alice@local.test", "bob@remote.test")
	r := e.waitAttempts(id, 1).Recipients[0]
	if !strings.HasPrefix(r.LastError, "451 4.7.1 554 no service") {
		t.Errorf("last error %q", r.LastError)
	}
}

// The delay warning goes when it is due (4h by default), not at the
// first retry after: the schedule puts an attempt there.
func TestDelayWarningAtItsTime(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.remote.setRcptReply(func(to string) error {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "later"}
	})
	start := e.clock.Now()
	id := e.enqueue("alice@local.test", "bob@remote.test")
	// The DSN is queued in the commit that records its attempt: once an
	// attempt shows, the DSN is queued or already delivered.
	warned := func() bool {
		for _, m := range e.list() {
			if m.DSN {
				return true
			}
		}
		return len(e.local.messages("alice@local.test")) > 0
	}
	for attempts := 1; ; attempts++ {
		r := e.waitAttempts(id, attempts).Recipients[0]
		if warned() {
			break
		}
		if attempts > 10 {
			t.Fatal("no delay warning after 10 attempts")
		}
		e.clock.advance(r.NextAttempt.Sub(e.clock.Now()))
		e.q.Kick()
	}
	e.waitDSN("alice@local.test", 1)
	if at := e.clock.Now().Sub(start); at != DefaultDelayWarning {
		t.Errorf("delay warning after %v, want %v", at, DefaultDelayWarning)
	}
	checkDSN(t, e.local.messages("alice@local.test")[0], "delayed", "4.3.0")
}

// Messages waiting for one domain share connections: with 4 connections
// per domain, 30 messages take 4 of them. A message the open connections
// do not suit (it needs SMTPUTF8) is left for an attempt of its own,
// which bounces it.
func TestConnectionReuse(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.q.Close()
	q, err := Open(e.dir, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 30; i++ {
		msg := testMessage("alice@local.test", "bob@remote.test", fmt.Sprintf("reuse %d", i))
		id, err := q.Enqueue(context.Background(), Envelope{From: "alice@local.test", To: []Recipient{{Addr: "bob@remote.test"}}}, bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	utf8msg := testMessage("alice@local.test", "x", "utf8")
	if _, err := q.Enqueue(context.Background(), Envelope{From: "alice@local.test", To: []Recipient{{Addr: "jürgen@remote.test"}}}, bytes.NewReader(utf8msg), int64(len(utf8msg))); err != nil {
		t.Fatal(err)
	}
	q.Close()
	e.open()
	for _, id := range ids {
		e.waitGone(id)
	}
	checkDSN(t, e.waitDSN("alice@local.test", 1)[0], "failed", "5.6.7")
	if n := len(e.remote.messages()); n != 30 {
		t.Fatalf("remote got %d messages, want 30", n)
	}
	e.remote.mu.Lock()
	conns := e.remote.conns
	e.remote.mu.Unlock()
	t.Logf("31 messages in %d connections", conns)
	// 4 at once (per_domain), and the SMTPUTF8 message's own.
	if conns > 6 {
		t.Errorf("31 messages took %d connections: connections are not reused", conns)
	}
}

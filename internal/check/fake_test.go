package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeServer serves every connection on 127.0.0.1 with handle, until the
// test ends, and returns its port.
func fakeServer(t *testing.T, handle func(c net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// scripted answers each line the client sends from a table of prefixes;
// unknown commands get fallback. The greeting goes first.
func scripted(greeting string, answers map[string]string, fallback string) func(net.Conn) {
	return func(c net.Conn) {
		io.WriteString(c, greeting)
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			tag, cmd, _ := strings.Cut(line, " ")
			reply, ok := "", false
			for prefix, a := range answers {
				if strings.HasPrefix(strings.ToUpper(line), prefix) || strings.HasPrefix(strings.ToUpper(cmd), prefix) {
					reply, ok = a, true
					break
				}
			}
			if !ok {
				reply = fallback
			}
			io.WriteString(c, strings.ReplaceAll(reply, "TAG", tag))
			if strings.HasPrefix(strings.ToUpper(cmd), "LOGOUT") || strings.EqualFold(line, "QUIT") {
				return
			}
		}
	}
}

func runOne(t *testing.T, service string, port int, timeout time.Duration) (*Report, *Probe) {
	t.Helper()
	only := ""
	for _, s := range services {
		if s.name == service {
			only = strconv.Itoa(s.port)
		}
	}
	rep, err := Run(context.Background(), Options{Host: "127.0.0.1", Ports: map[string]int{service: port}, Only: []string{only}, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Logf("report:\n%s", b.String())
	return rep, probe(t, rep, service)
}

func TestClosedPort(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rep, p := runOne(t, "imaps", port, time.Second)
	// Named on the command line, the port should answer.
	expectFinding(t, p, Fail, "connect", "not offered (connection refused)")
	if p.Reachable || rep.Verdict != Fail {
		t.Errorf("reachable %v verdict %v", p.Reachable, rep.Verdict)
	}
	if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Text, "no IMAP or POP3 port answers") {
		t.Errorf("summary %+v", rep.Findings)
	}
	// A default port that is closed is only information.
	if l, text := dialFailure(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, time.Second); l != Info || !strings.Contains(text, "refused") {
		t.Errorf("refused: %v %q", l, text)
	}
	if l, _ := dialFailure(context.DeadlineExceeded, time.Second); l != Warn {
		t.Errorf("timeout: %v", l)
	}
}

func TestSilentServer(t *testing.T) {
	port := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	start := time.Now()
	_, p := runOne(t, "imap", port, 300*time.Millisecond)
	expectFinding(t, p, Fail, "protocol", "stopped answering")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 300ms timeout", d)
	}
}

func TestPlaintextOnImplicitTLSPort(t *testing.T) {
	port := fakeServer(t, scripted("* OK IMAP4rev1 ready\r\n", nil, "TAG BAD\r\n"))
	_, p := runOne(t, "imaps", port, 2*time.Second)
	expectFinding(t, p, Fail, "tls", "does not speak TLS")
}

func TestIMAPWithoutSTARTTLS(t *testing.T) {
	port := fakeServer(t, scripted("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
		map[string]string{"LOGOUT": "* BYE\r\nTAG OK bye\r\n"}, "TAG BAD no\r\n"))
	rep, p := runOne(t, "imap", port, 2*time.Second)
	expectFinding(t, p, Fail, "starttls", "passwords cross the network in clear")
	if !p.PlaintextLogin || rep.Verdict != Fail {
		t.Errorf("plaintext %v verdict %v", p.PlaintextLogin, rep.Verdict)
	}
}

func TestIMAPCapabilityCommand(t *testing.T) {
	// No capabilities in the greeting: the probe asks, collects the
	// untagged answer over a literal, and sees the refused STARTTLS.
	port := fakeServer(t, scripted("* OK ready\r\n", map[string]string{
		"CAPABILITY": "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n* OK {5}\r\nhello\r\nTAG OK done\r\n",
		"STARTTLS":   "TAG NO not today\r\n",
	}, "TAG BAD\r\n"))
	_, p := runOne(t, "imap", port, 2*time.Second)
	expectFinding(t, p, OK, "plaintext-login", "LOGINDISABLED")
	expectFinding(t, p, Fail, "starttls", "STARTTLS refused: NO not today")
}

func TestSMTPPort25WithoutSTARTTLS(t *testing.T) {
	port := fakeServer(t, scripted("220 mx.example.org ESMTP\r\n", map[string]string{
		"EHLO": "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
		"QUIT": "221 bye\r\n",
	}, "502 no\r\n"))
	rep, p := runOne(t, "smtp", port, 2*time.Second)
	expectFinding(t, p, Warn, "starttls", "mail from other servers arrives in clear")
	if rep.Verdict != Warn {
		t.Errorf("verdict %v", rep.Verdict)
	}
}

func TestSubmissionWithoutEHLO(t *testing.T) {
	port := fakeServer(t, scripted("220 old.example.org SMTP\r\n", map[string]string{
		"EHLO": "500 what?\r\n",
		"HELO": "250 hello\r\n",
		"QUIT": "221 bye\r\n",
	}, "502 no\r\n"))
	_, p := runOne(t, "submission", port, 2*time.Second)
	expectFinding(t, p, Warn, "capabilities", "EHLO refused (500 what?)")
	expectFinding(t, p, Fail, "starttls", "no STARTTLS: clients cannot protect the connection")
}

func TestPOP3WithoutCAPA(t *testing.T) {
	port := fakeServer(t, scripted("+OK ready\r\n", map[string]string{
		"CAPA": "-ERR unknown command\r\n",
		"STLS": "-ERR no TLS here\r\n",
		"QUIT": "+OK bye\r\n",
	}, "-ERR\r\n"))
	_, p := runOne(t, "pop3", port, 2*time.Second)
	expectFinding(t, p, Warn, "plaintext-login", "does not answer CAPA")
	expectFinding(t, p, Fail, "starttls", "STLS refused: no TLS here")
}

func TestMalformedGreeting(t *testing.T) {
	port := fakeServer(t, scripted("HTTP/1.1 400 Bad Request\r\n\r\n", nil, ""))
	for _, s := range []string{"imap", "pop3", "submission"} {
		_, p := runOne(t, s, port, time.Second)
		expectFinding(t, p, Fail, "protocol", "greeting")
	}
}

func TestOldTLS(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, t.TempDir(), goodLeaf())
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}
	port := fakeServer(t, func(c net.Conn) {
		tc := tls.Server(c, conf)
		if tc.Handshake() != nil {
			return
		}
		scripted("+OK ready\r\n", map[string]string{"CAPA": "+OK\r\nUIDL\r\nUSER\r\n.\r\n", "QUIT": "+OK\r\n"}, "-ERR\r\n")(tc)
	})
	rep, err := Run(context.Background(), Options{Host: "127.0.0.1", Ports: map[string]int{"pop3s": port}, Only: []string{"pop3s"}, Roots: ca.pool, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := probe(t, rep, "pop3s")
	if p.TLS == nil {
		t.Skipf("no TLS 1.0 handshake possible with this Go: %+v", p.Findings)
	}
	expectFinding(t, p, Fail, "tls", "only TLS 1.0 (RFC 8996")
}

func TestHostResolution(t *testing.T) {
	port := fakeServer(t, scripted("+OK ready\r\n", map[string]string{"CAPA": "-ERR\r\n", "QUIT": "+OK\r\n"}, "-ERR\r\n"))
	res := staticResolver{"mail.example.org": {"127.0.0.1"}}
	rep, err := Run(context.Background(), Options{Host: "Mail.Example.org.", Ports: map[string]int{"pop3s": port}, Only: []string{"pop3s"}, Resolver: res, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Address != "127.0.0.1" || rep.ServerName != "mail.example.org" || rep.Host != "mail.example.org" || !probe(t, rep, "pop3s").Reachable {
		t.Errorf("report %+v", rep)
	}
	rep, err = Run(context.Background(), Options{Host: "nowhere.example.org", Resolver: res})
	if err != nil || rep.Verdict != Fail || len(rep.Probes) != 0 || !strings.Contains(rep.Findings[0].Text, "nowhere.example.org") {
		t.Errorf("unresolvable: %+v %v", rep, err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Host: "127.0.0.1", Only: []string{"http"}},
		{Host: "127.0.0.1", Only: []string{"443"}},
		{Host: "127.0.0.1", Ports: map[string]int{"https": 443}},
		{Host: "127.0.0.1", Ports: map[string]int{"imaps": 70000}},
		{Host: "127.0.0.1", SendTest: true},
		{Host: ""},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

type staticResolver map[string][]string

func (r staticResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if out == nil {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func TestSelected(t *testing.T) {
	names := func(only ...string) string {
		var out []string
		for _, s := range services {
			if selected(s, only) {
				out = append(out, s.name)
			}
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		only []string
		want string
	}{
		{nil, "imaps,imap,pop3s,pop3,submissions,submission,smtp"},
		{[]string{"imap", "smtp"}, "imaps,imap,submissions,submission,smtp"},
		{[]string{"imaps", "submission"}, "imaps,submission"},
		{[]string{"143", "25"}, "imap,smtp"},
		{[]string{"mx"}, "smtp"},
		{[]string{"pop3"}, "pop3s,pop3"},
	} {
		if got := names(tc.only...); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.only, got, tc.want)
		}
	}
}

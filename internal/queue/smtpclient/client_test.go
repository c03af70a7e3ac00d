package smtpclient

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// script is a fake server: it reads the client's lines and answers from
// a table, recording what it read.
type script struct {
	t     *testing.T
	conn  net.Conn
	br    *bufio.Reader
	lines []string
}

func pipe(t *testing.T) (*Client, *script) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	t.Cleanup(func() { cc.Close(); sc.Close() })
	sc.SetDeadline(time.Now().Add(10 * time.Second))
	return New(cc, Timeouts{Command: 5 * time.Second}), &script{t: t, conn: sc, br: bufio.NewReader(sc)}
}

func (s *script) send(lines ...string) {
	for _, l := range lines {
		if _, err := s.conn.Write([]byte(l + "\r\n")); err != nil {
			s.t.Errorf("server write: %v", err)
		}
	}
}

// expect reads n lines from the client.
func (s *script) expect(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		l, err := s.br.ReadString('\n')
		if err != nil {
			s.t.Errorf("server read: %v", err)
			return out
		}
		out = append(out, strings.TrimSuffix(l, "\r\n"))
	}
	s.lines = append(s.lines, out...)
	return out
}

// readData reads DATA content through the terminating dot.
func (s *script) readData() string {
	var b strings.Builder
	for {
		l, err := s.br.ReadString('\n')
		if err != nil {
			s.t.Errorf("server read: %v", err)
			return b.String()
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(l)
	}
}

func TestPipelinedTransaction(t *testing.T) {
	c, s := pipe(t)
	ctx := context.Background()
	done := make(chan *Result)
	go func() {
		if _, err := c.Greet(ctx); err != nil {
			t.Error(err)
		}
		if err := c.Hello(ctx, "mail.example.org"); err != nil {
			t.Error(err)
		}
		res, err := c.Send(ctx, Mail{From: "a@example.org", Size: 12, EightBit: true, RET: "HDRS", ENVID: "x=1"}, []Rcpt{
			{Addr: "b@example.net", Notify: []string{"FAILURE"}, ORCPTType: "rfc822", ORCPT: "B@example.net"},
			{Addr: "c@example.net"},
		}, strings.NewReader(".hello\nworld"))
		if err != nil {
			t.Error(err)
		}
		c.Quit(ctx)
		done <- res
	}()
	s.send("220 mx.example.net ESMTP")
	if got := s.expect(1); got[0] != "EHLO mail.example.org" {
		t.Errorf("got %q", got)
	}
	s.send("250-mx.example.net", "250-PIPELINING", "250-8BITMIME", "250-DSN", "250-SIZE 1000", "250 ENHANCEDSTATUSCODES")
	got := s.expect(4)
	want := []string{
		"MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=12 RET=HDRS ENVID=x+3D1",
		"RCPT TO:<b@example.net> NOTIFY=FAILURE ORCPT=rfc822;B@example.net",
		"RCPT TO:<c@example.net>",
		"DATA",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pipelined group:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.send("250 2.1.0 ok", "550 5.1.1 no such user", "250 2.1.5 ok", "354 go ahead")
	if data := s.readData(); data != "..hello\r\nworld\r\n" {
		t.Errorf("data %q", data)
	}
	s.send("250 2.0.0 queued as 123")
	s.expect(1)
	s.send("221 bye")
	res := <-done
	if res.Rcpts[0].Code != 550 || res.Rcpts[0].Enhanced != "5.1.1" || res.Rcpts[1].Code != 250 || res.Final.Code != 250 || !res.BodySent {
		t.Errorf("result %+v", res)
	}
	if acc := res.Accepted(); len(acc) != 1 || acc[0] != 1 {
		t.Errorf("accepted %v", acc)
	}
}

func TestStepwiseStopsAtMAILFailure(t *testing.T) {
	c, s := pipe(t)
	ctx := context.Background()
	done := make(chan *Result)
	go func() {
		c.Greet(ctx)
		c.Hello(ctx, "mail.example.org")
		res, err := c.Send(ctx, Mail{From: ""}, []Rcpt{{Addr: "b@example.net"}}, strings.NewReader("x"))
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	s.send("220 hi")
	s.expect(1)
	s.send("250 mx") // no extensions at all
	if got := s.expect(1); got[0] != "MAIL FROM:<>" {
		t.Errorf("got %q", got)
	}
	s.send("553 5.7.1 sender refused")
	res := <-done
	if res.Mail.Code != 553 || res.Rcpts[0] != nil || res.Data != nil {
		t.Errorf("result %+v", res)
	}
}

// RFC 2920 section 3.1: a 354 after every RCPT failed gets an empty
// content.
func TestPipelinedDataAcceptedWithoutRecipients(t *testing.T) {
	c, s := pipe(t)
	ctx := context.Background()
	done := make(chan *Result)
	go func() {
		c.Greet(ctx)
		c.Hello(ctx, "mail.example.org")
		res, _ := c.Send(ctx, Mail{From: "a@example.org"}, []Rcpt{{Addr: "b@example.net"}}, strings.NewReader("secret"))
		done <- res
	}()
	s.send("220 hi")
	s.expect(1)
	s.send("250-mx", "250 PIPELINING")
	s.expect(3)
	s.send("250 ok", "550 no", "354 go")
	if data := s.readData(); data != "" {
		t.Errorf("content %q sent although no recipient was accepted", data)
	}
	s.send("554 no valid recipients")
	res := <-done
	if len(res.Accepted()) != 0 || res.Final == nil || res.Final.Code != 554 {
		t.Errorf("result %+v", res)
	}
}

func TestHELOFallback(t *testing.T) {
	c, s := pipe(t)
	ctx := context.Background()
	errc := make(chan error)
	go func() {
		c.Greet(ctx)
		errc <- c.Hello(ctx, "mail.example.org")
	}()
	s.send("220 old server")
	s.expect(1)
	s.send("502 command not implemented")
	if got := s.expect(1); got[0] != "HELO mail.example.org" {
		t.Errorf("got %q", got)
	}
	s.send("250 hello")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Extension("PIPELINING"); ok {
		t.Error("extensions after HELO")
	}
}

func TestStartTLSSaysEHLOAgain(t *testing.T) {
	cert := selfSigned(t, "mx.example.net")
	c, s := pipe(t)
	ctx := context.Background()
	errc := make(chan error)
	go func() {
		c.Greet(ctx)
		c.Hello(ctx, "mail.example.org")
		errc <- c.StartTLS(ctx, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.net"})
	}()
	s.send("220 hi")
	s.expect(1)
	s.send("250-mx", "250-STARTTLS", "250 PIPELINING")
	if got := s.expect(1); got[0] != "STARTTLS" {
		t.Errorf("got %q", got)
	}
	s.send("220 go ahead")
	tc := tls.Server(s.conn, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	s.conn, s.br = tc, bufio.NewReader(tc)
	if got := s.expect(1); got[0] != "EHLO mail.example.org" {
		t.Errorf("after TLS: %q", got)
	}
	s.send("250-mx", "250 SMTPUTF8")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if c.TLS() == nil {
		t.Error("no TLS state")
	}
	if _, ok := c.Extension("PIPELINING"); ok {
		t.Error("extensions from before TLS survived")
	}
	if _, ok := c.Extension("smtputf8"); !ok {
		t.Error("extensions after TLS missing")
	}
}

// A server that sends data after its 220 to STARTTLS would have it taken
// as protected: refused.
func TestStartTLSInjection(t *testing.T) {
	c, s := pipe(t)
	ctx := context.Background()
	errc := make(chan error)
	go func() {
		c.Greet(ctx)
		c.Hello(ctx, "mail.example.org")
		errc <- c.StartTLS(ctx, &tls.Config{InsecureSkipVerify: true})
	}()
	s.send("220 hi")
	s.expect(1)
	s.send("250-mx", "250 STARTTLS")
	s.expect(1)
	s.send("220 go ahead\r\n250 injected")
	var te *TLSError
	if err := <-errc; err == nil || !asTLSError(err, &te) {
		t.Fatalf("got %v, want a TLSError", err)
	}
}

func asTLSError(err error, te **TLSError) bool {
	e, ok := err.(*TLSError)
	*te = e
	return ok
}

func TestContextCancelsWait(t *testing.T) {
	c, s := pipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := c.Greet(ctx)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancellation did not end the wait")
	}
	_ = s
}

func selfSigned(t *testing.T, name string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

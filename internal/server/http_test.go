package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/server"
)

// startHTTP runs a server with IMAP, http and https listeners on
// ephemeral ports.
func startHTTP(t *testing.T) (*server.Server, *config.Config) {
	t.Helper()
	cfg := testConfig(t)
	cfg.Listen.HTTP = "127.0.0.1:0"
	cfg.Listen.HTTPS = "127.0.0.1:0"
	var out strings.Builder
	srv, err := server.New(cfg, server.Options{NoSync: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	// The start-up summary says where clients find their settings.
	if want := "Thunderbird: https://autoconfig.example.org:" + strconv.Itoa(srv.Addr("https").(*net.TCPAddr).Port) + "/mail/config-v1.1.xml"; !strings.Contains(out.String(), want) {
		t.Errorf("start-up summary lacks %q:\n%s", want, out.String())
	}
	if _, err := srv.Store.AddDomain(context.Background(), "example.net"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, cfg
}

// certPool trusts the server's self-signed certificate.
func certPool(t *testing.T, dataDir string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool
}

type autoconfigDoc struct {
	Provider struct {
		ID       string `xml:"id,attr"`
		Incoming []struct {
			Type       string `xml:"type,attr"`
			Hostname   string `xml:"hostname"`
			Port       int    `xml:"port"`
			SocketType string `xml:"socketType"`
		} `xml:"incomingServer"`
	} `xml:"emailProvider"`
}

func TestHTTPServesAutoconfig(t *testing.T) {
	srv, cfg := startHTTP(t)
	imaps := srv.Addr("imaps").(*net.TCPAddr).Port
	imap := srv.Addr("imap").(*net.TCPAddr).Port

	// The transports dial the listeners whatever the URL's host, so the
	// requests carry the names clients use.
	dialTo := func(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	plain := &http.Client{Transport: &http.Transport{DialContext: dialTo(srv.Addr("http").String())}}
	secure := &http.Client{Transport: &http.Transport{
		DialContext:       dialTo(srv.Addr("https").String()),
		TLSClientConfig:   &tls.Config{RootCAs: certPool(t, cfg.DataDir), ServerName: "mail.example.org"},
		ForceAttemptHTTP2: true,
	}}

	for _, tc := range []struct {
		client *http.Client
		url    string
		proto  string
	}{
		{plain, "http://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=alice%40example.org", "HTTP/1.1"},
		{secure, "https://mail.example.org/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob%40example.net", "HTTP/2.0"},
	} {
		resp, err := tc.client.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Proto != tc.proto {
			t.Fatalf("%s: %s %s\n%s", tc.url, resp.Proto, resp.Status, body)
		}
		var doc autoconfigDoc
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		// Only running listeners, with their bound ports, implicit TLS
		// first.
		in := doc.Provider.Incoming
		if len(in) != 2 || in[0].Port != imaps || in[0].SocketType != "SSL" || in[1].Port != imap || in[1].SocketType != "STARTTLS" ||
			in[0].Hostname != "mail.example.org" || in[0].Type != "imap" {
			t.Errorf("%s: incoming %+v", tc.url, in)
		}
	}

	// The MTA-STS policy, for mta-sts.<domain> only.
	resp, err := secure.Get("https://mta-sts.example.org/.well-known/mta-sts.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n" {
		t.Errorf("policy: %s %q", resp.Status, body)
	}

	// ALPN other than HTTP fails the handshake (ALPACA).
	c, err := tls.Dial("tcp", srv.Addr("https").String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"imap"}})
	if err == nil {
		c.Close()
		t.Error("TLS with ALPN imap succeeded on https")
	}
}

// An idle keep-alive connection does not hold up shutdown, and a request
// in flight finishes.
func TestHTTPShutdown(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen.HTTP = "127.0.0.1:0"
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr("http").String()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	io.WriteString(conn, "GET /.well-known/autoconfig/mail/config-v1.1.xml HTTP/1.1\r\nHost: example.org\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %s", resp.Status)
	}
	// A second connection sends half a request; shutdown waits for it
	// only until its context ends.
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	io.WriteString(half, "GET / HTTP/1.1\r\n")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	// Both connections are closed.
	for _, c := range []net.Conn{conn, half} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("connection not closed: %v", err)
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still open after shutdown")
	}
}

// HTTP connections count against the per-address connection limit and
// release their slot when closed.
func TestHTTPConnectionLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen.HTTP = "127.0.0.1:0"
	cfg.Limits.MaxConnectionsPerIP = 2
	srv, err := server.New(cfg, server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	addr := srv.Addr("http").String()
	get := func(c net.Conn) (int, error) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /mail/config-v1.1.xml?emailaddress=a%40example.org HTTP/1.1\r\nHost: autoconfig.example.org\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	var conns []net.Conn
	for i := range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if code, err := get(c); err != nil || code != 200 {
			t.Fatalf("connection %d: %d %v", i, code, err)
		}
		conns = append(conns, c)
	}
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := get(third); err == nil && code == 200 {
		t.Fatal("third connection served beyond the per-address limit")
	}
	third.Close()
	// Closing one frees its slot.
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		code, err := get(c)
		c.Close()
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("slot not released after close: " + strconv.Itoa(code))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

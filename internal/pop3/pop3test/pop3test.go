// Package pop3test starts a complete postfach server with its POP3
// listeners for tests (on imaptest, which builds the rest), and offers a
// raw POP3 client whose tests read like a transcript: send a line, expect
// +OK or -ERR.
package pop3test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// Env is a running server with POP3 beside IMAP.
type Env struct {
	*imaptest.Env
	// POP3 (STLS) and POP3S (implicit TLS) are the listeners' addresses.
	POP3, POP3S string
}

// Start runs a server until the test ends, as imaptest.Start does, with
// the pop3 and pop3s listeners on 127.0.0.1 ephemeral ports. opts.Configure
// runs after the listeners are set.
func Start(t testing.TB, opts imaptest.Options) *Env {
	t.Helper()
	configure := opts.Configure
	opts.Configure = func(cfg *config.Config) {
		cfg.Listen.POP3 = "127.0.0.1:0"
		cfg.Listen.POP3S = "127.0.0.1:0"
		if configure != nil {
			configure(cfg)
		}
	}
	env := &Env{Env: imaptest.Start(t, opts)}
	if a := env.Server.Addr("pop3"); a != nil {
		env.POP3 = a.String()
	}
	if a := env.Server.Addr("pop3s"); a != nil {
		env.POP3S = a.String()
	}
	return env
}

// Timeout is the default bound of every read and write of a Client.
const Timeout = 30 * time.Second

// Client is a raw POP3 client. Its methods that start with a capital
// fail the test on a transport error; Do and ReadBody return errors, for
// tests that expect the connection to break.
type Client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	// Greeting is the server's first line.
	Greeting string
	// Timeout bounds each read and write; Dial sets it to the package's
	// Timeout. Tests of slow operations (a large UPDATE under the race
	// detector) raise it.
	Timeout time.Duration
}

// Dial connects to addr, with implicit TLS when useTLS, and reads the
// greeting.
func Dial(t testing.TB, addr string, useTLS bool) *Client {
	t.Helper()
	c, err := DialErr(t, addr, useTLS)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// DialErr is Dial returning its failure.
func DialErr(t testing.TB, addr string, useTLS bool) (*Client, error) {
	var conn net.Conn
	var err error
	d := &net.Dialer{Timeout: Timeout}
	if useTLS {
		conn, err = tls.DialWithDialer(d, "tcp", addr, imaptest.ClientTLS())
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := &Client{t: t, conn: conn, br: bufio.NewReaderSize(conn, 64<<10), Timeout: Timeout}
	t.Cleanup(func() { conn.Close() })
	if c.Greeting, err = c.readLine(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(c.Greeting, "+OK") {
		conn.Close()
		return nil, fmt.Errorf("greeting %q", c.Greeting)
	}
	return c, nil
}

// Login dials POP3S and logs in as user with USER and PASS.
func Login(t testing.TB, env *Env, user string) *Client {
	t.Helper()
	c := Dial(t, env.POP3S, true)
	c.OK("USER " + user)
	c.OK("PASS " + imaptest.Password)
	return c
}

// Conn returns the connection, for tests that need to misbehave.
func (c *Client) Conn() net.Conn { return c.conn }

// For returns the client reporting failures to t.
func (c *Client) For(t testing.TB) *Client {
	c2 := *c
	c2.t = t
	return &c2
}

// Write sends raw bytes.
func (c *Client) Write(s string) {
	c.t.Helper()
	if err := c.write(s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *Client) write(s string) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := io.WriteString(c.conn, s)
	return err
}

// ReadLine reads one line, without its CRLF.
func (c *Client) ReadLine() string {
	c.t.Helper()
	l, err := c.readLine()
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	return l
}

func (c *Client) readLine() (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.Timeout))
	l, err := c.br.ReadString('\n')
	if err != nil {
		return l, err
	}
	if !strings.HasSuffix(l, "\r\n") {
		return l, fmt.Errorf("line without CRLF: %q", l)
	}
	return l[:len(l)-2], nil
}

// Do sends a command line and returns the status line of the answer.
func (c *Client) Do(cmd string) (string, error) {
	if err := c.write(cmd + "\r\n"); err != nil {
		return "", err
	}
	return c.readLine()
}

// Cmd sends a command and returns the status line.
func (c *Client) Cmd(cmd string) string {
	c.t.Helper()
	l, err := c.Do(cmd)
	if err != nil {
		c.t.Fatalf("%s: %v", redact(cmd), err)
	}
	return l
}

// OK sends a command, fails unless the answer is +OK, and returns the
// text after "+OK" (trimmed).
func (c *Client) OK(cmd string) string {
	c.t.Helper()
	l := c.Cmd(cmd)
	if l != "+OK" && !strings.HasPrefix(l, "+OK ") {
		c.t.Fatalf("%s: want +OK, got %q", redact(cmd), l)
	}
	return strings.TrimSpace(l[3:])
}

// Err sends a command, fails unless the answer is -ERR, and returns the
// text after "-ERR " (response code included).
func (c *Client) Err(cmd string) string {
	c.t.Helper()
	l := c.Cmd(cmd)
	if !strings.HasPrefix(l, "-ERR") {
		c.t.Fatalf("%s: want -ERR, got %q", redact(cmd), l)
	}
	return strings.TrimSpace(l[4:])
}

// Multi sends a command whose +OK is followed by a multi-line body, and
// returns the status text and the body, dot-unstuffed, as sent (CRLF
// line endings kept, the final "." line removed).
func (c *Client) Multi(cmd string) (string, []byte) {
	c.t.Helper()
	text := c.OK(cmd)
	body, err := c.ReadBody()
	if err != nil {
		c.t.Fatalf("%s: body: %v", cmd, err)
	}
	return text, body
}

// Lines is Multi with the body split into lines.
func (c *Client) Lines(cmd string) []string {
	c.t.Helper()
	_, body := c.Multi(cmd)
	if len(body) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
}

// ReadBody reads a multi-line body up to its "." line, and undoes the
// byte-stuffing (RFC 1939 section 3). Every line must end with CRLF.
func (c *Client) ReadBody() ([]byte, error) {
	var out bytes.Buffer
	for {
		c.conn.SetReadDeadline(time.Now().Add(c.Timeout))
		l, err := c.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: its first part cannot be the "." line.
			out.Write(unstuff(l))
			for errors.Is(err, bufio.ErrBufferFull) {
				l, err = c.br.ReadSlice('\n')
				out.Write(l)
			}
			if err != nil {
				return out.Bytes(), err
			}
			continue
		}
		if err != nil {
			return out.Bytes(), err
		}
		if !bytes.HasSuffix(l, []byte("\r\n")) {
			return out.Bytes(), fmt.Errorf("line without CRLF: %q", l)
		}
		if string(l) == ".\r\n" {
			return out.Bytes(), nil
		}
		out.Write(unstuff(l))
	}
}

// unstuff removes the dot a line that begins with one was given.
func unstuff(l []byte) []byte {
	if len(l) > 0 && l[0] == '.' {
		return l[1:]
	}
	return l
}

// STLS upgrades the connection after +OK to STLS.
func (c *Client) STLS() {
	c.t.Helper()
	c.OK("STLS")
	tc := tls.Client(c.conn, imaptest.ClientTLS())
	c.conn.SetDeadline(time.Now().Add(c.Timeout))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn.SetDeadline(time.Time{})
	c.conn = tc
	c.br = bufio.NewReaderSize(tc, 64<<10)
}

// Close ends the connection without QUIT.
func (c *Client) Close() { c.conn.Close() }

// ExpectClosed asserts that the server closes the connection, after any
// final lines (returned).
func (c *Client) ExpectClosed() []string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.readLine()
		if err != nil {
			if l != "" {
				lines = append(lines, l)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("connection still open after %q", lines)
			}
			return lines
		}
		lines = append(lines, l)
	}
}

// redact keeps passwords out of failure messages.
func redact(cmd string) string {
	if len(cmd) >= 5 && strings.EqualFold(cmd[:5], "PASS ") {
		return "PASS [redacted]"
	}
	return cmd
}

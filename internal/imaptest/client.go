package imaptest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Client is a raw IMAP client for transcript tests: it sends lines
// verbatim and returns the server's lines, with literals inlined.
type Client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	n    int
	// Greeting is the server's first line.
	Greeting string
}

// Dial connects to addr, with implicit TLS when useTLS, and reads the
// greeting.
func Dial(t testing.TB, addr string, useTLS bool) *Client {
	t.Helper()
	var conn net.Conn
	var err error
	if useTLS {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, ClientTLS())
	} else {
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c := &Client{t: t, conn: conn, br: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	c.Greeting = c.ReadLine()
	return c
}

// Login dials with TLS and logs in as user.
func Login(t testing.TB, env *Env, user string) *Client {
	t.Helper()
	c := Dial(t, env.IMAPS, true)
	c.MustOK("LOGIN " + user + " " + Password)
	return c
}

// Conn returns the connection, for tests that need to misbehave.
func (c *Client) Conn() net.Conn { return c.conn }

// StartTLS upgrades the connection after a tagged OK to STARTTLS.
func (c *Client) StartTLS() {
	c.t.Helper()
	c.MustOK("STARTTLS")
	tc := tls.Client(c.conn, ClientTLS())
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.br = bufio.NewReader(tc)
}

// Write sends raw bytes.
func (c *Client) Write(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

var literalRE = regexp.MustCompile(`~?\{(\d+)\}$`)

// ReadLine reads one response line; literals are inlined as {n}<data>.
func (c *Client) ReadLine() string {
	c.t.Helper()
	line, err := c.readLine()
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	return line
}

func (c *Client) readLine() (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return b.String() + line, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		b.WriteString(line)
		m := literalRE.FindStringSubmatch(line)
		if m == nil {
			return b.String(), nil
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			return b.String(), err
		}
		b.Write(buf)
	}
}

// Response is the outcome of one command.
type Response struct {
	// Untagged holds the untagged lines, without "* ".
	Untagged []string
	// Status is OK, NO or BAD; Text is the rest of the tagged line.
	Status, Text string
}

// Has reports whether some untagged line contains s.
func (r *Response) Has(s string) bool {
	for _, l := range r.Untagged {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// Find returns the first untagged line with the prefix, or "".
func (r *Response) Find(prefix string) string {
	for _, l := range r.Untagged {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func (r *Response) String() string {
	return fmt.Sprintf("untagged=%q\n%s %s", r.Untagged, r.Status, r.Text)
}

// Do sends a command with a fresh tag and collects the response. A "+"
// continuation ends the collection too (Status "+").
func (c *Client) Do(cmd string) *Response {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	c.Write(tag + " " + cmd + "\r\n")
	return c.Read(tag)
}

// Read collects lines up to the tagged response for tag, or a
// continuation request.
func (c *Client) Read(tag string) *Response {
	c.t.Helper()
	r := &Response{}
	for {
		line := c.ReadLine()
		switch {
		case strings.HasPrefix(line, "* "):
			r.Untagged = append(r.Untagged, line[2:])
		case strings.HasPrefix(line, "+"):
			r.Status, r.Text = "+", strings.TrimSpace(line[1:])
			return r
		case strings.HasPrefix(line, tag+" "):
			rest := line[len(tag)+1:]
			r.Status, r.Text, _ = strings.Cut(rest, " ")
			return r
		default:
			c.t.Fatalf("unexpected line %q", line)
		}
	}
}

// MustOK runs a command and fails the test unless it answers OK.
func (c *Client) MustOK(cmd string) *Response {
	c.t.Helper()
	r := c.Do(cmd)
	if r.Status != "OK" {
		c.t.Fatalf("%s: want OK, got %s", cmd, r)
	}
	return r
}

// Expect runs a command and fails unless it answers status.
func (c *Client) Expect(cmd, status string) *Response {
	c.t.Helper()
	r := c.Do(cmd)
	if r.Status != status {
		c.t.Fatalf("%s: want %s, got %s", cmd, status, r)
	}
	return r
}

// Append stores a message with a synchronizing literal.
func (c *Client) Append(mailbox, flags, msg string) *Response {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	if flags != "" {
		flags = " (" + flags + ")"
	}
	c.Write(fmt.Sprintf("%s APPEND %s%s {%d}\r\n", tag, mailbox, flags, len(msg)))
	if r := c.Read(tag); r.Status != "+" {
		c.t.Fatalf("APPEND: want continuation, got %s", r)
	}
	c.Write(msg + "\r\n")
	r := c.Read(tag)
	if r.Status != "OK" {
		c.t.Fatalf("APPEND: want OK, got %s", r)
	}
	return r
}

// Close ends the connection without LOGOUT.
func (c *Client) Close() { c.conn.Close() }

// ExpectClosed asserts that the server closes the connection, after any
// final lines (returned).
func (c *Client) ExpectClosed() []string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.readLine()
		if err != nil {
			if line != "" {
				lines = append(lines, line)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatalf("connection still open after %q", lines)
			}
			return lines
		}
		lines = append(lines, line)
	}
}

// For returns the client reporting failures to t (a subtest, or a fuzz
// target's t); both share the connection.
func (c *Client) For(t testing.TB) *Client {
	c2 := *c
	c2.t = t
	return &c2
}

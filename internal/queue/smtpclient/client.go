// Package smtpclient is the SMTP client of postfach's outbound queue: one
// session with one remote MX (RFC 5321), with EHLO in our own name before
// and after STARTTLS (RFC 3207), PIPELINING (RFC 2920), and the MAIL and
// RCPT parameters of SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC
// 6531), DSN (RFC 3461, RFC 6533) and REQUIRETLS (RFC 8689).
//
// It is ours rather than go-smtp's client because relaying needs what
// that one does not offer: our host name in the first EHLO, STARTTLS
// under the caller's control after looking at the extensions, pipelined
// recipients with every reply kept for DSNs, BODY= only when the content
// needs it, and context cancellation.
//
// Every command runs under the caller's context and RFC 5321 section
// 4.5.3.2's timeouts. Replies are returned as they came; deciding what a
// reply means for delivery is the queue's business.
package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Timeouts bound the waits of a session (RFC 5321 section 4.5.3.2). Zero
// fields take the RFC's values.
type Timeouts struct {
	Greeting  time.Duration // 5 minutes
	Command   time.Duration // MAIL, RCPT, EHLO, STARTTLS, QUIT: 5 minutes
	DataStart time.Duration // the 354 to DATA: 2 minutes
	DataBlock time.Duration // each write of content: 3 minutes
	DataEnd   time.Duration // the reply to the final dot: 10 minutes
}

func (t *Timeouts) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.Greeting, 5*time.Minute)
	def(&t.Command, 5*time.Minute)
	def(&t.DataStart, 2*time.Minute)
	def(&t.DataBlock, 3*time.Minute)
	def(&t.DataEnd, 10*time.Minute)
}

// Client is one session. It is not safe for concurrent use.
type Client struct {
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	timeouts Timeouts
	ext      map[string]string // EHLO keywords (upper case) and parameters
	helo     bool              // the server answered HELO only
	tlsState *tls.ConnectionState
	name     string // our EHLO name
}

// New starts a session on conn; call Greet next.
func New(conn net.Conn, t Timeouts) *Client {
	t.setDefaults()
	c := &Client{conn: conn, timeouts: t}
	c.setConn(conn)
	return c
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 4096)
	c.bw = bufio.NewWriterSize(conn, 32<<10)
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

// deadline arms the connection's deadline for one step: the earlier of
// now+d and ctx's deadline; a cancelled ctx unblocks the step at once.
// The returned func disarms it.
func (c *Client) deadline(ctx context.Context, d time.Duration) func() {
	dl := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	c.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// ctxErr prefers the context's error over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// Greet reads the greeting (RFC 5321 section 4.3.1). A reply other than
// 220 is returned as the error.
func (c *Client) Greet(ctx context.Context) (*Reply, error) {
	defer c.deadline(ctx, c.timeouts.Greeting)()
	r, err := readReply(c.br)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	if r.Code != 220 {
		return r, r
	}
	return r, nil
}

// cmd sends one command line and reads its reply.
func (c *Client) cmd(ctx context.Context, timeout time.Duration, line string) (*Reply, error) {
	defer c.deadline(ctx, timeout)()
	if _, err := c.bw.WriteString(line + "\r\n"); err != nil {
		return nil, ctxErr(ctx, err)
	}
	if err := c.bw.Flush(); err != nil {
		return nil, ctxErr(ctx, err)
	}
	r, err := readReply(c.br)
	return r, ctxErr(ctx, err)
}

// Hello sends EHLO name and records the extensions; a server that does
// not know EHLO (500, 502) gets HELO (RFC 5321 section 3.2). A negative
// reply is returned as the error.
func (c *Client) Hello(ctx context.Context, name string) error {
	if strings.ContainsAny(name, " \r\n") || name == "" {
		return fmt.Errorf("smtpclient: invalid EHLO name %q", name)
	}
	c.name = name
	r, err := c.cmd(ctx, c.timeouts.Command, "EHLO "+name)
	if err != nil {
		return err
	}
	if r.Code == 500 || r.Code == 502 {
		c.ext, c.helo = map[string]string{}, true
		r, err = c.cmd(ctx, c.timeouts.Command, "HELO "+name)
		if err != nil {
			return err
		}
		if r.Code != 250 {
			return r
		}
		return nil
	}
	if r.Code != 250 {
		return r
	}
	c.ext = map[string]string{}
	// The first line is the server's name and greeting; each further
	// line is a keyword and its parameters (RFC 5321 section 4.1.1.1).
	// r.Lines had a leading enhanced code removed only if the server put
	// one there; EHLO lines never legitimately start with one.
	for _, l := range r.Lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		if kw != "" {
			c.ext[strings.ToUpper(kw)] = params
		}
	}
	return nil
}

// Extension reports whether the server announced the EHLO keyword, and
// its parameters.
func (c *Client) Extension(name string) (string, bool) {
	p, ok := c.ext[strings.ToUpper(name)]
	return p, ok
}

// MaxSize returns the SIZE limit the server announced (RFC 1870 section
// 4); 0 when none or unlimited.
func (c *Client) MaxSize() int64 {
	p, ok := c.ext["SIZE"]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// TLSError is a failed TLS handshake after the server agreed to
// STARTTLS: the connection is unusable.
type TLSError struct{ Err error }

func (e *TLSError) Error() string { return "smtpclient: TLS handshake: " + e.Err.Error() }
func (e *TLSError) Unwrap() error { return e.Err }

// StartTLS sends STARTTLS, performs the handshake with cfg and says EHLO
// again (RFC 3207 section 4.2: the server forgets what it knew). A
// negative reply to STARTTLS is returned as a *Reply and leaves the
// session usable without TLS; a failed handshake is a *TLSError.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	r, err := c.cmd(ctx, c.timeouts.Command, "STARTTLS")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return r
	}
	if c.br.Buffered() > 0 {
		// Data the server sent before the handshake would be taken as
		// protected (the STARTTLS injection of CVE-2011-0411's kind).
		return &TLSError{Err: errors.New("server sent data after its STARTTLS reply")}
	}
	tc := tls.Client(c.conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.timeouts.Command)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return &TLSError{Err: err}
	}
	st := tc.ConnectionState()
	c.tlsState = &st
	c.setConn(tc)
	c.ext = nil
	return c.Hello(ctx, c.name)
}

// TLS returns the TLS state after StartTLS, or nil.
func (c *Client) TLS() *tls.ConnectionState { return c.tlsState }

// Reset aborts the current transaction (RSET, RFC 5321 section 4.1.1.5),
// so that the next one starts clean. A reply other than 250 is the error.
func (c *Client) Reset(ctx context.Context) error {
	r, err := c.cmd(ctx, c.timeouts.Command, "RSET")
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return r
	}
	return nil
}

// Quit ends the session politely and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := c.cmd(qctx, c.timeouts.Command, "QUIT")
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

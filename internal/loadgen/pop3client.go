package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// pop3Client is a lean POP3 client (RFC 1939): status lines, and
// multi-line responses read to their final dot and counted, not kept.
type pop3Client struct {
	conn    net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration
	// received counts the octets of multi-line responses.
	received int64
}

// dialPOP3 connects, reads the greeting and starts TLS as the target says
// (STLS, RFC 2595 section 4).
func dialPOP3(ctx context.Context, d *dialer, t Target, from int, timeout time.Duration) (*pop3Client, error) {
	conn, err := d.dial(ctx, t, from)
	if err != nil {
		return nil, err
	}
	c := &pop3Client{timeout: timeout}
	c.reset(conn)
	if _, err := c.status("greeting"); err != nil {
		conn.Close()
		return nil, err
	}
	if t.TLS == StartTLS {
		if _, err := c.cmd("STLS"); err != nil {
			conn.Close()
			return nil, err
		}
		tc, err := d.handshake(ctx, conn)
		if err != nil {
			return nil, err
		}
		c.reset(tc)
	}
	return c, nil
}

func (c *pop3Client) reset(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 16<<10)
	c.bw = bufio.NewWriterSize(conn, 512)
}

func (c *pop3Client) close() error { return c.conn.Close() }

// cmd sends a command and reads its status line; -ERR is a *statusError.
func (c *pop3Client) cmd(line string) (string, error) {
	if c.timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	if err := c.bw.Flush(); err != nil {
		return "", err
	}
	name := line
	if i := bytes.IndexByte([]byte(line), ' '); i > 0 {
		name = line[:i]
	}
	return c.status(name)
}

// status reads a "+OK text" or "-ERR text" line.
func (c *pop3Client) status(name string) (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	line = bytes.TrimRight(line, "\r\n")
	switch {
	case bytes.HasPrefix(line, []byte("+OK")):
		return string(bytes.TrimSpace(line[3:])), nil
	case bytes.HasPrefix(line, []byte("-ERR")):
		return "", &statusError{name, "-ERR", string(bytes.TrimSpace(line[4:]))}
	}
	return "", fmt.Errorf("%s: malformed status line %q", name, clip(line))
}

// multi reads the body of a multi-line response up to its terminating
// ".", counting its octets (RFC 1939 section 3).
func (c *pop3Client) multi(name string) error {
	continued := false // the last read ended inside a long line
	for {
		line, err := c.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			c.received += int64(len(line))
			continued = true
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !continued && len(line) <= 3 && bytes.Equal(bytes.TrimRight(line, "\r\n"), []byte(".")) {
			return nil
		}
		continued = false
		c.received += int64(len(line))
	}
}

// login runs USER and PASS (RFC 1939 section 7).
func (c *pop3Client) login(user, password string) error {
	if _, err := c.cmd("USER " + user); err != nil {
		return err
	}
	_, err := c.cmd("PASS " + password)
	return err
}

// stat returns the message count and size of the maildrop.
func (c *pop3Client) stat() (count int, size int64, err error) {
	text, err := c.cmd("STAT")
	if err != nil {
		return 0, 0, err
	}
	f := bytes.Fields([]byte(text))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("STAT: malformed answer %q", text)
	}
	count, err1 := strconv.Atoi(string(f[0]))
	size, err2 := strconv.ParseInt(string(f[1]), 10, 64)
	if err1 != nil || err2 != nil || count < 0 {
		return 0, 0, fmt.Errorf("STAT: malformed answer %q", text)
	}
	return count, size, nil
}

// retr fetches message n.
func (c *pop3Client) retr(n int) error {
	if _, err := c.cmd("RETR " + strconv.Itoa(n)); err != nil {
		return err
	}
	return c.multi("RETR")
}

// quit ends the session (without deletions, none being marked).
func (c *pop3Client) quit() error {
	_, err := c.cmd("QUIT")
	c.conn.Close()
	return err
}

package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// client is a lean IMAP client over TLS: commands go out as written,
// responses come back line by line (literals read and kept in the line),
// and the time of a command is that of its whole response, read to the
// tagged status.
type client struct {
	conn net.Conn
	br   *bufio.Reader
	n    int
}

func dial(addr string) (*client, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"})
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		raw.Close()
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	c := &client{conn: tc, br: bufio.NewReaderSize(tc, 64<<10)}
	if line, err := c.line(); err != nil || !bytes.HasPrefix(line, []byte("* OK")) {
		raw.Close()
		return nil, fmt.Errorf("greeting %q: %v", line, err)
	}
	return c, nil
}

func login(addr, user, pass string) (*client, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	if _, err := c.do("LOGIN " + user + " " + pass); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

// line reads one response line without CRLF, literals included.
func (c *client) line() ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
	var out []byte
	for {
		l, err := c.br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			out = append(out, l...)
			l, err = c.br.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
		out = bytes.TrimRight(out, "\r\n")
		// A literal at the end of the line: read it and go on.
		if n := len(out); n > 2 && out[n-1] == '}' {
			if i := bytes.LastIndexByte(out, '{'); i >= 0 {
				size, err := strconv.Atoi(string(bytes.TrimSuffix(out[i+1:n-1], []byte("+"))))
				if err == nil {
					lit := make([]byte, size)
					if _, err := io.ReadFull(c.br, lit); err != nil {
						return nil, err
					}
					out = append(out, lit...)
					continue
				}
			}
		}
		return out, nil
	}
}

// do sends a command and returns its untagged responses; a NO or BAD is
// an error.
func (c *client) do(cmd string) ([][]byte, error) {
	var untagged [][]byte
	_, err := c.run(cmd, func(l []byte) { untagged = append(untagged, append([]byte(nil), l...)) })
	return untagged, err
}

// run sends a command, hands each untagged line to fn, and returns how
// long the server took to answer completely.
func (c *client) run(cmd string, fn func([]byte)) (time.Duration, error) {
	c.n++
	tag := "t" + strconv.Itoa(c.n)
	start := time.Now()
	c.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c.conn, tag+" "+cmd+"\r\n"); err != nil {
		return 0, err
	}
	for {
		l, err := c.line()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", cmd, err)
		}
		if rest, ok := bytes.CutPrefix(l, []byte(tag+" ")); ok {
			d := time.Since(start)
			if !bytes.HasPrefix(rest, []byte("OK")) {
				return d, fmt.Errorf("%s: %s", cmd, rest)
			}
			return d, nil
		}
		if rest, ok := bytes.CutPrefix(l, []byte("* ")); ok && fn != nil {
			fn(rest)
		}
	}
}

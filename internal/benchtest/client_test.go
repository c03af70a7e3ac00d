package benchtest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// client is a lean IMAP client for benchmarks: it shares the machine with
// the server, so it parses no more than it must. Responses are handed to
// a callback line by line, without copies; literals are read and counted.
// Its methods return errors rather than failing a test, so that they can
// run in many goroutines.
type client struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	n    int
	// literalPlus is set when the server offers LITERAL+ (RFC 7888).
	literalPlus bool
	// timeout bounds each read and write.
	timeout time.Duration
}

// clientTLS trusts the benchmark server's self-signed certificate.
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"}
}

// dial connects with implicit TLS to addr, from local (nil: any), and
// reads the greeting.
func dial(addr string, local net.Addr) (*client, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, LocalAddr: local}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, clientTLS())
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	c := &client{conn: tc, br: bufio.NewReaderSize(tc, 16<<10), bw: bufio.NewWriterSize(tc, 16<<10), timeout: time.Minute}
	line, err := c.readLine()
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("* OK")) {
		raw.Close()
		return nil, fmt.Errorf("greeting: %q", line)
	}
	c.literalPlus = bytes.Contains(line, []byte("LITERAL+"))
	return c, nil
}

// login dials and logs in.
func login(addr, user, password string, local net.Addr) (*client, error) {
	c, err := dial(addr, local)
	if err != nil {
		return nil, err
	}
	if err := c.ok(fmt.Sprintf("LOGIN %s %s", user, password), nil); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

// readLine returns one response line without CRLF; the slice is valid
// until the next read. A literal announced at the line's end is read and
// dropped, and the line continues after it (its size stays in the line).
func (c *client) readLine() ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Longer than the buffer: collect it (SEARCH results, say).
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = c.br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if n, ok := literalSize(line); ok {
		// Keep the line: ReadSlice's buffer is reused by what follows.
		head := append([]byte(nil), line...)
		if _, err := io.CopyN(io.Discard, c.br, n); err != nil {
			return nil, err
		}
		rest, err := c.readLine()
		if err != nil {
			return nil, err
		}
		return append(head, rest...), nil
	}
	return line, nil
}

// literalSize finds a literal announcement {n} at the end of line.
func literalSize(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(line[i+1:len(line)-1]), 10, 64)
	return n, err == nil
}

// send writes a command with a fresh tag and returns the tag.
func (c *client) send(cmd string) (string, error) {
	c.n++
	tag := "b" + strconv.Itoa(c.n)
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	c.bw.WriteString(tag)
	c.bw.WriteByte(' ')
	c.bw.WriteString(cmd)
	c.bw.WriteString("\r\n")
	return tag, c.bw.Flush()
}

// response reads up to the tagged response of tag, passing each untagged
// line (without "* ") to untagged, and returns the tagged line's status
// and text.
func (c *client) response(tag string, untagged func(line []byte) error) (status, text string, err error) {
	for {
		line, err := c.readLine()
		if err != nil {
			return "", "", err
		}
		switch {
		case bytes.HasPrefix(line, []byte("* ")):
			if untagged != nil {
				if err := untagged(line[2:]); err != nil {
					return "", "", err
				}
			}
		case len(line) > len(tag) && string(line[:len(tag)]) == tag && line[len(tag)] == ' ':
			rest := string(line[len(tag)+1:])
			status, text, _ = strings.Cut(rest, " ")
			return status, text, nil
		case bytes.HasPrefix(line, []byte("+")):
			return "", "", fmt.Errorf("unexpected continuation request %q", line)
		default:
			return "", "", fmt.Errorf("unexpected line %q", line)
		}
	}
}

// ok runs a command and fails unless it answers OK.
func (c *client) ok(cmd string, untagged func(line []byte) error) error {
	tag, err := c.send(cmd)
	if err != nil {
		return err
	}
	status, text, err := c.response(tag, untagged)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if status != "OK" {
		return fmt.Errorf("%s: %s %s", cmd, status, text)
	}
	return nil
}

// appendMessage stores msg in mailbox with a non-synchronizing literal
// when the server offers LITERAL+, else a synchronizing one, and returns
// the tagged OK's text (with APPENDUID).
func (c *client) appendMessage(mailbox string, msg []byte) (string, error) {
	c.n++
	tag := "b" + strconv.Itoa(c.n)
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	plus := ""
	if c.literalPlus {
		plus = "+"
	}
	fmt.Fprintf(c.bw, "%s APPEND %s {%d%s}\r\n", tag, mailbox, len(msg), plus)
	if !c.literalPlus {
		if err := c.bw.Flush(); err != nil {
			return "", err
		}
		line, err := c.readLine()
		if err != nil {
			return "", err
		}
		if !bytes.HasPrefix(line, []byte("+")) {
			return "", fmt.Errorf("APPEND: want continuation, got %q", line)
		}
	}
	c.bw.Write(msg)
	c.bw.WriteString("\r\n")
	if err := c.bw.Flush(); err != nil {
		return "", err
	}
	status, text, err := c.response(tag, nil)
	if err != nil {
		return "", fmt.Errorf("APPEND: %w", err)
	}
	if status != "OK" {
		return "", fmt.Errorf("APPEND: %s %s", status, text)
	}
	return text, nil
}

// idle starts IDLE and waits for the continuation request.
func (c *client) idle() error {
	tag, err := c.send("IDLE")
	if err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(line, []byte("+")):
			return nil
		case bytes.HasPrefix(line, []byte("* ")):
		case bytes.HasPrefix(line, []byte(tag+" ")):
			return fmt.Errorf("IDLE refused: %q", line)
		default:
			return fmt.Errorf("IDLE: unexpected line %q", line)
		}
	}
}

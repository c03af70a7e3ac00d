package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// smtpClient is a lean SMTP (RFC 5321) and LMTP (RFC 2033) client: one
// command at a time, replies parsed to their code and text.
type smtpClient struct {
	conn    net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration
	lmtp    bool
	// ext holds the EHLO/LHLO keywords (upper case) and their parameters.
	ext map[string]string
}

// smtpError is a reply with a 4xx or 5xx code, or an unexpected one.
type smtpError struct {
	cmd  string
	code int
	text string
}

func (e *smtpError) Error() string { return fmt.Sprintf("%s: %d %s", e.cmd, e.code, e.text) }

// loadgenHelo is the name the client greets with.
const loadgenHelo = "loadgen.localhost"

// dialSMTP connects, reads the greeting, says EHLO (LHLO for LMTP) and
// starts TLS as the target says (RFC 3207: EHLO again afterwards).
func dialSMTP(ctx context.Context, d *dialer, t Target, from int, timeout time.Duration) (*smtpClient, error) {
	conn, err := d.dial(ctx, t, from)
	if err != nil {
		return nil, err
	}
	c := &smtpClient{timeout: timeout, lmtp: t.Protocol == LMTP}
	c.reset(conn)
	if code, text, err := c.reply(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	} else if code != 220 {
		conn.Close()
		return nil, &smtpError{"greeting", code, text}
	}
	if err := c.hello(); err != nil {
		conn.Close()
		return nil, err
	}
	if t.TLS == StartTLS {
		if _, ok := c.ext["STARTTLS"]; !ok {
			conn.Close()
			return nil, errors.New("the server does not offer STARTTLS")
		}
		if err := c.expect("STARTTLS", 220); err != nil {
			conn.Close()
			return nil, err
		}
		tc, err := d.handshake(ctx, conn)
		if err != nil {
			return nil, err
		}
		c.reset(tc)
		if err := c.hello(); err != nil {
			tc.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *smtpClient) reset(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 4096)
	c.bw = bufio.NewWriterSize(conn, 16<<10)
}

func (c *smtpClient) close() error { return c.conn.Close() }

// hello sends EHLO or LHLO and records the extensions.
func (c *smtpClient) hello() error {
	verb := "EHLO"
	if c.lmtp {
		verb = "LHLO" // RFC 2033 section 4.1
	}
	c.ext = map[string]string{}
	if err := c.send(verb + " " + loadgenHelo); err != nil {
		return err
	}
	code, text, err := c.replyLines(func(line string) {
		k, v, _ := strings.Cut(line, " ")
		c.ext[strings.ToUpper(k)] = v
	})
	if err != nil {
		return err
	}
	if code != 250 {
		return &smtpError{verb, code, text}
	}
	return nil
}

func (c *smtpClient) send(line string) error {
	if c.timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	return c.bw.Flush()
}

// reply reads one reply, multi-line ones included (RFC 5321 section
// 4.2.1), and returns its code and the text of its last line.
func (c *smtpClient) reply() (int, string, error) { return c.replyLines(nil) }

// replyLines reads a reply and hands the text of each line but the first
// to extra (the EHLO keywords).
func (c *smtpClient) replyLines(extra func(string)) (int, string, error) {
	for n := 0; ; n++ {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		code, last, text, ok := parseReplyLine(line)
		if !ok {
			return 0, "", fmt.Errorf("malformed reply line %q", clip(line))
		}
		if n > 0 && extra != nil {
			extra(text)
		}
		if last {
			return code, text, nil
		}
		if n > 1000 {
			return 0, "", errors.New("reply of more than 1000 lines")
		}
	}
}

// parseReplyLine reads "250-text" or "250 text" (or a bare "250").
func parseReplyLine(line []byte) (code int, last bool, text string, ok bool) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 3 {
		return 0, false, "", false
	}
	for _, b := range line[:3] {
		if b < '0' || b > '9' {
			return 0, false, "", false
		}
	}
	code, _ = strconv.Atoi(string(line[:3]))
	if code < 200 || code > 599 {
		return 0, false, "", false
	}
	if len(line) == 3 {
		return code, true, "", true
	}
	switch line[3] {
	case ' ':
		return code, true, string(line[4:]), true
	case '-':
		return code, false, string(line[4:]), true
	}
	return 0, false, "", false
}

// expect sends a command and wants the code.
func (c *smtpClient) expect(cmd string, want int) error {
	if err := c.send(cmd); err != nil {
		return err
	}
	code, text, err := c.reply()
	if err != nil {
		return fmt.Errorf("%s: %w", smtpVerb(cmd), err)
	}
	if code != want {
		return &smtpError{smtpVerb(cmd), code, text}
	}
	return nil
}

func smtpVerb(cmd string) string {
	v, _, _ := strings.Cut(cmd, " ")
	if i := strings.IndexByte(v, ':'); i > 0 {
		v = v[:i]
	}
	return strings.ToUpper(v)
}

// authPlain authenticates with SASL PLAIN (RFC 4954, RFC 4616) and an
// initial response.
func (c *smtpClient) authPlain(user, password string) error {
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	return c.expect("AUTH PLAIN "+ir, 235)
}

// data sends DATA and the message, dot-stuffed (RFC 5321 section 4.5.2),
// and reads the outcome: one reply for SMTP, one per accepted recipient
// for LMTP (RFC 2033 section 4.2). It returns how many recipients the
// message reached, and the first refusal.
func (c *smtpClient) data(msg []byte, accepted int) (int, error) {
	if err := c.expect("DATA", 354); err != nil {
		return 0, err
	}
	writeDotStuffed(c.bw, msg)
	c.bw.WriteString(".\r\n")
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	replies := 1
	if c.lmtp {
		replies = accepted
	}
	delivered := 0
	var first error
	for range replies {
		code, text, err := c.reply()
		if err != nil {
			return delivered, fmt.Errorf("DATA: %w", err)
		}
		if code != 250 {
			if first == nil {
				first = &smtpError{"DATA", code, text}
			}
			continue
		}
		if c.lmtp {
			delivered++
		} else {
			delivered = accepted
		}
	}
	return delivered, first
}

// writeDotStuffed writes msg (CRLF lines, ending in CRLF) with a dot
// doubled at the start of every line that begins with one.
func writeDotStuffed(w *bufio.Writer, msg []byte) {
	if len(msg) > 0 && msg[0] == '.' {
		w.WriteByte('.')
	}
	for {
		i := bytes.Index(msg, []byte("\n."))
		if i < 0 {
			break
		}
		w.Write(msg[:i+1])
		w.WriteByte('.')
		msg = msg[i+1:]
	}
	w.Write(msg)
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		w.WriteString("\r\n")
	}
}

// quit ends the session politely.
func (c *smtpClient) quit() error {
	err := c.expect("QUIT", 221)
	c.conn.Close()
	return err
}

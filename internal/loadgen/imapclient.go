package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// imapClient is a lean IMAP4rev1/rev2 client (RFC 9051, RFC 3501): it
// shares the machine with the server it measures, so it parses no more
// than a workload needs. Responses are handed to a callback line by line,
// without copies; literals in responses are read and counted, not kept.
type imapClient struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	tag  uint64
	// timeout bounds each command; zero: no deadline.
	timeout time.Duration

	// Capabilities the workloads care about.
	literalPlus, literalMinus, starttls, loginDisabled, uidplus bool

	// literalBytes counts literal octets read (FETCH bodies).
	literalBytes int64
	// long collects lines longer than the read buffer.
	long []byte
}

// maxIMAPLine bounds one response line kept in memory (a long SEARCH
// result): a server that sends more is broken or hostile.
const maxIMAPLine = 64 << 20

// statusError is a tagged NO or BAD.
type statusError struct {
	cmd, status, text string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: %s %s", e.cmd, e.status, e.text)
}

// dialIMAP connects, starts TLS as the target says, and reads the greeting
// and the capabilities.
func dialIMAP(ctx context.Context, d *dialer, t Target, from int, timeout time.Duration) (*imapClient, error) {
	conn, err := d.dial(ctx, t, from)
	if err != nil {
		return nil, err
	}
	c := newIMAPClient(conn, timeout)
	line, err := c.readLine()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("* OK")) && !bytes.HasPrefix(line, []byte("* PREAUTH")) {
		conn.Close()
		return nil, fmt.Errorf("greeting: %q", clip(line))
	}
	if caps, ok := respCode(line[2:], "CAPABILITY"); ok {
		c.setCaps(caps)
	} else if err := c.capability(); err != nil {
		conn.Close()
		return nil, err
	}
	if t.TLS == StartTLS {
		if !c.starttls {
			conn.Close()
			return nil, errors.New("the server does not offer STARTTLS")
		}
		// RFC 9051 section 6.2.1: after OK, the TLS negotiation begins
		// at once; capabilities must be asked for again afterwards.
		if _, _, err := c.command("STARTTLS", nil); err != nil {
			conn.Close()
			return nil, err
		}
		tc, err := d.handshake(ctx, conn)
		if err != nil {
			return nil, err
		}
		c.reset(tc)
		if err := c.capability(); err != nil {
			tc.Close()
			return nil, err
		}
	}
	return c, nil
}

func newIMAPClient(conn net.Conn, timeout time.Duration) *imapClient {
	c := &imapClient{timeout: timeout}
	c.reset(conn)
	return c
}

// reset puts the client on a (new, TLS) connection.
func (c *imapClient) reset(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, 4096)
	c.bw = bufio.NewWriterSize(conn, 4096)
}

func (c *imapClient) close() error { return c.conn.Close() }

// capability asks for and records the capabilities.
func (c *imapClient) capability() error {
	_, _, err := c.command("CAPABILITY", func(line []byte) {
		if rest, ok := bytes.CutPrefix(line, []byte("CAPABILITY ")); ok {
			c.setCaps(rest)
		}
	})
	return err
}

func (c *imapClient) setCaps(caps []byte) {
	c.literalPlus, c.literalMinus, c.starttls, c.loginDisabled, c.uidplus = false, false, false, false, false
	for _, f := range bytes.Fields(caps) {
		switch strings.ToUpper(string(f)) {
		case "LITERAL+":
			c.literalPlus = true
		case "LITERAL-":
			c.literalMinus = true
		case "STARTTLS":
			c.starttls = true
		case "LOGINDISABLED":
			c.loginDisabled = true
		case "UIDPLUS":
			c.uidplus = true
		}
	}
}

// deadline sets the connection's deadline for the next exchange.
func (c *imapClient) deadline() {
	if c.timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
}

// readLine returns one response line without CRLF; the slice is valid
// until the next read. A literal announced at the end of a line ({n} or
// ~{n}, RFC 9051 section 4.3) is read and dropped, and the line goes on
// after it; the announcement stays in the line.
func (c *imapClient) readLine() ([]byte, error) {
	c.long = c.long[:0]
	joined := false // c.long holds the line read so far
	for {
		frag, err := c.br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !full {
			return nil, err
		}
		if full || joined {
			c.long = append(c.long, frag...)
			joined = true
			if len(c.long) > maxIMAPLine {
				return nil, fmt.Errorf("response line longer than %d octets", maxIMAPLine)
			}
			if full {
				continue
			}
			frag = c.long
		}
		line := bytes.TrimSuffix(bytes.TrimSuffix(frag, []byte("\n")), []byte("\r"))
		n, ok := literalSize(line)
		if !ok {
			return line, nil
		}
		// Keep the line: the reader's buffer is reused by what follows.
		if joined {
			c.long = c.long[:len(line)]
		} else {
			c.long = append(c.long[:0], line...)
			joined = true
		}
		if _, err := c.br.Discard(int(n)); err != nil {
			return nil, err
		}
		c.literalBytes += n
	}
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
	if err != nil || n < 0 || n > 1<<40 {
		return 0, false
	}
	return n, true
}

// send writes one command line with a fresh tag and returns the tag.
func (c *imapClient) send(cmd string) (string, error) {
	c.tag++
	tag := "L" + strconv.FormatUint(c.tag, 10)
	c.deadline()
	c.bw.WriteString(tag)
	c.bw.WriteByte(' ')
	c.bw.WriteString(cmd)
	c.bw.WriteString("\r\n")
	return tag, c.bw.Flush()
}

// command runs one command: it sends cmd, hands each untagged line
// (without "* ") to untagged, and returns the tagged status and text. A
// NO or BAD is a *statusError.
func (c *imapClient) command(cmd string, untagged func(line []byte)) (status, text string, err error) {
	tag, err := c.send(cmd)
	if err != nil {
		return "", "", err
	}
	return c.response(cmdName(cmd), tag, untagged)
}

// response reads up to the tagged response of tag.
func (c *imapClient) response(name, tag string, untagged func(line []byte)) (status, text string, err error) {
	for {
		line, err := c.readLine()
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", name, err)
		}
		switch {
		case bytes.HasPrefix(line, []byte("* ")):
			if untagged != nil {
				untagged(line[2:])
			}
			if bytes.HasPrefix(line, []byte("* BYE")) && name != "LOGOUT" {
				return "", "", fmt.Errorf("%s: server said %q", name, clip(line))
			}
		case bytes.HasPrefix(line, []byte("+")):
			return "", "", fmt.Errorf("%s: unexpected continuation %q", name, clip(line))
		case len(line) > len(tag) && line[len(tag)] == ' ' && string(line[:len(tag)]) == tag:
			rest := line[len(tag)+1:]
			st, txt, _ := bytes.Cut(rest, []byte(" "))
			status, text = strings.ToUpper(string(st)), string(txt)
			if status != "OK" {
				return status, text, &statusError{name, status, text}
			}
			return status, text, nil
		default:
			return "", "", fmt.Errorf("%s: unexpected line %q", name, clip(line))
		}
	}
}

// continuation reads up to a "+" continuation request; untagged lines go
// to untagged, a tagged line (a refusal) is an error.
func (c *imapClient) continuation(name, tag string, untagged func([]byte)) error {
	for {
		line, err := c.readLine()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		switch {
		case bytes.HasPrefix(line, []byte("+")):
			return nil
		case bytes.HasPrefix(line, []byte("* ")):
			if untagged != nil {
				untagged(line[2:])
			}
		default:
			rest, _ := bytes.CutPrefix(line, []byte(tag+" "))
			st, txt, _ := bytes.Cut(rest, []byte(" "))
			return &statusError{name, string(st), string(txt)}
		}
	}
}

// login runs LOGIN (RFC 9051 section 6.2.3) with quoted strings.
func (c *imapClient) login(user, password string) error {
	if c.loginDisabled {
		return errors.New("LOGIN: the server advertises LOGINDISABLED (use TLS)")
	}
	_, text, err := c.command("LOGIN "+quote(user)+" "+quote(password), nil)
	if err == nil {
		if caps, ok := respCode([]byte("OK "+text), "CAPABILITY"); ok {
			c.setCaps(caps)
		}
	}
	return err
}

// mailboxState is what SELECT reports.
type mailboxState struct {
	exists, uidNext, uidValidity uint32
}

// selectMailbox runs SELECT (or EXAMINE).
func (c *imapClient) selectMailbox(cmd, name string) (mailboxState, error) {
	var st mailboxState
	_, _, err := c.command(cmd+" "+quote(name), func(line []byte) {
		if n, ok := parseExists(line); ok {
			st.exists = n
		} else if v, ok := respCode(line, "UIDNEXT"); ok {
			st.uidNext = atou32(v)
		} else if v, ok := respCode(line, "UIDVALIDITY"); ok {
			st.uidValidity = atou32(v)
		}
	})
	return st, err
}

// appendMessage stores msg with APPEND (RFC 9051 section 6.3.12), with a
// non-synchronizing literal when the server offers LITERAL+ (RFC 7888),
// and returns the new UID when the server reports it (UIDPLUS, RFC 4315
// section 3: APPENDUID).
func (c *imapClient) appendMessage(mailbox, flags string, msg []byte) (uid uint32, err error) {
	return c.appendDated(mailbox, flags, time.Time{}, msg)
}

// appendDated is appendMessage with an internal date (zero: the server's
// clock).
func (c *imapClient) appendDated(mailbox, flags string, date time.Time, msg []byte) (uid uint32, err error) {
	c.tag++
	tag := "L" + strconv.FormatUint(c.tag, 10)
	c.deadline()
	c.bw.WriteString(tag)
	c.bw.WriteString(" APPEND ")
	c.bw.WriteString(quote(mailbox))
	if flags != "" {
		c.bw.WriteString(" (")
		c.bw.WriteString(flags)
		c.bw.WriteByte(')')
	}
	if !date.IsZero() {
		// RFC 9051 section 9: date-time = DQUOTE date-day-fixed "-"
		// date-month "-" date-year SP time SP zone DQUOTE.
		c.bw.WriteString(date.Format(` "_2-Jan-2006 15:04:05 -0700"`))
	}
	c.bw.WriteString(" {")
	c.bw.WriteString(strconv.Itoa(len(msg)))
	plus := c.literalPlus || (c.literalMinus && len(msg) <= 4096)
	if plus {
		c.bw.WriteString("+}\r\n")
	} else {
		c.bw.WriteString("}\r\n")
		if err := c.bw.Flush(); err != nil {
			return 0, err
		}
		if err := c.continuation("APPEND", tag, nil); err != nil {
			return 0, err
		}
	}
	c.bw.Write(msg)
	c.bw.WriteString("\r\n")
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	_, text, err := c.response("APPEND", tag, nil)
	if err != nil {
		return 0, err
	}
	if v, ok := respCode([]byte("OK "+text), "APPENDUID"); ok {
		if _, u, ok := bytes.Cut(v, []byte(" ")); ok {
			uid = atou32(u)
		}
	}
	return uid, nil
}

// logout ends the session politely.
func (c *imapClient) logout() error {
	_, _, err := c.command("LOGOUT", nil)
	c.conn.Close()
	return err
}

// cmdName is the command's name for reports: its first word, or the first
// two for UID commands.
func cmdName(cmd string) string {
	name, rest, _ := strings.Cut(cmd, " ")
	name = strings.ToUpper(name)
	if name == "UID" {
		sub, _, _ := strings.Cut(rest, " ")
		name += " " + strings.ToUpper(sub)
	}
	return name
}

// quote renders s as an IMAP quoted string (RFC 9051 section 4.3).
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// parseExists reads an untagged "n EXISTS" (without "* ").
func parseExists(line []byte) (uint32, bool) {
	num, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.EqualFold(bytes.TrimSpace(rest), []byte("EXISTS")) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(num), 10, 32)
	return uint32(n), err == nil
}

// parseFetchUID finds the UID in an untagged FETCH response ("n FETCH
// (... UID u ...)"); it looks only before the first literal.
func parseFetchUID(line []byte) (uint32, bool) {
	_, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(rest) < 7 || !bytes.EqualFold(rest[:7], []byte("FETCH (")) {
		return 0, false
	}
	rest = rest[7:]
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("UID "))
		if i < 0 {
			return 0, false
		}
		if i == 0 || rest[i-1] == ' ' || rest[i-1] == '(' {
			v := rest[i+4:]
			j := 0
			for j < len(v) && v[j] >= '0' && v[j] <= '9' {
				j++
			}
			if j > 0 {
				return atou32(v[:j]), true
			}
		}
		rest = rest[i+4:]
	}
	return 0, false
}

// parseSearch reads the numbers of "SEARCH n n n" (RFC 9051 section 7.3.5
// in IMAP4rev1 form) or the count of an ESEARCH ALL (RFC 4731).
func parseSearch(line []byte) (count int, ok bool) {
	if rest, found := bytes.CutPrefix(line, []byte("SEARCH")); found {
		return len(bytes.Fields(rest)), true
	}
	if _, found := bytes.CutPrefix(line, []byte("ESEARCH")); found {
		return 0, true
	}
	return 0, false
}

// respCode returns the argument of response code name ("[NAME args]") in
// an untagged or tagged status line ("OK [NAME args] text").
func respCode(line []byte, name string) ([]byte, bool) {
	i := bytes.IndexByte(line, '[')
	if i < 0 {
		return nil, false
	}
	rest := line[i+1:]
	if len(rest) < len(name) || !bytes.EqualFold(rest[:len(name)], []byte(name)) {
		return nil, false
	}
	rest = rest[len(name):]
	j := bytes.IndexByte(rest, ']')
	if j < 0 {
		return nil, false
	}
	if j > 0 && rest[0] != ' ' {
		return nil, false
	}
	return bytes.TrimSpace(rest[:j]), true
}

func atou32(b []byte) uint32 {
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// clip shortens a line for an error message.
func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

//go:build linux

package crashtest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"postfach/internal/imaptest"
)

// ioTimeout bounds every read and write. It is generous: the server may
// run with the race detector on a loaded two-core machine, and a group
// commit may wait for a slow fsync.
const ioTimeout = 2 * time.Minute

// client is a minimal IMAP client whose methods return errors instead of
// failing the test: the crash tests expect connections to break, and run
// clients on goroutines other than the test's.
type client struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	n    int
	// lastTag is the tag of the latest command sent.
	lastTag string
}

// dialIMAP connects to addr, with implicit TLS when useTLS, and reads the
// greeting.
func dialIMAP(addr string, useTLS bool) (*client, error) {
	d := &net.Dialer{Timeout: ioTimeout}
	var conn net.Conn
	var err error
	if useTLS {
		conn, err = tls.DialWithDialer(d, "tcp", addr, imaptest.ClientTLS())
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), bw: bufio.NewWriterSize(conn, 64<<10)}
	l, err := c.readLine()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading greeting: %w", err)
	}
	if !strings.HasPrefix(l.text, "* OK") {
		conn.Close()
		return nil, fmt.Errorf("greeting %q", l.text)
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

// line is one response line. text has the literals' data left out (their
// "{n}" announcements stay in place); lits holds the data, in order.
type line struct {
	text string
	lits [][]byte
}

var literalRE = regexp.MustCompile(`~?\{(\d+)\}$`)

// maxResponseLiteral keeps a confused server from making the client
// allocate without bound.
const maxResponseLiteral = 256 << 20

func (c *client) readLine() (line, error) {
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	var l line
	var b strings.Builder
	for {
		s, err := c.br.ReadString('\n')
		if err != nil {
			return l, err
		}
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
		b.WriteString(s)
		m := literalRE.FindStringSubmatch(s)
		if m == nil {
			l.text = b.String()
			return l, nil
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > maxResponseLiteral {
			return l, protocolErrorf("literal of %s octets in %q", m[1], s)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(c.br, data); err != nil {
			return l, err
		}
		l.lits = append(l.lits, data)
	}
}

// statusError is a tagged NO or BAD, or a refused continuation.
type statusError struct {
	cmd, status, text string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: %s %s", e.cmd, e.status, e.text)
}

// protocolError is a response the client cannot make sense of.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{fmt.Sprintf(format, args...)}
}

// isAnswer reports whether err is the server's (refusing or malformed)
// answer rather than a broken connection.
func isAnswer(err error) bool {
	var se *statusError
	var pe *protocolError
	return errors.As(err, &se) || errors.As(err, &pe)
}

// result is the outcome of one command.
type result struct {
	untagged []line
	text     string // the tagged OK's text, response code included
}

func (c *client) nextTag() string {
	c.n++
	c.lastTag = "c" + strconv.Itoa(c.n)
	return c.lastTag
}

func (c *client) flush() error {
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	return c.bw.Flush()
}

// do sends one command line and collects the response; a NO or BAD is a
// *statusError.
func (c *client) do(cmd string) (*result, error) {
	tag := c.nextTag()
	c.bw.WriteString(tag + " " + cmd + "\r\n")
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c.wait(tag, cmd)
}

// wait reads up to the tagged response for tag.
func (c *client) wait(tag, cmd string) (*result, error) {
	r := &result{}
	for {
		l, err := c.readLine()
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(l.text, "* "):
			r.untagged = append(r.untagged, l)
		case strings.HasPrefix(l.text, tag+" "):
			status, text, _ := strings.Cut(l.text[len(tag)+1:], " ")
			if status != "OK" {
				return nil, &statusError{cmd: cmd, status: status, text: text}
			}
			r.text = text
			return r, nil
		case strings.HasPrefix(l.text, "+"):
			return nil, protocolErrorf("%s: unexpected continuation %q", cmd, l.text)
		default:
			return nil, protocolErrorf("%s: unexpected line %q", cmd, l.text)
		}
	}
}

// waitContinuation reads up to a "+" continuation request; a tagged
// response instead refuses the literal.
func (c *client) waitContinuation(tag, cmd string) error {
	for {
		l, err := c.readLine()
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(l.text, "+"):
			return nil
		case strings.HasPrefix(l.text, "* "):
		case strings.HasPrefix(l.text, tag+" "):
			status, text, _ := strings.Cut(l.text[len(tag)+1:], " ")
			return &statusError{cmd: cmd, status: status, text: text}
		default:
			return protocolErrorf("%s: unexpected line %q", cmd, l.text)
		}
	}
}

func (c *client) login(user, password string) error {
	_, err := c.do("LOGIN " + quote(user) + " " + quote(password))
	return err
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// appendItem is one message of an APPEND.
type appendItem struct {
	flags []string
	data  []byte
}

// appendMessages runs APPEND, as MULTIAPPEND (RFC 3502) for more than one
// message, with LITERAL+ (RFC 7888) or synchronizing literals, and returns
// the APPENDUID (RFC 4315 section 3).
func (c *client) appendMessages(mailbox string, items []appendItem, literalPlus bool) (uidValidity uint32, uids []uint32, err error) {
	tag := c.nextTag()
	cmd := "APPEND " + mailbox
	c.bw.WriteString(tag + " " + cmd)
	for _, it := range items {
		if len(it.flags) > 0 {
			c.bw.WriteString(" (" + strings.Join(it.flags, " ") + ")")
		}
		plus := ""
		if literalPlus {
			plus = "+"
		}
		fmt.Fprintf(c.bw, " {%d%s}\r\n", len(it.data), plus)
		if !literalPlus {
			if err := c.flush(); err != nil {
				return 0, nil, err
			}
			if err := c.waitContinuation(tag, cmd); err != nil {
				return 0, nil, err
			}
		}
		c.bw.Write(it.data)
	}
	c.bw.WriteString("\r\n")
	if err := c.flush(); err != nil {
		return 0, nil, err
	}
	r, err := c.wait(tag, cmd)
	if err != nil {
		return 0, nil, err
	}
	uidValidity, uids, err = parseAppendUID(r.text)
	if err == nil && len(uids) != len(items) {
		err = protocolErrorf("APPENDUID names %d UIDs for %d messages: %q", len(uids), len(items), r.text)
	}
	return uidValidity, uids, err
}

var (
	appendUIDRE = regexp.MustCompile(`\[APPENDUID (\d+) ([0-9:,]+)\]`)
	copyUIDRE   = regexp.MustCompile(`\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]`)
)

func parseAppendUID(text string) (uint32, []uint32, error) {
	m := appendUIDRE.FindStringSubmatch(text)
	if m == nil {
		return 0, nil, protocolErrorf("no APPENDUID in %q", text)
	}
	v, err := parseNumber(m[1])
	if err != nil {
		return 0, nil, err
	}
	uids, err := parseUIDSet(m[2])
	return v, uids, err
}

// parseCopyUID finds COPYUID (RFC 4315 section 3) in the text of a
// tagged or untagged OK.
func parseCopyUID(text string) (uidValidity uint32, src, dst []uint32, ok bool, err error) {
	m := copyUIDRE.FindStringSubmatch(text)
	if m == nil {
		return 0, nil, nil, false, nil
	}
	if uidValidity, err = parseNumber(m[1]); err != nil {
		return 0, nil, nil, true, err
	}
	if src, err = parseUIDSet(m[2]); err != nil {
		return 0, nil, nil, true, err
	}
	if dst, err = parseUIDSet(m[3]); err != nil {
		return 0, nil, nil, true, err
	}
	if len(src) != len(dst) {
		return 0, nil, nil, true, protocolErrorf("COPYUID with %d source and %d destination UIDs", len(src), len(dst))
	}
	return uidValidity, src, dst, true, nil
}

func parseNumber(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, protocolErrorf("bad number %q", s)
	}
	return uint32(n), nil
}

// parseUIDSet expands a uid-set as UIDPLUS sends it (numbers and ranges,
// in the order of the messages).
func parseUIDSet(s string) ([]uint32, error) {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := parseNumber(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseNumber(hi); err != nil {
				return nil, err
			}
		}
		if a > b {
			a, b = b, a
		}
		if b-a > 1<<20 {
			return nil, protocolErrorf("uid set range %q too large", part)
		}
		for u := a; ; u++ {
			out = append(out, u)
			if u == b {
				break
			}
		}
	}
	return out, nil
}

// formatUIDs writes UIDs as a sequence set, one number each.
func formatUIDs(uids []uint32) string {
	s := slices.Clone(uids)
	slices.Sort(s)
	parts := make([]string, len(s))
	for i, u := range s {
		parts[i] = strconv.FormatUint(uint64(u), 10)
	}
	return strings.Join(parts, ",")
}

// fetched is one message of a FETCH response.
type fetched struct {
	uid   uint32
	size  int64
	flags string // canonical, see canonFlags
	body  []byte
	has   struct{ size, flags, body bool }
}

var (
	fetchRE     = regexp.MustCompile(`^\* \d+ FETCH \(`)
	fetchUIDRE  = regexp.MustCompile(`[( ]UID (\d+)`)
	fetchSizeRE = regexp.MustCompile(`[( ]RFC822\.SIZE (\d+)`)
	fetchFlagRE = regexp.MustCompile(`[( ]FLAGS \(([^)]*)\)`)
	fetchBodyRE = regexp.MustCompile(`[( ]BODY\[\] ~?\{\d+\}`)
)

// parseFetch reads the items the tests ask for from an untagged FETCH.
// ok is false for other untagged lines.
func parseFetch(l line) (f fetched, ok bool, err error) {
	if !fetchRE.MatchString(l.text) {
		return f, false, nil
	}
	m := fetchUIDRE.FindStringSubmatch(l.text)
	if m == nil {
		return f, true, fmt.Errorf("FETCH without UID: %q", l.text)
	}
	if f.uid, err = parseNumber(m[1]); err != nil {
		return f, true, err
	}
	if m := fetchSizeRE.FindStringSubmatch(l.text); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return f, true, err
		}
		f.size, f.has.size = n, true
	}
	if m := fetchFlagRE.FindStringSubmatch(l.text); m != nil {
		f.flags, f.has.flags = canonFlags(strings.Fields(m[1])), true
	}
	if fetchBodyRE.MatchString(l.text) {
		if len(l.lits) != 1 {
			return f, true, fmt.Errorf("FETCH BODY[] with %d literals: %q", len(l.lits), l.text)
		}
		f.body, f.has.body = l.lits[0], true
	}
	return f, true, nil
}

var statusItemRE = regexp.MustCompile(`([A-Z]+) (\d+)`)

// status runs STATUS and returns its items.
func (c *client) status(mailbox string, items ...string) (map[string]uint64, error) {
	r, err := c.do("STATUS " + mailbox + " (" + strings.Join(items, " ") + ")")
	if err != nil {
		return nil, err
	}
	for _, l := range r.untagged {
		if !strings.HasPrefix(l.text, "* STATUS ") {
			continue
		}
		open := strings.LastIndexByte(l.text, '(')
		if open < 0 {
			return nil, fmt.Errorf("STATUS response %q", l.text)
		}
		out := map[string]uint64{}
		for _, m := range statusItemRE.FindAllStringSubmatch(l.text[open:], -1) {
			n, err := strconv.ParseUint(m[2], 10, 64)
			if err != nil {
				return nil, err
			}
			out[m[1]] = n
		}
		for _, it := range items {
			if _, ok := out[it]; !ok {
				return nil, fmt.Errorf("STATUS response %q lacks %s", l.text, it)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no STATUS response to STATUS %s", mailbox)
}

package check

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// imapNotable are the IMAP capabilities the report names (IDLE for push,
// CONDSTORE and QRESYNC for fast resynchronization, COMPRESS for slow
// links, and the extensions mobile clients lean on).
var imapNotable = []string{"IMAP4REV2", "IMAP4REV1", "IDLE", "CONDSTORE", "QRESYNC", "COMPRESS=", "NOTIFY", "MOVE", "UIDPLUS", "SPECIAL-USE", "LITERAL+", "SASL-IR", "ID"}

// probeIMAP reads the greeting, the capabilities before and after TLS,
// and upgrades with STARTTLS on port 143. It never logs in.
func (r *runner) probeIMAP(ctx context.Context, s service, p *Probe, c *conn) error {
	start := time.Now()
	line, err := c.readLine()
	if err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	greet, err := parseIMAPResponse(line)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if greet.Tag != "*" {
		return fmt.Errorf("greeting %q is not an untagged response", clip(line))
	}
	greeted(p, s, start, line)
	switch greet.Kind {
	case "OK":
	case "PREAUTH":
		p.add(Warn, "greeting", "the connection is logged in before any authentication (PREAUTH)")
	case "BYE":
		return fmt.Errorf("the server refuses the connection: %s", clip(greet.Text))
	default:
		return fmt.Errorf("greeting %q is not OK, PREAUTH or BYE", clip(line))
	}
	tags := &tagger{}
	caps, err := imapCaps(c, tags, greet)
	if err != nil {
		return err
	}

	if !s.implicit {
		// RFC 9051 section 6.2.3: a server that does not accept LOGIN
		// before TLS says LOGINDISABLED; AUTH=PLAIN or AUTH=LOGIN before
		// TLS invite a client to send a password in clear.
		plainMechs := slices.DeleteFunc(imapSASL(caps), func(m string) bool { return m != "PLAIN" && m != "LOGIN" })
		p.PlaintextLogin = !slices.Contains(caps, "LOGINDISABLED") || len(plainMechs) > 0
		if !slices.Contains(caps, "STARTTLS") {
			if p.PlaintextLogin {
				p.add(Fail, "starttls", "no STARTTLS, and LOGIN works without TLS: passwords cross the network in clear")
			} else {
				p.add(Fail, "starttls", "no STARTTLS: clients cannot protect the connection, and login is disabled")
			}
			return imapLogout(c, tags)
		}
		if p.PlaintextLogin {
			offered := "LOGIN"
			if len(plainMechs) > 0 {
				offered = "AUTH=" + strings.Join(plainMechs, " AUTH=")
				if !slices.Contains(caps, "LOGINDISABLED") {
					offered = "LOGIN and " + offered
				}
			}
			p.add(Warn, "plaintext-login", "%s offered before STARTTLS: a client set to \"no encryption\" sends the password in clear (announce LOGINDISABLED until TLS, RFC 9051 section 6.2.3)", offered)
		} else {
			p.add(OK, "plaintext-login", "no password login before STARTTLS (LOGINDISABLED)")
		}
		resp, _, err := imapCommand(c, tags, "STARTTLS")
		if err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		if resp.Kind != "OK" {
			p.add(Fail, "starttls", "STARTTLS refused: %s %s", resp.Kind, clip(resp.Text))
			return nil
		}
		st, err := c.startTLS(ctx, r.tlsConfig())
		if err != nil {
			p.add(Fail, "tls", "%s", handshakeFailure(err))
			return nil
		}
		tlsFindings(p, "starttls", st)
		p.usable = inspectCert(p, st, r.opts.Roots, r.serverName, r.opts.Now(), false)
		// RFC 9051 section 6.2.1: capabilities from before TLS are
		// forgotten; ask again.
		if caps, err = imapCaps(c, tags, imapResponse{}); err != nil {
			return err
		}
	}
	p.Capabilities = caps
	p.SASL = imapSASL(caps)
	imapCapFindings(p, caps, false)
	return imapLogout(c, tags)
}

// imapCapFindings judges IMAP capabilities. Servers may announce more
// after login, so missing extensions weigh more once logged in.
func imapCapFindings(p *Probe, caps []string, loggedIn bool) {
	when := "before login"
	if loggedIn {
		when = "after login"
	}
	list := strings.Join(notable(caps, imapNotable), " ")
	if list == "" {
		list = "none of note"
	}
	if !loggedIn {
		mechs := "none"
		if len(p.SASL) > 0 {
			mechs = strings.Join(p.SASL, " ")
		}
		if len(p.SASL) == 0 && slices.Contains(caps, "LOGINDISABLED") {
			p.add(Fail, "capabilities", "no way to log in over TLS: LOGINDISABLED and no AUTH= mechanism")
		}
		p.add(OK, "capabilities", "%s: %s; SASL: %s", when, list, mechs)
	} else {
		p.add(OK, "capabilities", "%s: %s", when, list)
	}
	missing := func(names ...string) []string {
		var out []string
		for _, n := range names {
			if !slices.Contains(caps, n) {
				out = append(out, n)
			}
		}
		return out
	}
	if m := missing("IDLE"); len(m) > 0 {
		if loggedIn {
			p.add(Warn, "capabilities", "no IDLE (RFC 2177): clients poll, and new mail shows up late")
		} else {
			p.add(Info, "capabilities", "IDLE not announced before login (log in with --user to know)")
		}
	}
	if m := missing("CONDSTORE", "QRESYNC"); len(m) > 0 && loggedIn {
		p.add(Info, "capabilities", "no %s (RFC 7162): clients resynchronize flags by fetching them all", strings.Join(m, "/"))
	}
}

// tagger numbers commands.
type tagger struct{ n int }

func (t *tagger) next() string {
	t.n++
	return "c" + strconv.Itoa(t.n)
}

// imapCaps returns the capabilities of the greeting's response code, or
// asks with CAPABILITY.
func imapCaps(c *conn, tags *tagger, greet imapResponse) ([]string, error) {
	if greet.Code == "CAPABILITY" {
		return parseCapabilities(greet.CodeArgs), nil
	}
	resp, untagged, err := imapCommand(c, tags, "CAPABILITY")
	if err != nil {
		return nil, fmt.Errorf("CAPABILITY: %w", err)
	}
	if resp.Kind != "OK" {
		return nil, fmt.Errorf("CAPABILITY failed: %s %s", resp.Kind, clip(resp.Text))
	}
	var caps []string
	for _, u := range untagged {
		if u.Kind == "CAPABILITY" {
			caps = append(caps, parseCapabilities(u.Text)...)
		}
	}
	if resp.Code == "CAPABILITY" {
		caps = append(caps, parseCapabilities(resp.CodeArgs)...)
	}
	if caps == nil {
		return nil, fmt.Errorf("CAPABILITY: no capability list in the answer")
	}
	return parseCapabilities(strings.Join(caps, " ")), nil
}

// maxUntagged bounds the untagged responses collected for one command.
const maxUntagged = 1000

// imapCommand sends a command and reads up to its tagged completion.
// Literals in untagged responses are skipped (bounded by maxLine).
func imapCommand(c *conn, tags *tagger, command string) (tagged imapResponse, untagged []imapResponse, err error) {
	tag := tags.next()
	if err := c.writeLine(tag + " " + command); err != nil {
		return imapResponse{}, nil, err
	}
	for {
		line, err := readIMAPLine(c)
		if err != nil {
			return imapResponse{}, nil, err
		}
		resp, err := parseIMAPResponse(line)
		if err != nil {
			return imapResponse{}, nil, err
		}
		switch resp.Tag {
		case tag:
			return resp, untagged, nil
		case "*":
			if resp.Kind == "BYE" && command != "LOGOUT" {
				return imapResponse{}, nil, fmt.Errorf("the server said BYE: %s", clip(resp.Text))
			}
			if len(untagged) == maxUntagged {
				return imapResponse{}, nil, fmt.Errorf("%w: more than %d untagged responses", errMalformed, maxUntagged)
			}
			untagged = append(untagged, resp)
		case "+":
			return imapResponse{}, nil, fmt.Errorf("unexpected continuation request for %s", command)
		default:
			return imapResponse{}, nil, fmt.Errorf("%w: response for unknown tag %q", errMalformed, clip(resp.Tag))
		}
	}
}

// readIMAPLine reads a response line, with the contents of literals
// ("{n}" at the end of a line) replaced by their size.
func readIMAPLine(c *conn) (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	total := len(line)
	last := line // a literal announced at the end of what was read last
	for {
		n, ok := literalSize(last)
		if !ok {
			return line, nil
		}
		total += int(n)
		if total > maxLine {
			return "", errLineTooLong
		}
		if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
			return "", err
		}
		more, err := c.readLine()
		if err != nil {
			return "", err
		}
		total += len(more)
		line += more
		last = more
	}
}

// literalSize recognizes "{n}" or "{n+}" at the end of a line (RFC 9051
// section 4.3; RFC 7888).
func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	digits := strings.TrimSuffix(line[open+1:len(line)-1], "+")
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' {
		return 0, false
	}
	return n, true
}

// imapLogout ends the session politely; its answer does not matter.
func imapLogout(c *conn, tags *tagger) error {
	imapCommand(c, tags, "LOGOUT")
	return nil
}

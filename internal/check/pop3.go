package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// pop3Notable are the POP3 capabilities the report names (RFC 2449).
var pop3Notable = []string{"UIDL", "TOP", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE", "UTF8", "USER"}

// pop3Capa is what CAPA said: ok is false when the server does not
// support CAPA.
type pop3Capa struct {
	ok    bool
	names []string
	args  map[string]string
}

func (c pop3Capa) has(name string) bool { return slices.Contains(c.names, name) }

func (c pop3Capa) sasl() []string { return strings.Fields(strings.ToUpper(c.args["SASL"])) }

// probePOP3 reads the greeting and CAPA before and after TLS, and
// upgrades with STLS on port 110 (RFC 2595 section 4). It never logs in.
func (r *runner) probePOP3(ctx context.Context, s service, p *Probe, c *conn) error {
	start := time.Now()
	line, err := c.readLine()
	if err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	ok, text, err := parsePOP3Status(line)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !ok {
		return fmt.Errorf("the server refuses the connection: %s", clip(text))
	}
	greeted(p, s, start, line)
	capa, err := pop3ReadCapa(c)
	if err != nil {
		return err
	}

	if !s.implicit {
		plainMechs := slices.DeleteFunc(capa.sasl(), func(m string) bool { return m != "PLAIN" && m != "LOGIN" })
		// RFC 2595 section 4 and RFC 8314 section 3.2: USER/PASS or a
		// plaintext SASL mechanism before STLS invites a password in
		// clear. Without CAPA a server has USER (RFC 1939) whatever it
		// says.
		p.PlaintextLogin = !capa.ok || capa.has("USER") || len(plainMechs) > 0
		if capa.ok && !capa.has("STLS") {
			if p.PlaintextLogin {
				p.add(Fail, "starttls", "no STLS, and USER/PASS works without TLS: passwords cross the network in clear")
			} else {
				p.add(Fail, "starttls", "no STLS: clients cannot protect the connection")
			}
			return pop3Quit(c)
		}
		if p.PlaintextLogin {
			what := "USER/PASS"
			switch {
			case !capa.ok:
				what = "USER/PASS (the server does not answer CAPA, so clients assume it)"
			case len(plainMechs) > 0 && !capa.has("USER"):
				what = "SASL " + strings.Join(plainMechs, " ")
			case len(plainMechs) > 0:
				what = "USER/PASS and SASL " + strings.Join(plainMechs, " ")
			}
			p.add(Warn, "plaintext-login", "%s offered before STLS: a client set to \"no encryption\" sends the password in clear", what)
		} else {
			p.add(OK, "plaintext-login", "no password login before STLS")
		}
		if err := c.writeLine("STLS"); err != nil {
			return err
		}
		line, err := c.readLine()
		if err != nil {
			return fmt.Errorf("STLS: %w", err)
		}
		ok, text, err := parsePOP3Status(line)
		if err != nil {
			return fmt.Errorf("STLS: %w", err)
		}
		if !ok {
			p.add(Fail, "starttls", "STLS refused: %s", clip(text))
			return nil
		}
		st, err := c.startTLS(ctx, r.tlsConfig())
		if err != nil {
			p.add(Fail, "tls", "%s", handshakeFailure(err))
			return nil
		}
		tlsFindings(p, "starttls", st)
		p.usable = inspectCert(p, st, r.opts.Roots, r.serverName, r.opts.Now(), false)
		// RFC 2595 section 4: ask again after STLS.
		if capa, err = pop3ReadCapa(c); err != nil {
			return err
		}
	}
	p.Capabilities = capa.names
	p.SASL = capa.sasl()
	switch {
	case !capa.ok:
		p.add(Warn, "capabilities", "no CAPA (RFC 2449): clients must guess what the server can do")
	default:
		list := strings.Join(notable(capa.names, pop3Notable), " ")
		mechs := strings.Join(p.SASL, " ")
		if mechs == "" {
			mechs = "none"
		}
		p.add(OK, "capabilities", "%s; SASL: %s", list, mechs)
		if !capa.has("UIDL") {
			p.add(Warn, "capabilities", "no UIDL: clients cannot leave mail on the server without fetching it again")
		}
		if !capa.has("USER") && len(p.SASL) == 0 {
			p.add(Fail, "capabilities", "no USER and no SASL mechanism after TLS: no way to log in")
		}
	}
	return pop3Quit(c)
}

// pop3ReadCapa sends CAPA; -ERR means the server predates RFC 2449.
func pop3ReadCapa(c *conn) (pop3Capa, error) {
	if err := c.writeLine("CAPA"); err != nil {
		return pop3Capa{}, err
	}
	line, err := c.readLine()
	if err != nil {
		return pop3Capa{}, fmt.Errorf("CAPA: %w", err)
	}
	ok, _, err := parsePOP3Status(line)
	if err != nil {
		return pop3Capa{}, fmt.Errorf("CAPA: %w", err)
	}
	if !ok {
		return pop3Capa{}, nil
	}
	lines, err := readPOP3Multi(c.r)
	if err != nil {
		return pop3Capa{}, fmt.Errorf("CAPA: %w", err)
	}
	names, args := parsePOP3Capa(lines)
	return pop3Capa{ok: true, names: names, args: args}, nil
}

func pop3Quit(c *conn) error {
	if c.writeLine("QUIT") == nil {
		c.readLine()
	}
	return nil
}

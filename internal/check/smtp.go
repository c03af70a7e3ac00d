package check

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// smtpNotable are the EHLO keywords the report names.
var smtpNotable = []string{"SIZE", "PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "BINARYMIME", "ENHANCEDSTATUSCODES", "DSN", "REQUIRETLS"}

// heloName is the EHLO argument: the address literal of our end of the
// connection (RFC 5321 section 4.1.3), which every server accepts.
func heloName(c net.Conn) string {
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return "[127.0.0.1]"
	}
	if a := ap.Addr().Unmap(); a.Is6() {
		return "[IPv6:" + a.String() + "]"
	} else {
		return "[" + a.String() + "]"
	}
}

// probeSMTP reads the greeting and the EHLO keywords before and after
// TLS, and upgrades with STARTTLS on 587 and 25 (RFC 3207). It never
// logs in and never sends mail.
func (r *runner) probeSMTP(ctx context.Context, s service, p *Probe, c *conn) error {
	start := time.Now()
	greet, err := readSMTPReply(c.r)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if greet.Code != 220 {
		return fmt.Errorf("the server refuses the connection: %s", greet)
	}
	greeted(p, s, start, greet.String())
	names, params, err := smtpEHLO(c, p)
	if err != nil {
		return err
	}
	mx := s.name == "smtp"

	if !s.implicit {
		mechs := strings.Fields(strings.ToUpper(params["AUTH"]))
		plainMechs := slices.DeleteFunc(mechs, func(m string) bool { return m != "PLAIN" && m != "LOGIN" })
		p.PlaintextLogin = len(plainMechs) > 0
		if !slices.Contains(names, "STARTTLS") {
			switch {
			case p.PlaintextLogin:
				p.add(Fail, "starttls", "no STARTTLS, and AUTH %s works without TLS: passwords cross the network in clear", strings.Join(plainMechs, " "))
			case mx:
				p.add(Warn, "starttls", "no STARTTLS: mail from other servers arrives in clear, and MTA-STS cannot be used")
			default:
				p.add(Fail, "starttls", "no STARTTLS: clients cannot protect the connection")
			}
			return smtpQuit(c)
		}
		if p.PlaintextLogin {
			p.add(Warn, "plaintext-login", "AUTH %s offered before STARTTLS: a client set to \"no encryption\" sends the password in clear (announce AUTH only after TLS)", strings.Join(plainMechs, " "))
		} else if !mx {
			p.add(OK, "plaintext-login", "no AUTH before STARTTLS")
		}
		if err := c.writeLine("STARTTLS"); err != nil {
			return err
		}
		reply, err := readSMTPReply(c.r)
		if err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		if reply.Code != 220 {
			level := Fail
			if mx {
				level = Warn
			}
			p.add(level, "starttls", "STARTTLS refused: %s", reply)
			return nil
		}
		st, err := c.startTLS(ctx, r.tlsConfig())
		if err != nil {
			p.add(Fail, "tls", "%s", handshakeFailure(err))
			return nil
		}
		tlsFindings(p, "starttls", st)
		p.usable = inspectCert(p, st, r.opts.Roots, r.serverName, r.opts.Now(), mx)
		// RFC 3207 section 4.2: forget what was said before TLS; EHLO
		// again.
		if names, params, err = smtpEHLO(c, p); err != nil {
			return err
		}
	}
	p.Capabilities = names
	p.SASL = strings.Fields(strings.ToUpper(params["AUTH"]))
	list := []string{}
	for _, n := range notable(names, smtpNotable) {
		if n == "SIZE" && params[n] != "" {
			n += " " + params[n]
		}
		list = append(list, n)
	}
	mechs := strings.Join(p.SASL, " ")
	if mechs == "" {
		mechs = "none"
	}
	p.add(OK, "capabilities", "%s; AUTH: %s", strings.Join(list, " "), mechs)
	switch {
	case !mx && len(p.SASL) == 0:
		p.add(Fail, "capabilities", "no AUTH after TLS: clients cannot log in to send")
	case mx && len(p.SASL) > 0:
		p.add(Info, "capabilities", "AUTH is offered on port 25 too; clients should use 465 or 587")
	}
	return smtpQuit(c)
}

// smtpEHLO sends EHLO (HELO when refused) and returns the keywords.
func smtpEHLO(c *conn, p *Probe) ([]string, map[string]string, error) {
	name := heloName(c.Conn)
	if err := c.writeLine("EHLO " + name); err != nil {
		return nil, nil, err
	}
	reply, err := readSMTPReply(c.r)
	if err != nil {
		return nil, nil, fmt.Errorf("EHLO: %w", err)
	}
	if reply.Code == 250 {
		names, params := parseEHLO(reply.Lines)
		return names, params, nil
	}
	// RFC 5321 section 3.2: a server without extensions answers HELO.
	if err := c.writeLine("HELO " + name); err != nil {
		return nil, nil, err
	}
	helo, err := readSMTPReply(c.r)
	if err != nil {
		return nil, nil, fmt.Errorf("HELO: %w", err)
	}
	if helo.Code != 250 {
		return nil, nil, fmt.Errorf("EHLO and HELO refused: %s; %s", reply, helo)
	}
	p.add(Warn, "capabilities", "EHLO refused (%s): no extensions, no STARTTLS, no AUTH", reply)
	return nil, map[string]string{}, nil
}

func smtpQuit(c *conn) error {
	if c.writeLine("QUIT") == nil {
		readSMTPReply(c.r)
	}
	return nil
}

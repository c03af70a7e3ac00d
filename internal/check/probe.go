package check

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Greeting times above these are reported: a client waits for the
// greeting before anything else. Port 25 is allowed a longer pause:
// MX servers delay the greeting on purpose to catch spam bots that talk
// first (RFC 5321 section 4.3.1 lets them).
const (
	slowGreeting   = 3 * time.Second
	slowGreetingMX = 30 * time.Second
)

// probe checks one port.
func (r *runner) probe(ctx context.Context, s service, p *Probe) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	raw, connectTime, err := r.dial(ctx, p.Port)
	if err != nil {
		level, text := dialFailure(err, r.opts.Timeout)
		if p.explicit {
			// The port was named on the command line: it should answer.
			level = Fail
		} else if s.name == "smtp" && level == Warn {
			text += " (many networks block outgoing connections to port 25: try from elsewhere)"
		}
		p.add(level, "connect", "%s", text)
		return
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	p.Reachable = true
	p.Connect = Millis(connectTime)
	c := newConn(raw)
	if s.implicit {
		st, err := c.startTLS(ctx, r.tlsConfig())
		if err != nil {
			p.add(Fail, "tls", "%s", handshakeFailure(err))
			return
		}
		tlsFindings(p, "implicit", st)
		p.usable = inspectCert(p, st, r.opts.Roots, r.serverName, r.opts.Now(), s.name == "smtp")
	}
	switch s.protocol {
	case "imap":
		err = r.probeIMAP(ctx, s, p, c)
	case "pop3":
		err = r.probePOP3(ctx, s, p, c)
	case "smtp":
		err = r.probeSMTP(ctx, s, p, c)
	}
	if err != nil {
		p.usable = false
		p.add(Fail, "protocol", "%s", protocolFailure(err, r.opts.Timeout))
	}
}

// greeted records the time to greet and the greeting itself.
func greeted(p *Probe, s service, since time.Time, greeting string) {
	d := time.Since(since)
	p.Greet = Millis(d)
	level, limit := OK, slowGreeting
	if s.name == "smtp" {
		limit = slowGreetingMX
	}
	note := ""
	if d > limit {
		level, note = Warn, " (slow: clients may give up)"
	}
	p.add(level, "greeting", "connected in %s, greeting after %s%s: %s", p.Connect, fmtDuration(d), note, clip(greeting))
}

// protocolFailure words an error during the exchange.
func protocolFailure(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "the server stopped answering (no response within " + timeout.String() + ")"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return "the server closed the connection: " + err.Error()
	}
	return err.Error()
}

// notable picks the capabilities worth a line in the report, in the
// order of want; a want ending in "=" matches every value ("COMPRESS="
// matches COMPRESS=DEFLATE). Names are compared upper case and shown as
// their RFCs spell them.
func notable(caps []string, want []string) []string {
	var out []string
	for _, w := range want {
		for _, c := range caps {
			if c == w || strings.HasSuffix(w, "=") && strings.HasPrefix(c, w) {
				if d, ok := displayNames[c]; ok {
					c = d
				}
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// displayNames spell capabilities as their RFCs do, where that is not
// upper case.
var displayNames = map[string]string{"IMAP4REV1": "IMAP4rev1", "IMAP4REV2": "IMAP4rev2"}

// Package check tests a mail server the way a mail client sees it: the
// "test settings" button, for any server. For IMAP (993, 143), POP3
// (995, 110) and SMTP (465, 587, 25) it reports whether the port answers,
// how TLS starts and what it negotiates, whether the certificate is
// trusted, names the host and when it expires, whether a password could
// be sent before TLS, the capabilities clients rely on, and the time to
// greet. Given an account, it also logs in, lists mailboxes, runs POP3
// STAT, and on request sends itself a message and times the IDLE push.
//
// Invariants:
//   - Every network step has a deadline (Options.Timeout); probes of
//     different ports run concurrently.
//   - A certificate is always inspected, never trusted blindly: the
//     handshake completes without verification so the report can say
//     what is wrong, and verification happens afterwards. A password is
//     sent only over a connection whose certificate verified.
//   - Responses are read with bounded lines (maxLine); parsers of
//     greetings, capabilities and replies are fuzzed.
//   - The password never appears in a report or a log.
package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Level is the verdict of a finding, in increasing severity.
type Level int

const (
	// OK: as it should be.
	OK Level = iota
	// Info: worth knowing, nothing to fix.
	Info
	// Warn: works, but something should be fixed.
	Warn
	// Fail: clients will not work (or will be put at risk).
	Fail
)

func (l Level) String() string {
	switch l {
	case OK:
		return "OK"
	case Info:
		return "INFO"
	case Warn:
		return "WARN"
	}
	return "FAIL"
}

// MarshalText makes levels "ok", "info", "warn", "fail" in JSON.
func (l Level) MarshalText() ([]byte, error) { return []byte(strings.ToLower(l.String())), nil }

// ExitStatus maps the worst level to the command's exit status: 0 all
// well, 1 warnings, 2 failures.
func (l Level) ExitStatus() int {
	switch l {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// Finding is one line of the report.
type Finding struct {
	Level Level `json:"level"`
	// Check names what was looked at: connect, tls, certificate,
	// greeting, capabilities, plaintext-login, starttls, login,
	// mailboxes, stat, auth, push, service.
	Check string `json:"check"`
	Text  string `json:"text"`
}

// Millis is a duration that JSON shows in milliseconds.
type Millis time.Duration

// MarshalJSON implements json.Marshaler.
func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(m)/float64(time.Millisecond))), nil
}

func (m Millis) String() string { return fmtDuration(time.Duration(m)) }

// TLSInfo describes a negotiated TLS session.
type TLSInfo struct {
	// Mode is "implicit" (TLS from the start) or "starttls".
	Mode    string `json:"mode"`
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
}

// CertInfo describes the server's certificate.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dns_names,omitempty"`
	IPs       []string  `json:"ip_addresses,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	DaysLeft  int       `json:"days_left"`
	// Trusted is true when the chain verifies against the roots.
	Trusted    bool   `json:"trusted"`
	TrustError string `json:"trust_error,omitempty"`
	// NameMatch is true when the certificate covers the name checked.
	NameMatch bool   `json:"name_match"`
	Name      string `json:"name"`
}

// Probe is the report on one port.
type Probe struct {
	Service  string `json:"service"`  // imaps, imap, pop3s, pop3, submissions, submission, smtp
	Protocol string `json:"protocol"` // IMAP, POP3, SMTP
	Port     int    `json:"port"`

	Reachable bool `json:"reachable"`
	// Connect is the time to establish TCP; Greet the time from then
	// (implicit TLS: from the finished handshake) to the greeting.
	Connect Millis `json:"connect_ms"`
	Greet   Millis `json:"greet_ms"`

	TLS         *TLSInfo  `json:"tls,omitempty"`
	Certificate *CertInfo `json:"certificate,omitempty"`
	// PlaintextLogin is true when a password login is offered before TLS.
	PlaintextLogin bool `json:"plaintext_login_before_tls"`
	// Capabilities as announced after TLS (and, with an account, after
	// login); SASL the mechanisms among them.
	Capabilities []string `json:"capabilities,omitempty"`
	SASL         []string `json:"sasl,omitempty"`

	Findings []Finding `json:"findings"`
	Verdict  Level     `json:"verdict"`

	// usable is true when a client could log in here: reachable, TLS
	// established, certificate trusted and naming the host.
	usable bool
	// explicit is true when the port was given on the command line.
	explicit bool
}

func (p *Probe) add(l Level, check, format string, args ...any) {
	p.Findings = append(p.Findings, Finding{Level: l, Check: check, Text: fmt.Sprintf(format, args...)})
}

// Report is the result of Run.
type Report struct {
	Host string `json:"host"`
	// Address is the IP address probed; Addresses all the host's.
	Address   string   `json:"address"`
	Addresses []string `json:"addresses,omitempty"`
	// ServerName is the name certificates must cover.
	ServerName string    `json:"server_name"`
	Started    time.Time `json:"started"`
	Duration   Millis    `json:"duration_ms"`
	Probes     []*Probe  `json:"probes"`
	// Findings that concern the server as a whole.
	Findings []Finding `json:"findings"`
	Verdict  Level     `json:"verdict"`
}

// Resolver finds a host's addresses; dns.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure Run.
type Options struct {
	// Host is a name or an IP literal.
	Host string
	// ServerName is the name certificates must cover; default Host.
	ServerName string
	// Ports overrides the port of a service (imaps=10993). A service
	// given here is expected to answer: a closed port fails.
	Ports map[string]int
	// Only limits the probes to protocols (imap, pop3, smtp: all their
	// ports), services (imaps, pop3s, submissions, submission, mx) or
	// standard ports ("143"); empty probes everything (see selected).
	Only []string
	// Timeout bounds each connection's exchange; default 10s.
	Timeout time.Duration
	// Roots verify certificates; nil means the system's.
	Roots *x509.CertPool
	// Resolver resolves Host when it is a name.
	Resolver Resolver
	// Source is the local address to connect from; the zero value lets
	// the system choose. Servers judge connections by where they come
	// from (Dovecot, for one, allows passwords without TLS when the
	// client's address is its own).
	Source netip.Addr

	// User and Password, when set, log in.
	User, Password string
	// SendTest sends User a message through submission and times its
	// arrival by IMAP IDLE (needs User).
	SendTest bool
	// PushTimeout bounds the wait for the test message; default 30s.
	PushTimeout time.Duration

	// Now is the clock for certificate expiry (tests); default time.Now.
	Now func() time.Time
}

// DefaultTimeout bounds each connection's exchange.
const DefaultTimeout = 10 * time.Second

// service is a port a mail client (or, for smtp, a mail server) uses.
type service struct {
	name     string
	protocol string // imap, pop3, smtp
	port     int
	implicit bool // TLS from the start (RFC 8314)
}

// services are probed and reported in this order.
var services = []service{
	{"imaps", "imap", 993, true},
	{"imap", "imap", 143, false},
	{"pop3s", "pop3", 995, true},
	{"pop3", "pop3", 110, false},
	{"submissions", "smtp", 465, true},
	{"submission", "smtp", 587, false},
	{"smtp", "smtp", 25, false},
}

// ServiceNames lists the services --port and --only accept.
func ServiceNames() []string {
	var out []string
	for _, s := range services {
		out = append(out, s.name)
	}
	return out
}

// validOnly checks the names given to Only.
func validOnly(names []string) error {
	for _, n := range names {
		if !slices.ContainsFunc(services, func(s service) bool { return selected(s, []string{n}) }) {
			return fmt.Errorf("--only %q: want a protocol (imap, pop3, smtp), a service (imaps, pop3s, submissions, submission, mx) or a standard port (993, 143, 995, 110, 465, 587, 25)", n)
		}
	}
	return nil
}

// selected reports whether s is to be probed. A protocol name selects
// all its ports ("imap": 993 and 143); the names that are not also a
// protocol select one service ("imaps", "submission"; "mx" for port 25);
// a standard port number selects its service ("143", "25").
func selected(s service, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		switch o {
		case s.protocol, strconv.Itoa(s.port):
			return true
		case s.name:
			if s.name != s.protocol {
				return true
			}
		case "mx":
			if s.name == "smtp" {
				return true
			}
		}
	}
	return false
}

// Run checks the server and returns the report. Errors are only for
// options that make no sense; everything the server does wrong is in
// the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.PushTimeout <= 0 {
		opts.PushTimeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := validOnly(opts.Only); err != nil {
		return nil, err
	}
	for name, port := range opts.Ports {
		if !slices.Contains(ServiceNames(), name) {
			return nil, fmt.Errorf("--port %s: unknown service; want one of %s", name, strings.Join(ServiceNames(), ", "))
		}
		if port <= 0 || port > 65535 {
			return nil, fmt.Errorf("--port %s=%d: not a port", name, port)
		}
	}
	if opts.SendTest && opts.User == "" {
		return nil, errors.New("--send-test needs --user")
	}
	host := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(opts.Host), "."))
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return nil, errors.New("no host")
	}
	rep := &Report{Host: host, ServerName: opts.ServerName, Started: opts.Now()}
	if rep.ServerName == "" {
		rep.ServerName = host
	}
	start := time.Now()
	defer func() { rep.Duration = Millis(time.Since(start)) }()

	addr, err := resolve(ctx, opts, host, rep)
	if err != nil {
		rep.Findings = append(rep.Findings, Finding{Fail, "resolve", err.Error()})
		rep.Verdict = Fail
		return rep, nil
	}
	rep.Address = addr.String()

	r := &runner{opts: opts, addr: addr, serverName: rep.ServerName}
	var wg sync.WaitGroup
	for _, s := range services {
		if !selected(s, opts.Only) {
			continue
		}
		p := &Probe{Service: s.name, Protocol: strings.ToUpper(s.protocol), Port: s.port}
		if port, ok := opts.Ports[s.name]; ok {
			p.Port, p.explicit = port, true
		}
		rep.Probes = append(rep.Probes, p)
		wg.Go(func() { r.probe(ctx, s, p) })
	}
	wg.Wait()

	if opts.User != "" {
		r.account(ctx, rep)
	}
	summarize(rep, opts)
	return rep, nil
}

// resolve returns the address to probe: Host itself when it is an IP
// address, else its first address by the resolver.
func resolve(ctx context.Context, opts Options, host string, rep *Report) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	if opts.Resolver == nil {
		return netip.Addr{}, fmt.Errorf("%s is a name and no resolver is configured", host)
	}
	rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	ips, err := opts.Resolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolving %s: %v", host, err)
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("%s has no addresses", host)
	}
	for _, ip := range ips {
		rep.Addresses = append(rep.Addresses, ip.Unmap().String())
	}
	return ips[0].Unmap(), nil
}

// runner holds what every probe shares.
type runner struct {
	opts       Options
	addr       netip.Addr
	serverName string
}

// summarize adds the findings about the server as a whole and computes
// the verdicts.
func summarize(rep *Report, opts Options) {
	reachable := func(names ...string) (answered, probed bool) {
		for _, p := range rep.Probes {
			if slices.Contains(names, p.Service) {
				probed = true
				answered = answered || p.Reachable
			}
		}
		return answered, probed
	}
	if ok, probed := reachable("imaps", "imap", "pop3s", "pop3"); probed && !ok {
		rep.Findings = append(rep.Findings, Finding{Fail, "service", "no IMAP or POP3 port answers: clients cannot read mail"})
	} else if probed {
		if implicit, _ := reachable("imaps", "pop3s"); !implicit {
			rep.Findings = append(rep.Findings, Finding{Info, "service", "mail is read only through STARTTLS; RFC 8314 section 3.3 recommends implicit TLS on 993 or 995"})
		}
	}
	if ok, probed := reachable("submissions", "submission"); probed && !ok {
		rep.Findings = append(rep.Findings, Finding{Fail, "service", "neither submission port (465, 587) answers: clients cannot send mail"})
	}
	rep.Verdict = OK
	for _, p := range rep.Probes {
		p.Verdict = OK
		for _, f := range p.Findings {
			p.Verdict = max(p.Verdict, f.Level)
		}
		rep.Verdict = max(rep.Verdict, p.Verdict)
	}
	for _, f := range rep.Findings {
		rep.Verdict = max(rep.Verdict, f.Level)
	}
	// Info is not a problem.
	if rep.Verdict == Info {
		rep.Verdict = OK
	}
	for _, p := range rep.Probes {
		if p.Verdict == Info {
			p.Verdict = OK
		}
	}
}

// fmtDuration prints durations the way people read them: 0.4 ms, 12 ms,
// 1.2 s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

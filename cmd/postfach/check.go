package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"postfach/internal/check"
	"postfach/internal/config"
	"postfach/internal/dns"
)

// exitStatus ends a command with this exit status after it printed its
// report: the check commands exit 1 on warnings and 2 on failures.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// checkFlags are the flags of `postfach check`.
type checkFlags struct {
	ports    portFlag
	only     string
	json     bool
	timeout  time.Duration
	ca       string
	user     string
	sendTest bool
	tlsName  string
	source   string
}

// portFlag collects --port NAME=PORT.
type portFlag map[string]int

func (p portFlag) String() string {
	var parts []string
	for k, v := range p {
		parts = append(parts, k+"="+strconv.Itoa(v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (p portFlag) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		name, port, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(port)
		if !ok || err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("%q: want SERVICE=PORT, e.g. imaps=10993", part)
		}
		if !slices.Contains(check.ServiceNames(), name) {
			return fmt.Errorf("%q: unknown service %q; want one of %s", part, name, strings.Join(check.ServiceNames(), ", "))
		}
		p[name] = n
	}
	return nil
}

func checkCommand() *command {
	f := &checkFlags{ports: portFlag{}}
	return &command{
		name:    "check",
		args:    "HOST",
		summary: "test a mail server as clients see it: ports, TLS, certificate, login",
		help: `HOST is a name (resolved through the [dns] configuration) or an IP address.
For IMAP (993, 143), POP3 (995, 110) and SMTP (465, 587, 25), side by side,
it reports: whether the port answers and how fast it greets; implicit TLS
or STARTTLS with the TLS version and cipher; the certificate (trusted
chain, names HOST, days to expiry); a password login offered before TLS
(a risk); the capabilities clients rely on (IDLE, CONDSTORE/QRESYNC,
COMPRESS, SASL mechanisms, SMTP extensions). Every line has a verdict:
OK, INFO, WARN or FAIL.

With --user ADDRESS it logs in (the password from standard input when it is
not a terminal, else a prompt without echo), lists the mailboxes, runs
POP3 STAT and authenticates for submission. The password is only sent over
TLS with a trusted certificate naming HOST. --send-test also sends the
account a message through submission and times its IMAP IDLE push (the
message is removed afterwards).

There is no --insecure: the check always completes the handshake to
inspect the certificate, and an untrusted one is a finding. For a server
with a self-signed certificate or a private CA, give the certificate or
CA with --ca FILE.

Exit status: 0 when all is well, 1 on warnings, 2 on failures.

Options:
  --port SERVICE=PORT  another port for a service (imaps, imap, pop3s, pop3,
                       submissions, submission, smtp); repeatable; such a
                       port must answer
  --only LIST          probe only these protocols or services, comma
                       separated: imap,smtp or imaps,submission
  --tls-name NAME      the name certificates must have (default HOST)
  --ca FILE            also trust the certificates in this PEM file
  --timeout DURATION   bound on each connection's exchange (default 10s)
  --source ADDRESS     connect from this local address (servers may treat
                       their own addresses differently)
  --user ADDRESS       log in as ADDRESS
  --send-test          with --user: send a test message and time the push
  --json               print the report as JSON`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) {
			fs.Var(f.ports, "port", "")
			fs.StringVar(&f.only, "only", "", "")
			fs.BoolVar(&f.json, "json", false, "")
			fs.DurationVar(&f.timeout, "timeout", check.DefaultTimeout, "")
			fs.StringVar(&f.ca, "ca", "", "")
			fs.StringVar(&f.user, "user", "", "")
			fs.BoolVar(&f.sendTest, "send-test", false, "")
			fs.StringVar(&f.tlsName, "tls-name", "", "")
			fs.StringVar(&f.source, "source", "", "")
		},
		run: func(a *app, configPath string, args []string) error {
			return a.runCheck(configPath, args[0], f)
		},
	}
}

func (a *app) runCheck(configPath, host string, f *checkFlags) error {
	if f.sendTest && f.user == "" {
		return usagef("--send-test needs --user")
	}
	if f.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	var only []string
	for o := range strings.SplitSeq(f.only, ",") {
		if o = strings.TrimSpace(strings.ToLower(o)); o != "" {
			only = append(only, o)
		}
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca %s: no PEM certificate in it", f.ca)
		}
	}
	// The resolver of the configuration; the system's when there is
	// none (check works on any machine, also without a postfach setup).
	dnsConf := config.DNS{}
	if configPath != "" {
		cfg, err := config.Load(configPath)
		if err != nil {
			return err
		}
		dnsConf = cfg.DNS
	}
	res, err := dns.New(dnsConf)
	if err != nil {
		return err
	}
	var source netip.Addr
	if f.source != "" {
		if source, err = netip.ParseAddr(f.source); err != nil {
			return usagef("--source %q is not an IP address", f.source)
		}
	}
	opts := check.Options{
		Source:     source,
		Host:       host,
		ServerName: f.tlsName,
		Ports:      f.ports,
		Only:       only,
		Timeout:    f.timeout,
		Roots:      roots,
		Resolver:   res,
		SendTest:   f.sendTest,
	}
	if f.user != "" {
		opts.User = strings.TrimSpace(f.user)
		if opts.Password, err = a.readLoginPassword(opts.User); err != nil {
			return err
		}
	}
	rep, err := check.Run(a.ctx, opts)
	if err != nil {
		return usagef("%v", err)
	}
	if f.json {
		err = rep.WriteJSON(a.stdout)
	} else {
		err = rep.WriteText(a.stdout)
	}
	if err != nil {
		return err
	}
	if code := rep.Verdict.ExitStatus(); code != 0 {
		return exitStatus(code)
	}
	return nil
}

// readLoginPassword reads an existing password: the first line of
// standard input when it is not a terminal, else one prompt without
// echo on standard error.
func (a *app) readLoginPassword(address string) (string, error) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return readPasswordLine(a.stdin)
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(a.stderr, "Password for %s: ", address)
	type result struct {
		b   []byte
		err error
	}
	c := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		c <- result{b, err}
	}()
	select {
	case r := <-c:
		fmt.Fprintln(a.stderr)
		if r.err == nil && len(r.b) == 0 {
			return "", errors.New("no password given")
		}
		return string(r.b), r.err
	case <-a.ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(a.stderr)
		return "", errors.New("interrupted")
	}
}

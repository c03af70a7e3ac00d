package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"postfach/internal/loadgen"
)

// benchFlags are the flags `bench` and `bench prepare` share: targets,
// users, TLS.
type benchFlags struct {
	imap, pop3, smtp, lmtp string
	users, password        string
	firstUser, userCount   int
	insecure               bool
	serverName, caFile     string
	seed                   uint64
	timeout                time.Duration
	json                   bool
	quiet                  bool
}

func (f *benchFlags) register(fs *flag.FlagSet, protocols bool) {
	fs.StringVar(&f.imap, "imap", "", "IMAP `target`: imaps://127.0.0.1:993, imap+starttls://127.0.0.1:143 or imap://127.0.0.1:143 (clear text)")
	if protocols {
		fs.StringVar(&f.pop3, "pop3", "", "POP3 `target`: pop3s://, pop3+starttls:// or pop3://HOST:PORT")
		fs.StringVar(&f.smtp, "smtp", "", "SMTP `target`: smtps://, smtp+starttls:// or smtp://HOST:PORT")
		fs.StringVar(&f.lmtp, "lmtp", "", "LMTP `target`: lmtp:// or lmtp+starttls://HOST:PORT")
	}
	fs.StringVar(&f.users, "users", "user%d@example.org", "user name `pattern`; %d counts from --first-user")
	fs.IntVar(&f.firstUser, "first-user", 0, "the first user's `number`")
	fs.IntVar(&f.userCount, "user-count", 100, "the `number` of users")
	fs.StringVar(&f.password, "password", "", "every user's `password` (default $POSTFACH_BENCH_PASSWORD); benchmark accounts only")
	fs.BoolVar(&f.insecure, "insecure", false, "accept any server certificate (self-signed test servers)")
	fs.StringVar(&f.serverName, "server-name", "", "the `name` the server certificate must have (default: the target's IP address)")
	fs.StringVar(&f.caFile, "ca", "", "trust the certificates in this PEM `file` (a self-signed server's own)")
	fs.Uint64Var(&f.seed, "seed", 1, "`seed` of the generated messages and choices")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "bound on each command and connection attempt")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress messages on standard error")
}

// userList checks the user flags.
func (f *benchFlags) userList(getenv func(string) string) (loadgen.Users, error) {
	pw := f.password
	if pw == "" {
		pw = getenv("POSTFACH_BENCH_PASSWORD")
	}
	u := loadgen.Users{Pattern: f.users, First: f.firstUser, Count: f.userCount, Password: pw}
	if err := u.Check(); err != nil {
		return u, usagef("%v", err)
	}
	return u, nil
}

// tlsConfig builds the client TLS configuration.
func (f *benchFlags) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{
		ServerName:         f.serverName,
		InsecureSkipVerify: f.insecure,
		// Mail clients resume TLS sessions when they reconnect.
		ClientSessionCache: tls.NewLRUClientSessionCache(1024),
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", f.caFile)
		}
	}
	return c, nil
}

// target parses a target flag; empty stays unset.
func target(p loadgen.Protocol, flagName, s string) (loadgen.Target, error) {
	if s == "" {
		return loadgen.Target{}, nil
	}
	t, err := loadgen.ParseTarget(p, s)
	if err != nil {
		return t, usagef("--%s: %v", flagName, err)
	}
	return t, nil
}

// benchOptions are the flags of `bench` alone.
type benchOptions struct {
	benchFlags
	workloads          string
	clients            int
	duration, warmup   time.Duration
	maxOps             uint64
	messageSize        int
	mailbox            string
	rcptPattern        string
	rcptFirst, rcptNum int
	rcptPerMessage     int
	smtpAuth           bool
	sources            int
	idle               loadgen.IdleOptions
}

func (o *benchOptions) register(fs *flag.FlagSet) {
	o.benchFlags.register(fs, true)
	fs.StringVar(&o.workloads, "workload", "imap-mixed", "`list` of workloads with optional weights: imap-mixed:3,imap-fetch:1")
	fs.IntVar(&o.clients, "clients", 10, "concurrent `clients`, shared by the workloads by weight")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "the measured window (at most 24h)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before the window")
	fs.Uint64Var(&o.maxOps, "max-ops", 0, "end the window after this many `commands` (0: the duration only)")
	fs.IntVar(&o.messageSize, "message-size", 10_000, "`octets` of each APPENDed or delivered message")
	fs.StringVar(&o.mailbox, "mailbox", "INBOX", "the `mailbox` IMAP workloads select")
	fs.StringVar(&o.rcptPattern, "rcpt-users", "", "recipient `pattern` for SMTP and LMTP (default: --users)")
	fs.IntVar(&o.rcptFirst, "rcpt-first", 0, "the first recipient's `number`")
	fs.IntVar(&o.rcptNum, "rcpt-count", 0, "the `number` of recipients (default: --user-count)")
	fs.IntVar(&o.rcptPerMessage, "rcpts", 10, "recipients per SMTP or LMTP message (`number`)")
	fs.BoolVar(&o.smtpAuth, "smtp-auth", false, "SMTP clients authenticate (AUTH PLAIN) and send as their user (submission)")
	fs.IntVar(&o.sources, "sources", loadgen.DefaultSources, "loopback source `addresses` 127.0.0.1..N: a user's connections come from one of them, as from its own machine")
	fs.IntVar(&o.idle.Conns, "idle-conns", 0, "idle `connections` (default: the idle workload's share of --clients)")
	fs.StringVar(&o.idle.Mode, "idle-mode", "accounts", "idle `mode`: accounts (spread over --idle-accounts) or mailbox (all on one INBOX)")
	fs.IntVar(&o.idle.Accounts, "idle-accounts", 0, "`number` of accounts the idle connections spread over (default: one each, at most --user-count)")
	fs.Float64Var(&o.idle.Rate, "idle-rate", 10, "the writer's `deliveries` per second")
	fs.StringVar(&o.idle.Deliver, "idle-deliver", "imap", "the writer's delivery `method`: imap (APPEND) or lmtp")
	fs.IntVar(&o.idle.ServerPID, "server-pid", 0, "the server `pid` whose memory the idle workload reads (default: found by the IMAP port; -1: none)")
	fs.DurationVar(&o.idle.Settle, "settle", 2*time.Second, "pause before each memory reading")
}

const benchHelp = `Drives an IMAP, POP3, SMTP or LMTP server (any server, not only postfach)
with concurrent clients for a set time, then reports operations per second,
the p50, p90, p99 and maximum latency of each command, and the errors.
Load goes to loopback addresses only. The users must exist with one
password; 'postfach bench prepare' fills their mailboxes first.

Workloads (--workload, mixable with weights):
%s
The idle workload opens --idle-conns connections (20,000 and more: it
raises its open-file limit and spreads connections over 127.0.0.x source
addresses), reads the server's memory before and after (all its processes:
VmRSS and PSS from /proc), then a writer delivers --idle-rate messages per
second; it reports the time from each delivery's start to every idle
connection's EXISTS.

Example:
  postfach bench --imap imaps://127.0.0.1:993 --insecure --password secret \
    --workload imap-mixed:3,imap-search:1 --clients 50 --duration 30s

`

func workloadLines() string {
	var b strings.Builder
	for _, w := range loadgen.Workloads {
		fmt.Fprintf(&b, "  %-12s %s\n", w.Name, w.Doc)
	}
	return b.String()
}

// flagHelp renders a command's flags for its help text.
func flagHelp(register func(fs *flag.FlagSet)) string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	register(fs)
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return "Bench flags:\n" + strings.ReplaceAll(b.String(), "  -", "  --")
}

func benchCommand() *command {
	o := &benchOptions{}
	return &command{
		name:    "bench",
		args:    "[FLAGS]",
		summary: "measure a mail server under load (IMAP, POP3, SMTP, LMTP)",
		help:    fmt.Sprintf(benchHelp, workloadLines()) + flagHelp((&benchOptions{}).register),
		minArgs: 0, maxArgs: 0,
		flags: o.register,
		run: func(a *app, configPath string, args []string) error {
			cfg, err := o.config(a)
			if err != nil {
				return err
			}
			rep, err := loadgen.Run(a.ctx, cfg)
			if rep == nil {
				return err
			}
			if err != nil {
				fmt.Fprintf(a.stderr, "postfach bench: stopped early: %v\n", err)
			}
			if o.json {
				err = rep.WriteJSON(a.stdout)
			} else {
				err = rep.WriteText(a.stdout)
			}
			if err != nil {
				return err
			}
			for _, w := range rep.Workloads {
				if w.Errors > 0 {
					fmt.Fprintf(a.stderr, "postfach bench: %s: %d errors\n", w.Name, w.Errors)
				}
			}
			return a.ctx.Err()
		},
	}
}

// config turns the flags into a run's configuration.
func (o *benchOptions) config(a *app) (loadgen.Config, error) {
	var cfg loadgen.Config
	var err error
	if cfg.Workloads, err = loadgen.ParseWorkloads(o.workloads); err != nil {
		return cfg, usagef("--workload: %v", err)
	}
	if cfg.IMAP, err = target(loadgen.IMAP, "imap", o.imap); err != nil {
		return cfg, err
	}
	if cfg.POP3, err = target(loadgen.POP3, "pop3", o.pop3); err != nil {
		return cfg, err
	}
	if cfg.SMTP, err = target(loadgen.SMTP, "smtp", o.smtp); err != nil {
		return cfg, err
	}
	if cfg.LMTP, err = target(loadgen.LMTP, "lmtp", o.lmtp); err != nil {
		return cfg, err
	}
	if cfg.Users, err = o.userList(a.getenv); err != nil {
		return cfg, err
	}
	if o.rcptPattern != "" || o.rcptNum != 0 || o.rcptFirst != 0 {
		cfg.Recipients = loadgen.Users{Pattern: o.rcptPattern, First: o.rcptFirst, Count: o.rcptNum, Password: "-"}
		if cfg.Recipients.Pattern == "" {
			cfg.Recipients.Pattern = cfg.Users.Pattern
		}
		if cfg.Recipients.Count == 0 {
			cfg.Recipients.Count = cfg.Users.Count
		}
	}
	if cfg.TLS, err = o.tlsConfig(); err != nil {
		return cfg, err
	}
	cfg.RcptPerMessage = o.rcptPerMessage
	cfg.SMTPAuth = o.smtpAuth
	cfg.Clients, cfg.Duration, cfg.Warmup, cfg.MaxOps, cfg.Timeout = o.clients, o.duration, o.warmup, o.maxOps, o.timeout
	cfg.MessageSize, cfg.Mailbox, cfg.Seed, cfg.Sources = o.messageSize, o.mailbox, o.seed, o.sources
	cfg.Idle = o.idle
	if !o.quiet {
		cfg.Log = a.stderr
	}
	if cfg.Duration <= 0 || cfg.Duration > loadgen.MaxDuration {
		return cfg, usagef("--duration must be more than 0 and at most %v", loadgen.MaxDuration)
	}
	if cfg.Clients < 1 || cfg.Clients > loadgen.MaxClients {
		return cfg, usagef("--clients must be from 1 to %d", loadgen.MaxClients)
	}
	return cfg, nil
}

// prepareFlags registers the flags of `bench prepare` beside the shared
// ones.
func prepareFlags(fs *flag.FlagSet, messages, clients *int, mailbox, passwd *string, create *bool) {
	fs.IntVar(messages, "messages", 100, "`number` of messages each user's mailbox holds afterwards")
	fs.IntVar(clients, "clients", 8, "`number` of users prepared at once")
	fs.StringVar(mailbox, "mailbox", "INBOX", "the `mailbox` to fill")
	fs.StringVar(passwd, "dovecot-passwd", "", "first write the users to this Dovecot passwd-`file` ({PLAIN} passwords)")
	fs.BoolVar(create, "create-users", false, "first create the users (and their domains) in the data directory of --config, as 'postfach user add' does")
}

func benchPrepareCommand() *command {
	var f benchFlags
	var messages, clients int
	var mailbox, passwd string
	var create bool
	register := func(fs *flag.FlagSet) {
		f.register(fs, false)
		prepareFlags(fs, &messages, &clients, &mailbox, &passwd, &create)
	}
	return &command{
		name:    "bench prepare",
		args:    "[FLAGS]",
		summary: "fill benchmark users' mailboxes through IMAP APPEND",
		help: `Appends generated messages (mostly 3 to 25 KB, two in three \Seen) to each
user's mailbox until it holds --messages, through the IMAP target, so that
any two servers prepared with the same flags hold the same octets, flags
and internal dates. Mailboxes that are full enough already are left alone.
The users must exist: create them with the server's own tools (postfach
user add, a Dovecot passwd-file).

With --create-users, the users are first added to postfach's data
directory (of --config, also while the server runs); with
--dovecot-passwd, a passwd-file for Dovecot is written: then the
users exist on both sides with the same password.

` + flagHelp(func(fs *flag.FlagSet) {
			var f2 benchFlags
			var n1, n2 int
			var s1, s2 string
			var b bool
			f2.register(fs, false)
			prepareFlags(fs, &n1, &n2, &s1, &s2, &b)
		}),
		minArgs: 0, maxArgs: 0,
		flags: register,
		run: func(a *app, configPath string, args []string) error {
			t, err := target(loadgen.IMAP, "imap", f.imap)
			if err != nil {
				return err
			}
			if !t.Addr.IsValid() {
				return usagef("--imap is required")
			}
			users, err := f.userList(a.getenv)
			if err != nil {
				return err
			}
			tlsConf, err := f.tlsConfig()
			if err != nil {
				return err
			}
			if passwd != "" {
				if err := writeDovecotPasswd(passwd, users); err != nil {
					return err
				}
			}
			if create {
				added, existed, err := createBenchUsers(a, configPath, users)
				if err != nil {
					return err
				}
				if !f.quiet {
					fmt.Fprintf(a.stderr, "created %d users (%d existed already)\n", added, existed)
				}
			}
			cfg := loadgen.PrepareConfig{IMAP: t, Users: users, Messages: messages, Mailbox: mailbox,
				Seed: f.seed, Clients: clients, Timeout: f.timeout, TLS: tlsConf}
			if !f.quiet {
				cfg.Log = a.stderr
			}
			rep, err := loadgen.Prepare(a.ctx, cfg)
			if rep == nil {
				return err
			}
			if f.json {
				if jerr := writeJSON(a, rep); jerr != nil {
					return jerr
				}
			} else {
				fmt.Fprintf(a.stdout, "%d users: appended %d messages (%.1f MB) in %.1f s; %d users were full already\n",
					rep.Users, rep.Appended, float64(rep.Octets)/1e6, time.Duration(rep.Time).Seconds(), rep.Skipped)
			}
			return err
		},
	}
}

// writeJSON prints v as indented JSON.
func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeDovecotPasswd writes the users to a Dovecot passwd-file, one line
// each: user:{PLAIN}password and six empty fields (Dovecot's passwd-file
// format; the defaults of userdb fill them).
func writeDovecotPasswd(path string, users loadgen.Users) error {
	if strings.ContainsAny(users.Password, ":") {
		return usagef("a passwd-file password cannot contain ':'")
	}
	var b strings.Builder
	for i := range users.Count {
		fmt.Fprintf(&b, "%s:{PLAIN}%s::::::\n", users.Name(i), users.Password)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// createBenchUsers adds the users, and their domains, to the data
// directory of the configuration, through the same steps as `postfach
// user add` (password policy, hash, SCRAM keys). Users that exist are
// left as they are.
func createBenchUsers(a *app, configPath string, users loadgen.Users) (added, existed int, err error) {
	ad, err := a.openAdmin(configPath, createData)
	if err != nil {
		return 0, 0, err
	}
	defer ad.close()
	svc, err := ad.authService()
	if err != nil {
		return 0, 0, err
	}
	for i := range users.Count {
		address, domain, err := splitAddress(users.Name(i))
		if err != nil {
			return added, existed, err
		}
		if ok, err := ad.domainExists(domain); err != nil {
			return added, existed, err
		} else if !ok {
			if _, err := ad.store.AddDomain(a.ctx, domain); err != nil {
				return added, existed, err
			}
		}
		if _, err := ad.store.AccountByAddress(a.ctx, address); err == nil {
			existed++
			continue
		}
		hash, err := svc.HashNewPassword(a.ctx, address, users.Password)
		if err != nil {
			return added, existed, fmt.Errorf("%s: %w", address, err)
		}
		acct, err := ad.store.AddAccount(a.ctx, address, hash)
		if err != nil {
			return added, existed, fmt.Errorf("%s: %w", address, err)
		}
		if err := svc.StoreSCRAMKeys(a.ctx, acct, users.Password); err != nil {
			return added, existed, fmt.Errorf("%s: SCRAM keys: %w", address, err)
		}
		added++
	}
	return added, existed, ad.close()
}

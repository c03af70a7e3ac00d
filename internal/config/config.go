// Package config owns postfach's configuration: the typed Config, its
// defaults, loading from a TOML file, and validation.
//
// Invariants:
//   - Load returns either an error or a Config that passed Validate, with
//     every path absolute.
//   - Decoding is strict: a key the program does not know (or spelled in
//     another case) is an error naming the key and its line, never ignored.
//   - A listener for a protocol this version does not serve is an error
//     (see notImplemented in listen.go), never silently ignored.
//   - The package holds no mutable package-level state.
//
// Relative paths in a config file (data_dir, tls.cert, tls.key,
// dns.zone_file) are resolved against the directory of that file, so that
// `postfach serve` and the admin commands given the same --config open the
// same data whatever their working directory (systemd starts services in /,
// administrators run commands from their home). Without a config file the
// defaults are resolved against the working directory.
package config

import (
	"os"
	"strings"
	"time"
)

// Config is the whole configuration. Field comments name the TOML keys.
type Config struct {
	// Hostname is the server's own name (hostname): greetings, the
	// self-signed certificate, the first-start postmaster's domain (Domain).
	// Default: os.Hostname().
	Hostname string `toml:"hostname"`
	// DataDir holds the store, blobs and generated TLS material (data_dir).
	// Default: ./postfach-data.
	DataDir string `toml:"data_dir"`

	Listen Listen `toml:"listen"`
	TLS    TLS    `toml:"tls"`
	DNS    DNS    `toml:"dns"`
	Limits Limits `toml:"limits"`
	Auth   Auth   `toml:"auth"`
	Log    Log    `toml:"log"`
	// Security is the login guard ([security]): see security.go.
	Security Security `toml:"security"`
	MTASTS   MTASTS   `toml:"mta_sts"`
	POP3     POP3     `toml:"pop3"`
	SMTP     SMTP     `toml:"smtp"`
	Queue    Queue    `toml:"queue"`
}

// Listen holds one host:port per protocol; empty means the listener is off.
// A host may be empty (all addresses), an IP literal ("[::1]:143") or a
// name; port 0 picks a free port (tests).
type Listen struct {
	IMAP        string `toml:"imap"`        // STARTTLS, default ":143"
	IMAPS       string `toml:"imaps"`       // implicit TLS, default ":993"
	POP3        string `toml:"pop3"`        // STARTTLS (STLS)
	POP3S       string `toml:"pop3s"`       // implicit TLS
	Submission  string `toml:"submission"`  // SMTP submission, STARTTLS
	Submissions string `toml:"submissions"` // SMTP submission, implicit TLS
	SMTP        string `toml:"smtp"`        // MX, port 25
	LMTP        string `toml:"lmtp"`
	// HTTP and HTTPS serve client self-configuration (Mozilla
	// autoconfig, Microsoft autodiscover, Apple profiles) and the
	// MTA-STS policy; HTTPS uses the certificate of [tls].
	HTTP  string `toml:"http"`
	HTTPS string `toml:"https"`
}

// TLS names the certificate and key files (PEM). When both are empty the
// server generates a self-signed certificate in <data_dir>/tls and reuses
// it on later starts.
//
// More pairs go in [[tls.certificates]]; a handshake gets the first pair
// (cert/key first) whose certificate covers the name the client asked
// for (SNI) and suits its signature algorithms, else the first pair.
// Every pair is reloaded when its files change, without a restart.
//
// With acme = true, certificates for acme_domains (default: hostname)
// come from an ACME CA (default Let's Encrypt) and renew in the
// background; they are kept in <data_dir>/acme. The CA checks control of
// each name by connecting to acme_tls_alpn_addr (TLS-ALPN-01, default
// ":443") or acme_http_addr (HTTP-01, default ":80"); postfach listens
// there only while it answers a challenge. "" turns a challenge type off.
type TLS struct {
	Cert         string    `toml:"cert"`
	Key          string    `toml:"key"`
	Certificates []CertKey `toml:"certificates"`

	ACME        bool     `toml:"acme"`
	ACMEEmail   string   `toml:"acme_email"`
	ACMEDomains []string `toml:"acme_domains"`
	// ACMECA is the CA's directory URL (acme_ca).
	ACMECA string `toml:"acme_ca"`
	// ACMECARoot is a PEM file of CA certificates to trust for the ACME
	// server's own TLS, for a private CA (acme_ca_root); default the
	// system's roots.
	ACMECARoot      string `toml:"acme_ca_root"`
	ACMEHTTPAddr    string `toml:"acme_http_addr"`
	ACMETLSALPNAddr string `toml:"acme_tls_alpn_addr"`
}

// DNS configures name resolution for mail routing and checks.
type DNS struct {
	// Nameservers are IP:port addresses of resolvers; empty means the
	// system's resolver.
	Nameservers []string `toml:"nameservers"`
	// ZoneFile is a file of static DNS records that answers first (tests,
	// isolated setups).
	ZoneFile string `toml:"zone_file"`
}

// Limits bound what clients may do. Every limit is explicit here so an
// operator can find and change it.
type Limits struct {
	// MaxLineLength bounds one protocol line in octets, literals excluded
	// (max_line_length). Default 64 KiB: RFC 7162 section 4 asks IMAP
	// servers to accept lines of at least 8192 octets; long UID sets from
	// QRESYNC clients need more.
	MaxLineLength ByteSize `toml:"max_line_length"`
	// MaxLiteralSize bounds a literal in a command other than APPEND
	// (search strings, passwords) (max_literal_size). Default 64 KiB.
	MaxLiteralSize ByteSize `toml:"max_literal_size"`
	// MaxMessageSize bounds a message: APPEND literals, SMTP DATA
	// (max_message_size). Default 64 MiB.
	MaxMessageSize ByteSize `toml:"max_message_size"`
	// MaxConnections bounds open client connections over all listeners
	// (max_connections). Default 10000.
	MaxConnections int `toml:"max_connections"`
	// MaxConnectionsPerIP bounds connections from one client address
	// (max_connections_per_ip). Default 200: offices reach the server from
	// one NAT address, and a mail client keeps up to about five IMAP
	// connections (Thunderbird's default cache) plus IDLE; 200 lets a
	// 30-40 seat office in while one host still holds at most 2% of
	// max_connections.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	// There is no limit on pipelined commands: a session reads the next
	// command only after it answered the last, so commands a client
	// pipelines wait in the socket buffer, bounded by TCP flow control.
	// IdleTimeout is the inactivity timer of authenticated sessions,
	// IDLE included (idle_timeout). RFC 9051 section 5.4 and RFC 2177
	// section 3: at least 30 minutes. Default 30m.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// LoginTimeout ends connections that have not authenticated in time
	// (login_timeout). Default 60s.
	LoginTimeout time.Duration `toml:"login_timeout"`
	// WriteTimeout bounds one write to a client that stopped reading
	// (write_timeout). Default 5m.
	WriteTimeout time.Duration `toml:"write_timeout"`
}

// Auth configures password hashing and where plaintext logins may happen.
type Auth struct {
	// Argon2id parameters for new and upgraded hashes (RFC 9106). Stored
	// hashes with other parameters still verify and are rehashed at the
	// next successful login. Defaults: OWASP's m=46 MiB, t=1, p=1, about
	// 25 ms per hash on one core (see auth.DefaultParams).
	Time      uint32 `toml:"time"`
	MemoryKiB uint32 `toml:"memory_kib"`
	Threads   uint8  `toml:"threads"`
	// AllowPlaintextLoopback permits password logins without TLS on
	// loopback connections, for a TLS terminator on the same host
	// (allow_plaintext_loopback). Default false.
	AllowPlaintextLoopback bool `toml:"allow_plaintext_loopback"`
	// MinPasswordLength is the shortest password `postfach user add` and
	// `user passwd` accept, in characters (min_password_length); common
	// passwords are refused at any length. Default 12 (see
	// auth.DefaultMinPasswordLength).
	MinPasswordLength int `toml:"min_password_length"`
	// SCRAMIterations is the PBKDF2 iteration count of new SCRAM-SHA-256
	// keys (scram_iterations). The server cannot run argon2id for SCRAM
	// logins: after a database leak, this count is what slows guessing
	// against the stored SCRAM keys. Clients compute it at each login.
	// Default 32768; at least 4096 (RFC 7677 section 4). Keys made with
	// another count are remade at the next PLAIN or LOGIN login.
	SCRAMIterations int `toml:"scram_iterations"`
}

// MTASTS is the MTA-STS policy (RFC 8461) the http and https listeners
// serve at https://mta-sts.<domain>/.well-known/mta-sts.txt for every
// domain, and that `postfach dns` announces.
type MTASTS struct {
	// Mode is enforce, testing or none (mode). Default testing: senders
	// report failures (TLS-RPT) but still deliver, the safe first step
	// RFC 8461 section 5 describes; switch to enforce once the reports
	// are clean.
	Mode string `toml:"mode"`
	// MX lists the MX host patterns senders may deliver to (mx); a
	// pattern may start with "*." (RFC 8461 section 4.1). Default: the
	// hostname.
	MX []string `toml:"mx"`
	// MaxAge is how long senders cache the policy (max_age), at most a
	// year (RFC 8461 section 3.2). Default 1 week.
	MaxAge time.Duration `toml:"max_age"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error; default info
	Format string `toml:"format"` // text or json; default text
}

// Default values. The argon2id defaults must match auth.DefaultParams; a
// test keeps them in step.
const (
	DefaultDataDir             = "./postfach-data"
	DefaultMaxLineLength       = 64 << 10
	DefaultMaxLiteralSize      = 64 << 10
	DefaultMaxMessageSize      = 64 << 20
	DefaultMaxConnections      = 10000
	DefaultMaxConnectionsPerIP = 200
	DefaultIdleTimeout         = 30 * time.Minute
	DefaultLoginTimeout        = 60 * time.Second
	DefaultWriteTimeout        = 5 * time.Minute
	DefaultArgon2Time          = 1
	DefaultArgon2MemoryKiB     = 47104
	DefaultArgon2Threads       = 1
	DefaultMinPasswordLength   = 12
	DefaultSCRAMIterations     = 32768
	DefaultMTASTSMode          = "testing"
	DefaultMTASTSMaxAge        = 7 * 24 * time.Hour

	// MinIdleTimeout is RFC 9051 section 5.4's floor for the autologout
	// timer of authenticated sessions.
	MinIdleTimeout = 30 * time.Minute
)

// Default returns the configuration used when no file is given: the mail
// protocols on their standard ports of all addresses (IMAP 143 STARTTLS
// and 993 implicit TLS, POP3 110 and 995, submission 587 and 465, MX 25),
// LMTP and HTTP off, data in ./postfach-data. One program serves a
// complete mailbox: a user who runs it can read mail with IMAP or POP3
// and send it, without editing a file first.
func Default() *Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Config{
		Hostname: strings.TrimSuffix(strings.ToLower(host), "."),
		DataDir:  DefaultDataDir,
		Listen: Listen{
			IMAP:        ":143",
			IMAPS:       ":993",
			POP3:        ":110",
			POP3S:       ":995",
			Submission:  ":587",
			Submissions: ":465",
			SMTP:        ":25",
		},
		Limits: Limits{
			MaxLineLength:       DefaultMaxLineLength,
			MaxLiteralSize:      DefaultMaxLiteralSize,
			MaxMessageSize:      DefaultMaxMessageSize,
			MaxConnections:      DefaultMaxConnections,
			MaxConnectionsPerIP: DefaultMaxConnectionsPerIP,
			IdleTimeout:         DefaultIdleTimeout,
			LoginTimeout:        DefaultLoginTimeout,
			WriteTimeout:        DefaultWriteTimeout,
		},
		Auth: Auth{
			Time:      DefaultArgon2Time,
			MemoryKiB: DefaultArgon2MemoryKiB,
			Threads:   DefaultArgon2Threads,

			MinPasswordLength: DefaultMinPasswordLength,
			SCRAMIterations:   DefaultSCRAMIterations,
		},
		Log:      Log{Level: "info", Format: "text"},
		TLS:      TLS{ACMECA: DefaultACMEDirectory, ACMEHTTPAddr: DefaultACMEHTTPAddr, ACMETLSALPNAddr: DefaultACMETLSALPNAddr},
		Security: defaultSecurity(),
		MTASTS:   MTASTS{Mode: DefaultMTASTSMode, MaxAge: DefaultMTASTSMaxAge},
		POP3:     defaultPOP3(),
		SMTP:     defaultSMTP(),
		Queue:    defaultQueue(),
	}
}

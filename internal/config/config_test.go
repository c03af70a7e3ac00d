package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"postfach/internal/auth"
)

// writeConfig writes a config file into a fresh directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "postfach.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefault(t *testing.T) {
	cfg := Default()
	if cfg.Hostname == "" {
		t.Error("hostname is empty")
	}
	if cfg.DataDir != "./postfach-data" {
		t.Errorf("data_dir = %q", cfg.DataDir)
	}
	want := []Listener{{Name: "imap", Addr: ":143"}, {Name: "imaps", Addr: ":993", ImplicitTLS: true},
		{Name: "pop3", Addr: ":110"}, {Name: "pop3s", Addr: ":995", ImplicitTLS: true},
		{Name: "submission", Addr: ":587"}, {Name: "submissions", Addr: ":465", ImplicitTLS: true},
		{Name: "smtp", Addr: ":25"}}
	if got := cfg.Listen.Enabled(); !reflect.DeepEqual(got, want) {
		t.Errorf("listeners = %+v, want %+v", got, want)
	}
	l := cfg.Limits
	if l.MaxLineLength != 64<<10 || l.MaxLiteralSize != 64<<10 || l.MaxMessageSize != 64<<20 ||
		l.MaxConnections != 10000 || l.MaxConnectionsPerIP != 200 ||
		l.IdleTimeout != 30*time.Minute || l.LoginTimeout != time.Minute || l.WriteTimeout != 5*time.Minute {
		t.Errorf("limits = %+v", l)
	}
	if cfg.Auth.AllowPlaintextLoopback {
		t.Error("allow_plaintext_loopback defaults to true")
	}
	if cfg.Log.Level != "info" || cfg.Log.Format != "text" {
		t.Errorf("log = %+v", cfg.Log)
	}
	// The defaults must be valid as they are, for any real hostname.
	cfg.Hostname = "mail.example.org"
	if err := cfg.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestLoadEmptyPath(t *testing.T) {
	cfg, err := Load("")
	if err != nil {
		// The machine's own hostname may not be a DNS name; that is the
		// only acceptable reason to fail.
		if strings.Contains(err.Error(), "hostname") {
			t.Skipf("system hostname unusable: %v", err)
		}
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "postfach-data"); cfg.DataDir != want {
		t.Errorf("data_dir = %q, want %q", cfg.DataDir, want)
	}
}

func TestLoadFull(t *testing.T) {
	path := writeConfig(t, `
hostname = "Mail.Example.ORG."
data_dir = "data"

[listen]
imap = "127.0.0.1:1143"
imaps = "[::1]:1993"
http = "127.0.0.1:8080"
https = "127.0.0.1:8443"

[tls]
cert = "/etc/ssl/mail.pem"
key = "keys/mail.key"
acme = true
acme_email = "postmaster@example.org"
acme_domains = ["mail.example.org", "imap.example.org"]
acme_ca = "https://acme.example.net/directory"
acme_ca_root = "acme-ca.pem"
acme_http_addr = "127.0.0.1:8081"
acme_tls_alpn_addr = "127.0.0.1:8444"

[[tls.certificates]]
cert = "other.pem"
key = "/etc/ssl/other.key"

[security]
window = "2h"
delay = "500ms"
max_delay = "10s"
max_delayed = 100
delay_after = 2
ban_after = 5
network_delay_after = 8
network_ban_after = 40
site_delay_after = 30
site_ban_after = 100
account_delay_after = 4
account_max_in_flight = 2
ban_duration = "24h"
known_address_ttl = "720h"
allowlist = ["192.0.2.0/24", "2001:db8::1"]

[dns]
nameservers = ["127.0.0.1:5353", "[::1]:53"]
zone_file = "zone.txt"

[limits]
max_line_length = 16384
max_literal_size = "1 MiB"
max_message_size = "50MB"
max_connections = 500
max_connections_per_ip = 20
idle_timeout = "45m"
login_timeout = "20s"
write_timeout = "1m30s"

[auth]
time = 2
memory_kib = 19456
threads = 1
allow_plaintext_loopback = true
min_password_length = 16
scram_iterations = 8192

[log]
level = "debug"
format = "json"

[mta_sts]
mode = "enforce"
mx = ["mail.example.org", "*.mx.example.org"]
max_age = "720h"
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := &Config{
		Hostname: "mail.example.org",
		DataDir:  filepath.Join(dir, "data"),
		Listen:   Listen{IMAP: "127.0.0.1:1143", IMAPS: "[::1]:1993", HTTP: "127.0.0.1:8080", HTTPS: "127.0.0.1:8443"},
		TLS: TLS{Cert: "/etc/ssl/mail.pem", Key: filepath.Join(dir, "keys/mail.key"),
			Certificates: []CertKey{{Cert: filepath.Join(dir, "other.pem"), Key: "/etc/ssl/other.key"}},
			ACME:         true, ACMEEmail: "postmaster@example.org", ACMEDomains: []string{"mail.example.org", "imap.example.org"},
			ACMECA: "https://acme.example.net/directory", ACMECARoot: filepath.Join(dir, "acme-ca.pem"),
			ACMEHTTPAddr: "127.0.0.1:8081", ACMETLSALPNAddr: "127.0.0.1:8444"},
		Security: Security{Window: 2 * time.Hour, Delay: 500 * time.Millisecond, MaxDelay: 10 * time.Second, MaxDelayed: 100,
			DelayAfter: 2, BanAfter: 5, NetworkDelayAfter: 8, NetworkBanAfter: 40, SiteDelayAfter: 30, SiteBanAfter: 100,
			AccountDelayAfter: 4, AccountMaxInFlight: 2, BanDuration: 24 * time.Hour, KnownAddressTTL: 30 * 24 * time.Hour,
			Allowlist: []string{"192.0.2.0/24", "2001:db8::1"}},
		DNS: DNS{Nameservers: []string{"127.0.0.1:5353", "[::1]:53"}, ZoneFile: filepath.Join(dir, "zone.txt")},
		Limits: Limits{
			MaxLineLength:       16384,
			MaxLiteralSize:      1 << 20,
			MaxMessageSize:      50_000_000,
			MaxConnections:      500,
			MaxConnectionsPerIP: 20,
			IdleTimeout:         45 * time.Minute,
			LoginTimeout:        20 * time.Second,
			WriteTimeout:        90 * time.Second,
		},
		Auth:   Auth{Time: 2, MemoryKiB: 19456, Threads: 1, AllowPlaintextLoopback: true, MinPasswordLength: 16, SCRAMIterations: 8192},
		Log:    Log{Level: "debug", Format: "json"},
		MTASTS: MTASTS{Mode: "enforce", MX: []string{"mail.example.org", "*.mx.example.org"}, MaxAge: 30 * 24 * time.Hour},
		POP3:   defaultPOP3(),
		SMTP:   defaultSMTP(),
		Queue:  defaultQueue(),
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", cfg, want)
	}
}

// TestLoadPartial: keys absent from the file keep their defaults; an
// empty string turns a default listener off.
func TestLoadPartial(t *testing.T) {
	path := writeConfig(t, `
hostname = "example.org"
[listen]
imap = ""
imaps = "127.0.0.1:0"
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Listen.Enabled(); len(got) != 1 || got[0].Name != "imaps" {
		t.Errorf("listeners = %+v", got)
	}
	if want := filepath.Join(filepath.Dir(path), "postfach-data"); cfg.DataDir != want {
		t.Errorf("data_dir = %q, want %q (relative to the config file)", cfg.DataDir, want)
	}
	if cfg.Limits.IdleTimeout != DefaultIdleTimeout || cfg.Auth.MemoryKiB != DefaultArgon2MemoryKiB {
		t.Errorf("defaults lost: %+v %+v", cfg.Limits, cfg.Auth)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "hostname = \"example.org\"\nhostnme = \"x\"\n",
			[]string{"postfach.toml:2:", `unknown key "hostnme"`}},
		{"unknown key in table", "hostname = \"example.org\"\n[listen]\nimap = \":143\"\npop4 = \":110\"\n",
			[]string{"postfach.toml:4:", `unknown key "listen.pop4"`}},
		{"unknown table", "hostname = \"example.org\"\n\n[listne]\nimap = \":143\"\n",
			[]string{"postfach.toml:3:", `unknown key "listne"`, `unknown key "listne.imap"`}},
		{"dotted unknown key", "hostname = \"example.org\"\nlimits.max_lines = 5\n",
			[]string{"postfach.toml:2:", `unknown key "limits.max_lines"`}},
		{"wrong case", "Hostname = \"example.org\"\n",
			[]string{"postfach.toml:1:", `unknown key "Hostname"`, `did you mean "hostname"?`}},
		{"integer duration", "hostname = \"example.org\"\n[limits]\nidle_timeout = 3600\n",
			[]string{"postfach.toml:3:", "limits.idle_timeout: want a duration string"}},
		{"bad duration", "hostname = \"example.org\"\n[limits]\n\nlogin_timeout = \"5 minutes\"\n",
			[]string{"postfach.toml:4:", "limits.login_timeout"}},
		{"bad size", "hostname = \"example.org\"\n[limits]\nmax_message_size = \"64 MiBs\"\n",
			[]string{"postfach.toml:3:", "limits.max_message_size", `unknown unit "MiBs"`}},
		{"wrong type", "hostname = 5\n",
			[]string{"postfach.toml:1:", "hostname"}},
		{"syntax error", "hostname = \"example.org\n",
			[]string{"postfach.toml:1:"}},
		{"nothing served", "hostname = \"example.org\"\n[listen]\n",
			[]string{"listen: no listener this version serves is set"}},
		{"validation", "hostname = \"example.org\"\n[limits]\nidle_timeout = \"5m\"\n",
			[]string{"postfach.toml: limits.idle_timeout: 5m0s is below 30m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.text))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"single-label hostname", func(c *Config) { c.Hostname = "localhost" }, ""},
		{"empty hostname", func(c *Config) { c.Hostname = "" }, "hostname: must not be empty"},
		{"IP hostname", func(c *Config) { c.Hostname = "192.0.2.1" }, "hostname: \"192.0.2.1\" is an IP address"},
		{"bad hostname", func(c *Config) { c.Hostname = "mail_1.example.org" }, `hostname: "mail_1.example.org": label "mail_1" has character '_'`},
		{"hyphen label", func(c *Config) { c.Hostname = "-mail.example.org" }, "starts or ends with a hyphen"},
		{"long label", func(c *Config) { c.Hostname = strings.Repeat("a", 64) + ".org" }, "longer than 63"},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data_dir: must not be empty"},
		{"no listeners", func(c *Config) { c.Listen = Listen{} }, "listen: no listener this version serves is set"},
		{"missing port", func(c *Config) { c.Listen.IMAP = "127.0.0.1" }, `listen.imap: "127.0.0.1" is not host:port: missing port in address`},
		{"bad port", func(c *Config) { c.Listen.IMAP = ":imap" }, `listen.imap: ":imap": port "imap" is not a number`},
		{"port too big", func(c *Config) { c.Listen.IMAPS = ":99999" }, `listen.imaps: ":99999": port "99999"`},
		{"bad host", func(c *Config) { c.Listen.IMAP = "exa mple:143" }, `host "exa mple" is neither`},
		{"unbracketed v6", func(c *Config) { c.Listen.IMAP = "::1:143" }, "listen.imap:"},
		{"ipv6 ok", func(c *Config) { c.Listen.IMAP = "[::1]:143" }, ""},
		{"name ok", func(c *Config) { c.Listen.IMAP = "localhost:143" }, ""},
		{"zone ok", func(c *Config) { c.Listen.IMAP = "[fe80::1%lo]:143" }, ""},
		{"duplicate", func(c *Config) { c.Listen.IMAPS = "0.0.0.0:143"; c.Listen.IMAP = "0.0.0.0:143" }, "listen.imaps: address 0.0.0.0:143 is also used by listen.imap"},
		{"duplicate mapped", func(c *Config) { c.Listen.IMAP = "127.0.0.1:143"; c.Listen.IMAPS = "[::ffff:127.0.0.1]:143" }, "is also used by listen.imap"},
		{"two port zero", func(c *Config) { c.Listen.IMAP = "127.0.0.1:0"; c.Listen.IMAPS = "127.0.0.1:0" }, ""},
		{"cert without key", func(c *Config) { c.TLS.Cert = "/c.pem" }, "tls.key: tls.cert is set but tls.key is not"},
		{"key without cert", func(c *Config) { c.TLS.Key = "/k.pem" }, "tls.cert: tls.key is set but tls.cert is not"},
		{"cert and key", func(c *Config) { c.TLS.Cert, c.TLS.Key = "/c.pem", "/k.pem" }, ""},
		{"nameserver by name", func(c *Config) { c.DNS.Nameservers = []string{"ns.example.org:53"} }, "dns.nameservers[0]: \"ns.example.org:53\" is not an IP:port"},
		{"nameserver no port", func(c *Config) { c.DNS.Nameservers = []string{"127.0.0.1:53", "192.0.2.1"} }, "dns.nameservers[1]"},
		{"nameserver port 0", func(c *Config) { c.DNS.Nameservers = []string{"127.0.0.1:0"} }, "port 0"},
		{"short lines", func(c *Config) { c.Limits.MaxLineLength = 1000 }, "limits.max_line_length: 1000 is below 8192"},
		{"zero literal", func(c *Config) { c.Limits.MaxLiteralSize = 0 }, "limits.max_literal_size: must be positive"},
		{"tiny messages", func(c *Config) { c.Limits.MaxMessageSize = 100 }, "limits.max_message_size"},
		{"zero connections", func(c *Config) { c.Limits.MaxConnections = 0 }, "limits.max_connections: must be positive"},
		{"zero per ip", func(c *Config) { c.Limits.MaxConnectionsPerIP = 0 }, "limits.max_connections_per_ip: must be positive"},
		{"per ip above total", func(c *Config) { c.Limits.MaxConnections = 10 }, "limits.max_connections_per_ip: 200 exceeds limits.max_connections (10)"},
		{"short idle", func(c *Config) { c.Limits.IdleTimeout = 29 * time.Minute }, "limits.idle_timeout: 29m0s is below 30m"},
		{"exact idle", func(c *Config) { c.Limits.IdleTimeout = 30 * time.Minute }, ""},
		{"zero login timeout", func(c *Config) { c.Limits.LoginTimeout = 0 }, "limits.login_timeout: must be positive"},
		{"zero write timeout", func(c *Config) { c.Limits.WriteTimeout = 0 }, "limits.write_timeout: must be positive"},
		{"argon time 0", func(c *Config) { c.Auth.Time = 0 }, "auth.time: 0 is out of range"},
		{"argon threads 0", func(c *Config) { c.Auth.Threads = 0 }, "auth.threads: must be at least 1"},
		{"argon memory small", func(c *Config) { c.Auth.Threads = 4; c.Auth.MemoryKiB = 16 }, "auth.memory_kib: 16 is out of range 32.."},
		{"argon memory huge", func(c *Config) { c.Auth.MemoryKiB = 8 << 20 }, "auth.memory_kib"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose" is not one of`},
		{"log level case", func(c *Config) { c.Log.Level = "WARN" }, ""},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml" is not one of text, json`},
		{"http only", func(c *Config) { c.Listen = Listen{HTTP: "127.0.0.1:0"} }, ""},
		{"https duplicate", func(c *Config) { c.Listen.HTTPS = ":993" }, "listen.https: address :993 is also used by listen.imaps"},
		{"mta-sts mode", func(c *Config) { c.MTASTS.Mode = "Enforce" }, `mta_sts.mode: "Enforce" is not one of enforce, testing, none`},
		{"mta-sts none", func(c *Config) { c.MTASTS.Mode = "none" }, ""},
		{"mta-sts mx wildcard", func(c *Config) { c.MTASTS.MX = []string{"*.example.org", "mx.example.org"} }, ""},
		{"mta-sts mx bad", func(c *Config) { c.MTASTS.MX = []string{"mx.example.org", "mx_1.example.org"} }, `mta_sts.mx[1]: "mx_1.example.org"`},
		{"mta-sts mx inner wildcard", func(c *Config) { c.MTASTS.MX = []string{"mx.*.example.org"} }, "mta_sts.mx[0]"},
		{"mta-sts max_age zero", func(c *Config) { c.MTASTS.MaxAge = 0 }, "mta_sts.max_age: 0s is out of range"},
		{"mta-sts max_age year", func(c *Config) { c.MTASTS.MaxAge = MaxMTASTSMaxAge }, ""},
		{"mta-sts max_age above year", func(c *Config) { c.MTASTS.MaxAge = MaxMTASTSMaxAge + time.Second }, "mta_sts.max_age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Hostname = "mail.example.org"
			tt.modify(cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate() = nil, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestValidateAllErrors: every problem is reported at once.
func TestValidateAllErrors(t *testing.T) {
	cfg := Default()
	cfg.Hostname = ""
	cfg.Listen.IMAP = ":imap"
	cfg.Log.Format = "xml"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("valid")
	}
	for _, w := range []string{"hostname:", "listen.imap:", "log.format:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q missing from %q", w, err)
		}
	}
}

func TestDomain(t *testing.T) {
	tests := []struct{ host, want string }{
		{"mail.example.org", "example.org"},
		{"example.org", "example.org"},
		{"Mail.Example.Org.", "example.org"},
		{"imap.mail.example.org", "mail.example.org"},
		{"example.co.uk", "example.co.uk"},
		{"mail.example.co.uk", "example.co.uk"},
		{"mail.example.test", "example.test"},
		{"localhost", "localhost"},
		{"mailhost", "mailhost"},
		{"co.uk", "co.uk"},
	}
	for _, tt := range tests {
		cfg := &Config{Hostname: tt.host}
		if got := cfg.Domain(); got != tt.want {
			t.Errorf("Domain(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

// TestEveryKeyKnown: every field with a toml tag is reachable by its key,
// and Load accepts a file that sets each of them.
func TestEveryKeyKnown(t *testing.T) {
	known := make(map[string]reflect.Type)
	collectKeys(reflect.TypeOf(Config{}), nil, known)
	for _, k := range []string{"hostname", "data_dir", "listen", "listen.imap", "listen.http",
		"tls.cert", "dns.nameservers", "dns.zone_file", "limits.idle_timeout",
		"auth.memory_kib", "auth.allow_plaintext_loopback", "log.format"} {
		if _, ok := known[k]; !ok {
			t.Errorf("key %q not known", k)
		}
	}
}

// TestArgon2DefaultsMatchAuth keeps the config defaults in step with the
// auth package's, which document the measurement behind them.
func TestArgon2DefaultsMatchAuth(t *testing.T) {
	p := auth.DefaultParams()
	a := Default().Auth
	if a.Time != p.Time || a.MemoryKiB != p.MemoryKiB || a.Threads != p.Threads {
		t.Errorf("config defaults %+v differ from auth.DefaultParams() %+v", a, p)
	}
}

// TestExample: the documented example sets every key to its default.
func TestExample(t *testing.T) {
	cfg, err := Load("testdata/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Hostname = "mail.example.org"
	if err := want.resolvePaths(mustAbs(t, "testdata")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example differs from the defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// A [listen] table names exactly the listeners that run; without one the
// defaults stay.
func TestListenTableReplacesDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, "hostname = \"mail.example.org\"\n[listen]\nimaps = \"127.0.0.1:10993\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.IMAP != "" || cfg.Listen.IMAPS != "127.0.0.1:10993" {
		t.Fatalf("listen = %+v", cfg.Listen)
	}
	cfg, err = Load(writeConfig(t, "hostname = \"mail.example.org\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.IMAP != ":143" || cfg.Listen.IMAPS != ":993" || cfg.Listen.POP3S != ":995" || cfg.Listen.Submissions != ":465" || cfg.Listen.SMTP != ":25" || cfg.Listen.LMTP != "" {
		t.Fatalf("listen without a table = %+v", cfg.Listen)
	}
}

// A listener for a protocol this version lacks is a warning, not an
// error: a configuration shared with a newer version still starts.
func TestUnimplementedListenersWarn(t *testing.T) {
	cfg, err := Load(writeConfig(t, "hostname = \"example.org\"\n[listen]\nimaps = \"127.0.0.1:0\"\npop3 = \":110\"\nsmtp = \":25\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Every protocol is implemented now: nothing to warn about.
	if w := cfg.Warnings(); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	if s := cfg.Listen.Served(); len(s) != 3 {
		t.Fatalf("served %+v", s)
	}
}

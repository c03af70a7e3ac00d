package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"postfach/internal/guard"
)

// TestSecurityDefaultsMatchGuard keeps the [security] defaults in step
// with guard.DefaultPolicy, which documents them.
func TestSecurityDefaultsMatchGuard(t *testing.T) {
	s := defaultSecurity()
	p := guard.DefaultPolicy()
	got := guard.Policy{
		Window: s.Window, Delay: s.Delay, MaxDelay: s.MaxDelay, MaxDelayed: s.MaxDelayed,
		Address:           guard.Thresholds{DelayAfter: s.DelayAfter, BanAfter: s.BanAfter},
		Network:           guard.Thresholds{DelayAfter: s.NetworkDelayAfter, BanAfter: s.NetworkBanAfter},
		Site:              guard.Thresholds{DelayAfter: s.SiteDelayAfter, BanAfter: s.SiteBanAfter},
		AccountDelayAfter: s.AccountDelayAfter, AccountMaxInFlight: s.AccountMaxInFlight, BanDuration: s.BanDuration, KnownTTL: s.KnownAddressTTL,
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("config defaults %+v\ndiffer from guard.DefaultPolicy() %+v", got, p)
	}
	if len(s.Allowlist) != 0 {
		t.Errorf("allowlist defaults to %v, want empty", s.Allowlist)
	}
}

func TestValidateSecurity(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" for valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"allowlist", func(c *Config) { c.Security.Allowlist = []string{"127.0.0.1", "10.0.0.0/8", "2001:db8::/32"} }, ""},
		{"bad allowlist", func(c *Config) { c.Security.Allowlist = []string{"10.0.0.0/8", "localhost"} }, `security.allowlist[1]: "localhost"`},
		{"window", func(c *Config) { c.Security.Window = time.Second }, "security.window"},
		{"delays", func(c *Config) { c.Security.Delay, c.Security.MaxDelay = 5*time.Second, time.Second }, "security.max_delay"},
		{"delay too long", func(c *Config) { c.Security.Delay, c.Security.MaxDelay = time.Hour, time.Hour }, "security.delay"},
		{"order", func(c *Config) { c.Security.DelayAfter = 20 }, "security.delay_after: 20 exceeds security.ban_after (10)"},
		{"off", func(c *Config) { c.Security.SiteBanAfter, c.Security.SiteDelayAfter = 0, 0 }, ""},
		{"negative", func(c *Config) { c.Security.NetworkBanAfter = -1 }, "security.network_ban_after"},
		{"ban duration", func(c *Config) { c.Security.BanDuration = 0 }, "security.ban_duration"},
		{"in flight", func(c *Config) { c.Security.AccountMaxInFlight = -1 }, "security.account_max_in_flight"},
		{"known ttl", func(c *Config) { c.Security.KnownAddressTTL = time.Minute }, "security.known_address_ttl"},
		{"pair", func(c *Config) { c.TLS.Certificates = []CertKey{{Cert: "/a.pem"}} }, "tls.certificates[0]: set both"},
		{"acme", func(c *Config) { c.TLS.ACME = true }, ""},
		{"acme local hostname", func(c *Config) { c.TLS.ACME, c.Hostname = true, "mail.local" }, "tls.acme_domains: the hostname"},
		{"acme single label", func(c *Config) { c.TLS.ACME, c.TLS.ACMEDomains = true, []string{"mail"} }, "tls.acme_domains[0]"},
		{"acme ip", func(c *Config) { c.TLS.ACME, c.TLS.ACMEDomains = true, []string{"192.0.2.1"} }, "tls.acme_domains[0]"},
		{"acme wildcard", func(c *Config) { c.TLS.ACME, c.TLS.ACMEDomains = true, []string{"*.example.org"} }, "tls.acme_domains[0]"},
		{"acme ca", func(c *Config) { c.TLS.ACME, c.TLS.ACMECA = true, "http://ca.example/dir" }, "tls.acme_ca"},
		{"acme no challenge", func(c *Config) { c.TLS.ACME, c.TLS.ACMEHTTPAddr, c.TLS.ACMETLSALPNAddr = true, "", "" }, "tls.acme:"},
		{"acme hosts", func(c *Config) {
			c.TLS.ACME, c.TLS.ACMEHTTPAddr, c.TLS.ACMETLSALPNAddr = true, "127.0.0.1:80", "127.0.0.2:443"
		}, "tls.acme_tls_alpn_addr: must use the same host"},
		{"acme port", func(c *Config) { c.TLS.ACME, c.TLS.ACMEHTTPAddr = true, "127.0.0.1" }, "tls.acme_http_addr"},
		{"acme off ignores", func(c *Config) { c.TLS.ACMEHTTPAddr = "junk" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Hostname = "mail.example.org"
			tt.mod(cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAllowlistPrefixes(t *testing.T) {
	s := Security{Allowlist: []string{"127.0.0.1", "::ffff:10.0.0.1", "192.0.2.77/24", "2001:db8::1/64"}}
	want := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.1/32"),
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64"),
	}
	if got := s.AllowlistPrefixes(); !reflect.DeepEqual(got, want) {
		t.Errorf("AllowlistPrefixes = %v, want %v", got, want)
	}
}

// TestTLSPairs: cert/key come first, then [[tls.certificates]].
func TestTLSPairs(t *testing.T) {
	tl := TLS{Cert: "/a.pem", Key: "/a.key", Certificates: []CertKey{{"/b.pem", "/b.key"}}}
	want := []CertKey{{"/a.pem", "/a.key"}, {"/b.pem", "/b.key"}}
	if got := tl.Pairs(); !reflect.DeepEqual(got, want) {
		t.Errorf("Pairs = %v", got)
	}
	if got := (&TLS{}).ACMENames("mail.example.org"); !reflect.DeepEqual(got, []string{"mail.example.org"}) {
		t.Errorf("ACMENames = %v", got)
	}
}

// TestCertificatesTable: [[tls.certificates]] keys are known, and a typo
// inside the array of tables is an error like anywhere else.
func TestCertificatesTable(t *testing.T) {
	known := make(map[string]reflect.Type)
	collectKeys(reflect.TypeOf(Config{}), nil, known)
	for _, k := range []string{"tls.certificates", "tls.certificates.cert", "tls.certificates.key", "tls.acme_domains", "security.allowlist", "security.ban_after"} {
		if _, ok := known[k]; !ok {
			t.Errorf("key %q not known", k)
		}
	}
	_, err := Load(writeConfig(t, "hostname = \"mail.example.org\"\n[[tls.certificates]]\ncert = \"a.pem\"\nkye = \"a.key\"\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown key "tls.certificates.kye"`) {
		t.Errorf("Load = %v", err)
	}
}

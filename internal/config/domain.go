package config

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Domain returns the mail domain the hostname belongs to, for the
// postmaster account created at first start: the hostname without its
// first label when that label names a host inside a registrable domain
// ("mail.example.org" gives "example.org"), else the hostname itself
// ("example.org", "example.co.uk", single-label names such as
// "localhost"). Registrable domains come from the Public Suffix List, so
// "example.co.uk" is kept whole.
func (cfg *Config) Domain() string {
	host := strings.TrimSuffix(strings.ToLower(cfg.Hostname), ".")
	first, rest, ok := strings.Cut(host, ".")
	if !ok || first == "" {
		return host
	}
	registrable, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil || registrable == host {
		// host is itself registrable, or a public suffix.
		return host
	}
	return rest
}

package tlsutil

import (
	"crypto/tls"
	"slices"
)

// acmeTLSALPN is the ALPN protocol of TLS-ALPN-01 challenges (RFC 8737
// section 6.2).
const acmeTLSALPN = "acme-tls/1"

// Selector picks each handshake's certificate: ACME's for the names ACME
// manages (once obtained), else the static pairs' by SNI.
type Selector struct {
	// Static holds the configured pairs, or the self-signed one; it
	// answers whatever ACME cannot (yet).
	Static *Certificates
	// ACME, when set, manages its domains.
	ACME *ACME
	// ACMEDefault gives clients that send no server name ACME's
	// certificate for its first domain: set it when no pair is
	// configured (Static holds only the self-signed certificate).
	ACMEDefault bool
}

// GetCertificate implements tls.Config.GetCertificate.
func (s *Selector) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if a := s.ACME; a != nil {
		h := hello
		if hello.ServerName == "" && s.ACMEDefault {
			cp := *hello
			cp.ServerName = a.domains[0]
			h = &cp
		}
		if a.Manages(h.ServerName) || slices.Contains(hello.SupportedProtos, acmeTLSALPN) {
			if cert, err := a.GetCertificate(h); err == nil {
				return cert, nil
			}
		}
	}
	return s.Static.GetCertificate(hello)
}

// ServerConfig returns the configuration of every TLS listener: TLS 1.2
// at least, Go's default cipher suites, certificates from s.
func (s *Selector) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.GetCertificate}
}

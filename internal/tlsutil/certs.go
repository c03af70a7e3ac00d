package tlsutil

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Pair names a PEM certificate file (the chain, leaf first) and its key.
type Pair struct {
	Cert, Key string
}

// Certificates serves several certificate pairs, each reloaded when its
// files change (see CertReloader), and picks one per handshake by the
// name the client asked for (SNI, RFC 6066 section 3).
type Certificates struct {
	pairs []*CertReloader
}

// NewCertificates loads every pair now; it fails if one does not load.
// The first pair is the default, for clients that send no name or a
// name no pair covers. logger may be nil.
func NewCertificates(pairs []Pair, logger *slog.Logger) (*Certificates, error) {
	if len(pairs) == 0 {
		return nil, errors.New("tls: no certificate")
	}
	c := &Certificates{}
	for _, p := range pairs {
		r, err := NewCertReloader(p.Cert, p.Key, logger)
		if err != nil {
			return nil, err
		}
		c.pairs = append(c.pairs, r)
	}
	return c, nil
}

// GetCertificate implements tls.Config.GetCertificate: the first pair
// whose certificate covers hello's server name and suits the client's
// signature algorithms and curves (so an ECDSA and an RSA pair for one
// name serve old and new clients alike), else the first pair that
// covers the name, else the default.
func (c *Certificates) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	certs := make([]*tls.Certificate, len(c.pairs))
	for i, r := range c.pairs {
		r.maybeReload()
		certs[i] = r.cert.Load()
	}
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if name == "" {
		return certs[0], nil
	}
	var covering *tls.Certificate
	for _, cert := range certs {
		if cert.Leaf == nil || cert.Leaf.VerifyHostname(name) != nil {
			continue
		}
		if hello.SupportsCertificate(cert) == nil {
			return cert, nil
		}
		if covering == nil {
			covering = cert
		}
	}
	if covering != nil {
		return covering, nil
	}
	return certs[0], nil
}

// ServerConfig returns a server configuration serving c, TLS 1.2 at
// least, with Go's default cipher suites.
func (c *Certificates) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

// String names the files, for logs.
func (c *Certificates) String() string {
	var b strings.Builder
	for i, r := range c.pairs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s", r.certFile)
	}
	return b.String()
}

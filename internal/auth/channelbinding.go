package auth

import (
	"crypto"
	_ "crypto/sha256" // crypto.SHA256 for tls-server-end-point
	_ "crypto/sha512" // crypto.SHA384, crypto.SHA512
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
)

// Channel binding ties a SCRAM-SHA-256-PLUS login to the TLS connection it
// runs on, so that a man in the middle who terminates TLS with another
// certificate (or relays the exchange into another connection) cannot
// complete it (RFC 5802 section 6, RFC 5056).

// channelBindingTypes reports which channel binding types conn offers.
//
// tls-exporter (RFC 9266) is offered on TLS 1.3 only. RFC 9266 section 3
// allows it on TLS 1.2 with the extended master secret, but clients
// differ there on whether the exporter's context is absent or empty
// (RFC 5705 tells the two apart; TLS 1.3 does not), and a binding that
// clients compute differently only fails logins. TLS 1.2 clients have
// tls-server-end-point.
//
// tls-server-end-point (RFC 5929 section 4) needs the certificate the
// server presented (Conn.ServerCertificate) and a signature algorithm
// that names one hash.
func channelBindingTypes(conn Conn) (exporter, endPoint bool) {
	if conn.TLS == nil {
		return false, false
	}
	exporter = conn.TLS.Version >= tls.VersionTLS13
	if conn.ServerCertificate != nil {
		_, err := endPointHash(conn.ServerCertificate)
		endPoint = err == nil
	}
	return exporter, endPoint
}

// channelBinding returns the channel binding data of type name on conn.
func channelBinding(conn Conn, name string) ([]byte, error) {
	exporter, endPoint := channelBindingTypes(conn)
	switch {
	case name == cbTLSExporter && exporter:
		// RFC 9266 section 2: 32 octets exported with the label
		// "EXPORTER-Channel-Binding" and an empty context (on TLS 1.3
		// an absent and an empty context are the same, RFC 8446 section
		// 7.5).
		return conn.TLS.ExportKeyingMaterial("EXPORTER-Channel-Binding", []byte{}, 32)
	case name == cbTLSServerEndPoint && endPoint:
		h, _ := endPointHash(conn.ServerCertificate)
		w := h.New()
		w.Write(conn.ServerCertificate.Raw)
		return w.Sum(nil), nil
	}
	return nil, fmt.Errorf("auth: channel binding type %q is not available on this connection", name)
}

// endPointHash is RFC 5929 section 4.1's choice of hash: the one of the
// certificate's signature algorithm, SHA-256 in place of MD5 and SHA-1;
// undefined for algorithms with no single hash (Ed25519).
func endPointHash(cert *x509.Certificate) (crypto.Hash, error) {
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.DSAWithSHA256, x509.ECDSAWithSHA256:
		return crypto.SHA256, nil
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return crypto.SHA384, nil
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("auth: tls-server-end-point is undefined for certificates signed with %v", cert.SignatureAlgorithm)
}

// CaptureCertificate returns, for one connection, a copy of a server TLS
// configuration that remembers which certificate the handshake presented,
// and a function that returns that certificate once the handshake is done
// (nil before, or when it cannot be told). crypto/tls does not report the
// server's own certificate in ConnectionState, and tls-server-end-point
// channel binding needs it: protocols handshake with the copy and put the
// result in Conn.ServerCertificate.
//
// The copy selects certificates as crypto/tls does: GetCertificate (for a
// client that sent SNI, or when there is no static certificate), then the
// first of Certificates that the client supports, then the first.
// GetConfigForClient, when set, is honoured, and the configuration it
// returns is captured the same way.
func CaptureCertificate(cfg *tls.Config) (*tls.Config, func() *x509.Certificate) {
	var chosen atomic.Pointer[tls.Certificate]
	capture := func(base *tls.Config) *tls.Config {
		c := base.Clone()
		c.Certificates = nil // so that crypto/tls always asks GetCertificate
		c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := selectCertificate(base, hello)
			if cert != nil {
				chosen.Store(cert)
			}
			return cert, err
		}
		return c
	}
	c := capture(cfg)
	if cfg.GetConfigForClient != nil {
		c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			conf, err := cfg.GetConfigForClient(hello)
			if conf == nil || err != nil {
				return conf, err
			}
			inner := capture(conf)
			inner.GetConfigForClient = nil
			return inner, nil
		}
	}
	return c, func() *x509.Certificate {
		cert := chosen.Load()
		if cert == nil {
			return nil
		}
		if cert.Leaf != nil {
			return cert.Leaf
		}
		if len(cert.Certificate) == 0 {
			return nil
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil
		}
		return leaf
	}
}

var errNoCertificates = errors.New("auth: the TLS configuration has no certificate")

// selectCertificate follows crypto/tls's Config.getCertificate.
func selectCertificate(c *tls.Config, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c.GetCertificate != nil && (len(c.Certificates) == 0 || hello.ServerName != "") {
		cert, err := c.GetCertificate(hello)
		if cert != nil || err != nil {
			return cert, err
		}
	}
	switch len(c.Certificates) {
	case 0:
		return nil, errNoCertificates
	case 1:
		return &c.Certificates[0], nil
	}
	for i := range c.Certificates {
		if hello.SupportsCertificate(&c.Certificates[i]) == nil {
			return &c.Certificates[i], nil
		}
	}
	return &c.Certificates[0], nil
}

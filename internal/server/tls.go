package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"postfach/internal/tlsutil"
)

// setupTLS prepares the configuration of every TLS listener: the
// configured pairs chosen by SNI (or a self-signed certificate), and
// ACME certificates for their names when [tls] acme is on. Files are
// reloaded when they change; ACME starts with Start.
func (s *Server) setupTLS() error {
	cfg := s.cfg
	var pairs []tlsutil.Pair
	for _, p := range cfg.TLS.Pairs() {
		pairs = append(pairs, tlsutil.Pair{Cert: p.Cert, Key: p.Key})
	}
	selfSigned := len(pairs) == 0
	if selfSigned {
		cert, key, err := tlsutil.SelfSigned(cfg.DataDir, cfg.Hostname)
		if err != nil {
			return fmt.Errorf("self-signed certificate: %w", err)
		}
		pairs = []tlsutil.Pair{{Cert: cert, Key: key}}
		if !cfg.TLS.ACME {
			s.certFP = fingerprint(cert)
		}
	}
	static, err := tlsutil.NewCertificates(pairs, s.log)
	if err != nil {
		return err
	}
	sel := &tlsutil.Selector{Static: static}
	if cfg.TLS.ACME {
		var roots *x509.CertPool
		if cfg.TLS.ACMECARoot != "" {
			b, err := os.ReadFile(cfg.TLS.ACMECARoot)
			if err != nil {
				return fmt.Errorf("tls.acme_ca_root: %w", err)
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(b) {
				return fmt.Errorf("tls.acme_ca_root: no PEM certificate in %s", cfg.TLS.ACMECARoot)
			}
		}
		a, err := tlsutil.NewACME(tlsutil.ACMEOptions{
			Domains:     cfg.TLS.ACMENames(cfg.Hostname),
			Email:       cfg.TLS.ACMEEmail,
			CA:          cfg.TLS.ACMECA,
			CARoots:     roots,
			StorageDir:  filepath.Join(cfg.DataDir, "acme"),
			HTTPAddr:    cfg.TLS.ACMEHTTPAddr,
			TLSALPNAddr: cfg.TLS.ACMETLSALPNAddr,
			Logger:      s.log,
		})
		if err != nil {
			return err
		}
		sel.ACME = a
		sel.ACMEDefault = selfSigned
		s.acme = a
	}
	s.TLS = sel.ServerConfig()
	return nil
}

// startACME begins getting and renewing certificates in the background.
func (s *Server) startACME() error {
	if s.acme == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.acme.Start(ctx); err != nil {
		cancel()
		return fmt.Errorf("acme: %w", err)
	}
	s.stopACME = func() {
		cancel()
		s.acme.Stop()
	}
	s.log.Info("ACME: certificates are obtained and renewed in the background",
		"domains", s.acme.Domains(), "ca", s.cfg.TLS.ACMECA,
		"http01", s.cfg.TLS.ACMEHTTPAddr, "tls_alpn01", s.cfg.TLS.ACMETLSALPNAddr)
	return nil
}

// acmeChallenges wraps an HTTP handler so that it also answers ACME
// HTTP-01 challenges: for an http listener on acme_http_addr's port,
// which ACME then cannot bind itself. Without ACME it returns h.
func (s *Server) acmeChallenges(h http.Handler) http.Handler {
	if s.acme == nil {
		return h
	}
	return s.acme.HTTPChallengeHandler(h)
}

// fingerprint is the SHA-256 of a PEM certificate file's first
// certificate, or "" when it cannot be read.
func fingerprint(certFile string) string {
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return ""
	}
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%X", sum[:])
}

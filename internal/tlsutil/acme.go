package tlsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
)

// ACMEOptions configure certificates from an ACME CA (RFC 8555).
type ACMEOptions struct {
	// Domains are the names to get certificates for.
	Domains []string
	// Email is the account's contact, for expiry notices; may be empty.
	Email string
	// CA is the directory URL.
	CA string
	// CARoots are the roots to trust for the CA's own TLS; nil means the
	// system's.
	CARoots *x509.CertPool
	// StorageDir keeps the account, keys and certificates.
	StorageDir string
	// HTTPAddr and TLSALPNAddr are where the CA's HTTP-01 (RFC 8555
	// section 8.3) and TLS-ALPN-01 (RFC 8737) checks arrive: host:port,
	// or "" to leave that challenge out. A listener is opened there only
	// while a challenge is answered. Their hosts must be equal.
	HTTPAddr, TLSALPNAddr string
	// RenewCheckInterval is how often certificates are checked for
	// renewal; default 10 minutes. A certificate renews when a third of
	// its lifetime is left (or when the CA's renewal information, RFC
	// 9773, says so).
	RenewCheckInterval time.Duration
	Logger             *slog.Logger
}

// ACME gets and renews certificates in the background, with certmagic.
type ACME struct {
	cfg     *certmagic.Config
	issuer  *certmagic.ACMEIssuer
	cache   *certmagic.Cache
	domains []string
	log     *slog.Logger
}

// NewACME prepares certificate management; Start begins it.
func NewACME(opts ACMEOptions) (*ACME, error) {
	if len(opts.Domains) == 0 {
		return nil, errors.New("tls: acme: no domains")
	}
	if opts.StorageDir == "" || opts.CA == "" {
		return nil, errors.New("tls: acme: storage directory and CA are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, httpPort, err := challengeAddr(opts.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("tls: acme http address: %w", err)
	}
	host2, tlsPort, err := challengeAddr(opts.TLSALPNAddr)
	if err != nil {
		return nil, fmt.Errorf("tls: acme tls-alpn address: %w", err)
	}
	if httpPort == 0 && tlsPort == 0 {
		return nil, errors.New("tls: acme: no challenge address")
	}
	if httpPort != 0 && tlsPort != 0 && host != host2 {
		return nil, errors.New("tls: acme: the challenge addresses must share one host")
	}
	if httpPort == 0 {
		host = host2
	}
	a := &ACME{log: opts.Logger}
	for _, d := range opts.Domains {
		a.domains = append(a.domains, strings.TrimSuffix(strings.ToLower(d), "."))
	}
	zlog := newZapLogger(opts.Logger, "acme")
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return a.cfg, nil },
		RenewCheckInterval: opts.RenewCheckInterval,
		Logger:             zlog,
	})
	a.cfg = certmagic.New(a.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: opts.StorageDir},
		Logger:  zlog,
		OnEvent: a.onEvent,
		// Let's Encrypt ended OCSP in 2025; stapling would only add
		// outbound requests to responders named in certificates.
		OCSP: certmagic.OCSPConfig{DisableStapling: true},
	})
	issuer := certmagic.NewACMEIssuer(a.cfg, certmagic.ACMEIssuer{
		CA:                      opts.CA,
		Email:                   opts.Email,
		Agreed:                  true,
		TrustedRoots:            opts.CARoots,
		DisableHTTPChallenge:    httpPort == 0,
		DisableTLSALPNChallenge: tlsPort == 0,
		ListenHost:              host,
		AltHTTPPort:             httpPort,
		AltTLSALPNPort:          tlsPort,
		Logger:                  zlog,
	})
	a.cfg.Issuers = []certmagic.Issuer{issuer}
	a.issuer = issuer
	return a, nil
}

// challengeAddr splits host:port; "" is off (port 0).
func challengeAddr(addr string) (host string, port int, err error) {
	if addr == "" {
		return "", 0, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err = strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return host, port, nil
}

// Start loads stored certificates and obtains missing ones in the
// background; renewals follow on their own until Stop. Errors here are
// only those found before talking to the CA; later failures are logged
// and retried with backoff.
func (a *ACME) Start(ctx context.Context) error {
	return a.cfg.ManageAsync(ctx, a.domains)
}

// Stop ends background renewal.
func (a *ACME) Stop() { a.cache.Stop() }

// Manages reports whether name is one of the ACME domains.
func (a *ACME) Manages(name string) bool {
	return slices.Contains(a.domains, strings.TrimSuffix(strings.ToLower(name), "."))
}

// Domains returns the managed names.
func (a *ACME) Domains() []string { return slices.Clone(a.domains) }

// GetCertificate implements tls.Config.GetCertificate for the managed
// names (and TLS-ALPN-01 challenge handshakes); it fails when no
// certificate is there yet.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.cfg.GetCertificate(hello)
}

func (a *ACME) onEvent(ctx context.Context, event string, data map[string]any) error {
	attrs := []any{"event", event}
	for _, k := range []string{"identifier", "renewal", "remaining", "issuer", "error"} {
		if v, ok := data[k]; ok {
			attrs = append(attrs, k, fmt.Sprint(v))
		}
	}
	switch event {
	case "cert_obtained":
		a.log.Info("ACME certificate obtained", attrs...)
	case "cert_failed":
		a.log.Error("ACME certificate failed", attrs...)
	case "cert_obtaining":
		a.log.Info("ACME certificate requested", attrs...)
	default:
		a.log.Debug("ACME event", attrs...)
	}
	return nil
}

// HTTPChallengeHandler wraps h so that it answers HTTP-01 challenges: for
// an HTTP listener of our own on the challenge port, which ACME then
// cannot bind.
func (a *ACME) HTTPChallengeHandler(h http.Handler) http.Handler {
	return a.issuer.HTTPChallengeHandler(h)
}

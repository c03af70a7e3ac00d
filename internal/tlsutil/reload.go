package tlsutil

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often, at most, a CertReloader looks at its
// files' modification times.
const DefaultCheckInterval = 5 * time.Second

// ServerConfig returns a server configuration with TLS 1.2 as the minimum
// version, Go's default cipher suites, and the certificate of certFile and
// keyFile, reloaded when the files change (see CertReloader). It fails when
// the files do not hold a usable pair now.
func ServerConfig(certFile, keyFile string) (*tls.Config, error) {
	r, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		return nil, err
	}
	return r.ServerConfig(), nil
}

// CertReloader serves a certificate from files and picks up replacements
// (an ACME client's renewal, an administrator's copy) without a restart:
// at most every DefaultCheckInterval, a handshake compares the files'
// modification times and sizes with those of the loaded pair and reloads
// on a change. A pair that fails to load (a renewal half done: new
// certificate, old key) is logged and retried at the next check; the
// previous certificate stays in use.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	interval          time.Duration
	now               func() time.Time

	cert      atomic.Pointer[tls.Certificate]
	lastCheck atomic.Int64 // unix nanoseconds

	mu         sync.Mutex // held by the one handshake that checks the files
	loaded     fileStamp  // of the pair in cert
	lastFailed fileStamp  // of the last pair that failed to load, to log once
}

// fileStamp identifies a version of the certificate and key files. The
// inode catches a replacement (rename over the file) that keeps size and
// modification time, as a renewal within one clock tick can.
type fileStamp struct {
	certMod, keyMod   int64
	certSize, keySize int64
	certIno, keyIno   uint64
}

// NewCertReloader loads the pair now and returns a reloader serving it.
// logger may be nil.
func NewCertReloader(certFile, keyFile string, logger *slog.Logger) (*CertReloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{
		certFile: certFile,
		keyFile:  keyFile,
		log:      logger,
		interval: DefaultCheckInterval,
		now:      time.Now,
	}
	st, err := r.stamp()
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: loading %s and %s: %w", certFile, keyFile, err)
	}
	r.cert.Store(&pair)
	r.loaded = st
	r.lastCheck.Store(r.now().UnixNano())
	return r, nil
}

// ServerConfig returns a new server configuration that takes its
// certificate from r.
func (r *CertReloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
	}
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cert.Load(), nil
}

// maybeReload checks the files when the interval has passed. Handshakes
// never wait for it: one checks, the others serve the current pair.
func (r *CertReloader) maybeReload() {
	now := r.now().UnixNano()
	if now-r.lastCheck.Load() < int64(r.interval) || !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if now-r.lastCheck.Load() < int64(r.interval) {
		return
	}
	r.lastCheck.Store(now)
	st, err := r.stamp()
	if err != nil || st == r.loaded {
		// A file missing for a moment (being replaced) is retried.
		return
	}
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if st != r.lastFailed {
			r.lastFailed = st
			r.log.Warn("changed TLS certificate does not load; keeping the previous one", "cert", r.certFile, "key", r.keyFile, "err", err)
		}
		return
	}
	r.cert.Store(&pair)
	r.loaded = st
	r.log.Info("TLS certificate reloaded", "cert", r.certFile)
}

func (r *CertReloader) stamp() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: %w", err)
	}
	return fileStamp{
		certMod: c.ModTime().UnixNano(), certSize: c.Size(), certIno: inode(c),
		keyMod: k.ModTime().UnixNano(), keySize: k.Size(), keyIno: inode(k),
	}, nil
}

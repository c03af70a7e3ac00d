package queue

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"postfach/internal/config"
)

// ConfigOptions returns the Options the configuration sets: hostname and
// the [queue] table, with root_ca_file's certificates added to the
// system's roots. The caller adds Resolver, Local and Logger.
func ConfigOptions(cfg *config.Config) (Options, error) {
	q := cfg.Queue
	o := Options{
		Hostname:       cfg.Hostname,
		Expiry:         q.Expiry,
		DelayWarning:   q.DelayWarning,
		BackoffInitial: q.BackoffInitial,
		BackoffMax:     q.BackoffMax,
		Concurrency:    q.Concurrency,
		PerDomain:      q.PerDomain,
		SMTPPort:       q.SMTPPort,
		MTASTSPort:     q.MTASTSPort,
	}
	if o.DelayWarning == 0 {
		o.DelayWarning = -1 // "0s" in the file: never
	}
	if q.RootCAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(q.RootCAFile)
		if err != nil {
			return o, fmt.Errorf("queue.root_ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("queue.root_ca_file: %s holds no PEM certificate", q.RootCAFile)
		}
		o.RootCAs = pool
	}
	return o, nil
}

// DataDirQueue is the queue directory of a data directory.
func DataDirQueue(dataDir string) string { return filepath.Join(dataDir, DirName) }

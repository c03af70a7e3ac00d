package config

import (
	"fmt"
	"time"
)

// Queue configures the outbound queue ([queue]): how long and how often
// mail for remote recipients is tried, and how many deliveries run at
// once. Its data is in <data_dir>/queue.
type Queue struct {
	// Expiry is how long a message is tried before it bounces with a
	// DSN (expiry). Default 120h (5 days; RFC 5321 section 4.5.4.1 asks
	// for 4-5 days).
	Expiry time.Duration `toml:"expiry"`
	// DelayWarning is the age at which a sender hears, once, that a
	// message is still queued (delay_warning; RFC 3461 NOTIFY=DELAY).
	// "0s" sends no warning. Default 4h.
	DelayWarning time.Duration `toml:"delay_warning"`
	// BackoffInitial is the wait after the first failed attempt,
	// doubled after each further one up to BackoffMax (backoff_initial,
	// backoff_max). Defaults 5m and 4h: retries at about 5m, 15m, 35m,
	// 75m, 2h35m, 5h15m, then every 4h.
	BackoffInitial time.Duration `toml:"backoff_initial"`
	BackoffMax     time.Duration `toml:"backoff_max"`
	// Concurrency bounds deliveries in flight (concurrency), PerDomain
	// those to one recipient domain (per_domain). Defaults 16 and 4.
	Concurrency int `toml:"concurrency"`
	PerDomain   int `toml:"per_domain"`
	// SMTPPort is the port of remote MX hosts (smtp_port). Default 25;
	// tests point it at a second server's port.
	SMTPPort int `toml:"smtp_port"`
	// MTASTSPort is the HTTPS port of MTA-STS policy hosts
	// (mta_sts_port). Default 443; for tests.
	MTASTSPort int `toml:"mta_sts_port"`
	// RootCAFile is a PEM file of CA certificates trusted besides the
	// system's for MX hosts' STARTTLS and MTA-STS policy hosts
	// (root_ca_file): a private CA, or a test's.
	RootCAFile string `toml:"root_ca_file"`
}

// Defaults of [queue]; internal/queue has the same values as its own
// defaults.
const (
	DefaultQueueExpiry         = 120 * time.Hour
	DefaultQueueDelayWarning   = 4 * time.Hour
	DefaultQueueBackoffInitial = 5 * time.Minute
	DefaultQueueBackoffMax     = 4 * time.Hour
	DefaultQueueConcurrency    = 16
	DefaultQueuePerDomain      = 4
)

// defaultQueue is the [queue] table's defaults.
func defaultQueue() Queue {
	return Queue{
		Expiry:         DefaultQueueExpiry,
		DelayWarning:   DefaultQueueDelayWarning,
		BackoffInitial: DefaultQueueBackoffInitial,
		BackoffMax:     DefaultQueueBackoffMax,
		Concurrency:    DefaultQueueConcurrency,
		PerDomain:      DefaultQueuePerDomain,
		SMTPPort:       25,
		MTASTSPort:     443,
	}
}

// validate checks the [queue] table; each error names its key.
func (q *Queue) validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("queue.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if q.Expiry < time.Minute {
		add("expiry", "%v is below 1m", q.Expiry)
	}
	if q.DelayWarning < 0 {
		add("delay_warning", "must not be negative")
	} else if q.DelayWarning >= q.Expiry && q.Expiry > 0 && q.DelayWarning != 0 {
		add("delay_warning", "%v is not below queue.expiry (%v); \"0s\" turns the warning off", q.DelayWarning, q.Expiry)
	}
	if q.BackoffInitial < time.Second {
		add("backoff_initial", "%v is below 1s", q.BackoffInitial)
	}
	if q.BackoffMax < q.BackoffInitial {
		add("backoff_max", "%v is below queue.backoff_initial (%v)", q.BackoffMax, q.BackoffInitial)
	}
	if q.Concurrency < 1 || q.Concurrency > 10000 {
		add("concurrency", "%d is out of range 1..10000", q.Concurrency)
	}
	if q.PerDomain < 1 {
		add("per_domain", "must be at least 1")
	}
	for _, p := range []struct {
		key  string
		port int
	}{{"smtp_port", q.SMTPPort}, {"mta_sts_port", q.MTASTSPort}} {
		if p.port < 1 || p.port > 65535 {
			add(p.key, "%d is not a port from 1 to 65535", p.port)
		}
	}
	return errs
}

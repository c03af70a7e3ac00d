package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Limits of the argon2id parameters Validate accepts. The lower bounds are
// the algorithm's (RFC 9106 section 3.1); the upper ones keep a typo from
// making every login allocate gigabytes or run for minutes.
const (
	maxArgon2MemoryKiB = 4 << 20 // 4 GiB
	maxArgon2Time      = 64

	minMinPasswordLength = 8
	maxMinPasswordLength = 128
	minSCRAMIterations   = 4096
	maxSCRAMIterations   = 10_000_000
)

// Validate checks the configuration and returns every problem found, each
// naming its TOML key.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if err := checkHostname(cfg.Hostname); err != nil {
		add("hostname", "%v", err)
	}
	if cfg.DataDir == "" {
		add("data_dir", "must not be empty")
	}

	// Listeners.
	seen := make(map[string]string) // normalized address -> key
	enabled := cfg.Listen.Enabled()
	served := 0
	for _, ln := range enabled {
		if _, missing := notImplemented(ln.Name); !missing {
			served++
		}
	}
	if served == 0 {
		add("listen", "no listener this version serves is set; set at least listen.imap or listen.imaps")
	}
	for _, ln := range enabled {
		key := "listen." + ln.Name
		norm, err := checkListenAddr(ln.Addr)
		if err != nil {
			add(key, "%v", err)
			continue
		}
		if norm == "" {
			continue // port 0: every listener gets its own port
		}
		if other, dup := seen[norm]; dup {
			add(key, "address %s is also used by listen.%s", ln.Addr, other)
			continue
		}
		seen[norm] = ln.Name
	}

	if (cfg.TLS.Cert == "") != (cfg.TLS.Key == "") {
		if cfg.TLS.Cert == "" {
			add("tls.cert", "tls.key is set but tls.cert is not; set both, or neither for a self-signed certificate")
		} else {
			add("tls.key", "tls.cert is set but tls.key is not; set both, or neither for a self-signed certificate")
		}
	}

	for i, ns := range cfg.DNS.Nameservers {
		if err := checkNameserver(ns); err != nil {
			add(fmt.Sprintf("dns.nameservers[%d]", i), "%v", err)
		}
	}

	l := &cfg.Limits
	if l.MaxLineLength < 8192 {
		// RFC 7162 section 4: clients send command lines of about 8192
		// octets; a smaller limit breaks CONDSTORE/QRESYNC clients.
		add("limits.max_line_length", "%d is below 8192, the line length RFC 7162 section 4 expects servers to accept", l.MaxLineLength)
	}
	if l.MaxLiteralSize <= 0 {
		add("limits.max_literal_size", "must be positive")
	}
	if l.MaxMessageSize < 1024 {
		add("limits.max_message_size", "%d is too small; at least 1 KiB", l.MaxMessageSize)
	}
	if l.MaxConnections <= 0 {
		add("limits.max_connections", "must be positive")
	}
	if l.MaxConnectionsPerIP <= 0 {
		add("limits.max_connections_per_ip", "must be positive")
	} else if l.MaxConnections > 0 && l.MaxConnectionsPerIP > l.MaxConnections {
		add("limits.max_connections_per_ip", "%d exceeds limits.max_connections (%d)", l.MaxConnectionsPerIP, l.MaxConnections)
	}
	if l.IdleTimeout < MinIdleTimeout {
		// RFC 9051 section 5.4, RFC 2177 section 3.
		add("limits.idle_timeout", "%v is below 30m, the minimum RFC 9051 section 5.4 sets for authenticated sessions", l.IdleTimeout)
	}
	if l.LoginTimeout <= 0 {
		add("limits.login_timeout", "must be positive")
	}
	if l.WriteTimeout <= 0 {
		add("limits.write_timeout", "must be positive")
	}

	a := &cfg.Auth
	if a.Time < 1 || a.Time > maxArgon2Time {
		add("auth.time", "%d is out of range 1..%d", a.Time, maxArgon2Time)
	}
	if a.Threads < 1 {
		add("auth.threads", "must be at least 1")
	}
	// RFC 9106 section 3.1: memory is at least 8 KiB per lane.
	if a.MemoryKiB < 8*uint32(max(a.Threads, 1)) || a.MemoryKiB > maxArgon2MemoryKiB {
		add("auth.memory_kib", "%d is out of range %d..%d", a.MemoryKiB, 8*uint32(max(a.Threads, 1)), maxArgon2MemoryKiB)
	}
	if a.MinPasswordLength < minMinPasswordLength || a.MinPasswordLength > maxMinPasswordLength {
		// NIST SP 800-63B: never fewer than 8 characters.
		add("auth.min_password_length", "%d is out of range %d..%d", a.MinPasswordLength, minMinPasswordLength, maxMinPasswordLength)
	}
	if a.SCRAMIterations < minSCRAMIterations || a.SCRAMIterations > maxSCRAMIterations {
		// RFC 7677 section 4: at least 4096.
		add("auth.scram_iterations", "%d is out of range %d..%d", a.SCRAMIterations, minSCRAMIterations, maxSCRAMIterations)
	}

	errs = append(errs, cfg.POP3.validate()...)
	errs = append(errs, cfg.Security.validate()...)
	errs = append(errs, cfg.TLS.validate(cfg.Hostname)...)
	errs = append(errs, cfg.Queue.validate()...)
	errs = append(errs, cfg.validateSMTP()...)

	switch strings.ToLower(cfg.Log.Level) {
	case "debug", "info", "warn", "warning", "error":
	default:
		add("log.level", "%q is not one of debug, info, warn, error", cfg.Log.Level)
	}
	switch strings.ToLower(cfg.Log.Format) {
	case "text", "json":
	default:
		add("log.format", "%q is not one of text, json", cfg.Log.Format)
	}

	m := &cfg.MTASTS
	switch m.Mode {
	case "enforce", "testing", "none":
	default:
		// RFC 8461 section 3.2: the policy's mode is one of these three.
		add("mta_sts.mode", "%q is not one of enforce, testing, none", m.Mode)
	}
	for i, mx := range m.MX {
		// RFC 8461 section 4.1: a pattern is a name or "*." and a name.
		if err := checkDNSName(strings.TrimPrefix(mx, "*.")); err != nil {
			add(fmt.Sprintf("mta_sts.mx[%d]", i), "%q: %v", mx, err)
		}
	}
	if m.MaxAge <= 0 || m.MaxAge > MaxMTASTSMaxAge {
		add("mta_sts.max_age", "%v is out of range 1s..%v (RFC 8461 section 3.2)", m.MaxAge, MaxMTASTSMaxAge)
	}

	return errors.Join(errs...)
}

// MaxMTASTSMaxAge is the longest max_age RFC 8461 section 3.2 allows:
// 31557600 seconds, about a year.
const MaxMTASTSMaxAge = 31557600 * time.Second

// checkListenAddr checks a host:port and returns a normalized form to
// detect two listeners on one address, or "" for port 0.
func checkListenAddr(addr string) (string, error) {
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		return checkUnixListen(path) // LMTP (smtp.go)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port: %v", addr, unwrapAddrErr(err))
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if p == 0 {
		return "", nil
	}
	switch {
	case host == "":
		// All addresses.
	case strings.Contains(host, "%"):
		// An IPv6 zone (fe80::1%eth0): netip parses it.
		if _, err := netip.ParseAddr(host); err != nil {
			return "", fmt.Errorf("%q: invalid host %q", addr, host)
		}
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.Unmap().String()
		} else if err := checkDNSName(host); err != nil {
			return "", fmt.Errorf("%q: host %q is neither an IP address nor a valid name", addr, host)
		} else {
			host = strings.ToLower(host)
		}
	}
	return net.JoinHostPort(host, strconv.FormatUint(p, 10)), nil
}

// unwrapAddrErr drops the address that net.AddrError repeats.
func unwrapAddrErr(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

// checkNameserver wants an IP:port: a resolver cannot be found by name.
func checkNameserver(s string) error {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return fmt.Errorf("%q is not an IP:port such as 192.0.2.53:53 or [2001:db8::53]:53", s)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("%q: port 0", s)
	}
	return nil
}

// checkHostname wants a DNS name, not an address.
func checkHostname(h string) error {
	if h == "" {
		return errors.New("must not be empty")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Errorf("%q is an IP address; use the server's DNS name", h)
	}
	if err := checkDNSName(h); err != nil {
		return fmt.Errorf("%q: %v", h, err)
	}
	return nil
}

// checkDNSName checks host name syntax (RFC 1123 section 2.1: letters,
// digits and hyphens, labels of 1-63 octets not starting or ending with a
// hyphen, at most 253 octets). A trailing dot is allowed.
func checkDNSName(name string) error {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 octets")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q longer than 63 octets", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("label %q has character %q; use letters, digits and hyphens (A-labels for IDNs)", label, c)
			}
		}
	}
	return nil
}

package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SMTP configures the SMTP and LMTP servers ([smtp]). Their listeners are
// listen.smtp (MX, port 25, STARTTLS offered), listen.submission (port
// 587, STARTTLS required before AUTH), listen.submissions (port 465,
// implicit TLS) and listen.lmtp (host:port, or "unix:/path" for a unix
// socket). Message size is limits.max_message_size, as for IMAP APPEND.
type SMTP struct {
	// MaxRecipients bounds RCPT TO commands per message
	// (max_recipients); more get 452 4.5.3. Default 100, the least RFC
	// 5321 section 4.5.3.1.8 lets a server accept.
	MaxRecipients int `toml:"max_recipients"`
	// MaxCommandLength bounds a command line, CRLF included
	// (max_command_length). A longer line gets 500 5.5.2 and the session
	// goes on. Default 4 KiB; at least 512 (RFC 5321 section
	// 4.5.3.1.4). Lines of message data are not bounded.
	MaxCommandLength ByteSize `toml:"max_command_length"`
	// Timeout is how long the server waits for the next command, or for
	// more message data, before it ends the session (timeout). Default
	// 5m (RFC 5321 section 4.5.3.2.7).
	Timeout time.Duration `toml:"timeout"`
	// SubaddressDelimiter separates a local part from a tag: mail for
	// alice+news@ goes to alice@ (subaddress_delimiter). Several
	// characters mean any of them ("+-"); "" turns subaddressing off.
	// Default "+".
	SubaddressDelimiter string `toml:"subaddress_delimiter"`
	// LMTPTrustedNetworks lists the client networks (CIDR) that may use
	// a TCP listen.lmtp (lmtp_trusted_networks); LMTP has no
	// authentication. Default loopback: ["127.0.0.0/8", "::1/128"].
	// A unix socket is guarded by its file mode instead.
	LMTPTrustedNetworks []string `toml:"lmtp_trusted_networks"`
	// LMTPSocketMode is the permission of a unix listen.lmtp socket, in
	// octal (lmtp_socket_mode). Default "0666", as Dovecot: an MTA running
	// as another user (Postfix) must be able to connect.
	LMTPSocketMode string `toml:"lmtp_socket_mode"`
	// MaxMessagesPerHour and MaxRecipientsPerHour bound what one account
	// may submit in any hour (max_messages_per_hour,
	// max_recipients_per_hour), so that a stolen password cannot spray
	// the world; past them the answer is 451 4.7.1 / 450 4.7.1 until the
	// hour has moved on. 0 turns a limit off. Defaults 200 and 1000.
	MaxMessagesPerHour   int `toml:"max_messages_per_hour"`
	MaxRecipientsPerHour int `toml:"max_recipients_per_hour"`
}

// Defaults of [smtp].
const (
	DefaultSMTPMaxRecipients        = 100
	DefaultSMTPMaxCommandLength     = 4 << 10
	DefaultSMTPTimeout              = 5 * time.Minute
	DefaultSubaddressDelimiter      = "+"
	DefaultLMTPSocketMode           = "0666"
	DefaultSMTPMaxMessagesPerHour   = 200
	DefaultSMTPMaxRecipientsPerHour = 1000

	// minSMTPCommandLength is RFC 5321 section 4.5.3.1.4's command line.
	minSMTPCommandLength = 512
)

// defaultSMTP is the [smtp] table's defaults.
func defaultSMTP() SMTP {
	return SMTP{
		MaxRecipients:        DefaultSMTPMaxRecipients,
		MaxCommandLength:     DefaultSMTPMaxCommandLength,
		Timeout:              DefaultSMTPTimeout,
		SubaddressDelimiter:  DefaultSubaddressDelimiter,
		LMTPTrustedNetworks:  []string{"127.0.0.0/8", "::1/128"},
		LMTPSocketMode:       DefaultLMTPSocketMode,
		MaxMessagesPerHour:   DefaultSMTPMaxMessagesPerHour,
		MaxRecipientsPerHour: DefaultSMTPMaxRecipientsPerHour,
	}
}

// TrustedNetworks parses lmtp_trusted_networks (Validate checked them).
func (s *SMTP) TrustedNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range s.LMTPTrustedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// SocketMode parses lmtp_socket_mode (Validate checked it).
func (s *SMTP) SocketMode() uint32 {
	m, err := strconv.ParseUint(s.LMTPSocketMode, 8, 32)
	if err != nil {
		return 0o666
	}
	return uint32(m)
}

// validateSMTP checks the [smtp] table and the listeners only LMTP may
// give as unix sockets; each error names its key.
func (cfg *Config) validateSMTP() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("smtp.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	s := &cfg.SMTP
	if s.MaxRecipients < 1 {
		add("max_recipients", "must be at least 1")
	}
	if s.MaxCommandLength < minSMTPCommandLength {
		add("max_command_length", "%d is below 512, the command line RFC 5321 section 4.5.3.1.4 requires servers to accept", s.MaxCommandLength)
	} else if s.MaxCommandLength > 1<<20 {
		add("max_command_length", "%d is above 1 MiB", s.MaxCommandLength)
	}
	if s.Timeout < time.Second {
		add("timeout", "%v is below 1s", s.Timeout)
	}
	for _, r := range s.SubaddressDelimiter {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`@."\<>()[],;:`, r) {
			add("subaddress_delimiter", "%q cannot separate a tag in an address", r)
		}
	}
	for i, n := range s.LMTPTrustedNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			add(fmt.Sprintf("lmtp_trusted_networks[%d]", i), "%q is not a network such as 127.0.0.0/8 or ::1/128", n)
		}
	}
	if m, err := strconv.ParseUint(s.LMTPSocketMode, 8, 32); err != nil || m > 0o777 {
		add("lmtp_socket_mode", "%q is not an octal permission such as \"0660\"", s.LMTPSocketMode)
	}
	if s.MaxMessagesPerHour < 0 {
		add("max_messages_per_hour", "must not be negative (0 turns the limit off)")
	}
	if s.MaxRecipientsPerHour < 0 {
		add("max_recipients_per_hour", "must not be negative (0 turns the limit off)")
	}
	for _, ln := range cfg.Listen.Enabled() {
		if strings.HasPrefix(ln.Addr, unixPrefix) && ln.Name != "lmtp" {
			errs = append(errs, fmt.Errorf("listen.%s: only listen.lmtp may be a unix socket", ln.Name))
		}
	}
	return errs
}

// unixPrefix marks a unix socket path in a [listen] value.
const unixPrefix = "unix:"

// checkUnixListen checks the path of "unix:/path" and returns the
// normalized form that detects two listeners on one socket.
func checkUnixListen(path string) (string, error) {
	if path == "" || !filepath.IsAbs(path) {
		return "", fmt.Errorf("unix socket path %q must be absolute", path)
	}
	if len(path) > 107 {
		// sockaddr_un.sun_path holds 108 octets, NUL included.
		return "", errors.New("unix socket path longer than 107 octets")
	}
	return unixPrefix + filepath.Clean(path), nil
}

// Network returns what to listen on: "unix" and a path for
// "unix:/path", else "tcp" and host:port.
func (l Listener) Network() (network, address string) {
	if p, ok := strings.CutPrefix(l.Addr, unixPrefix); ok {
		return "unix", p
	}
	return "tcp", l.Addr
}

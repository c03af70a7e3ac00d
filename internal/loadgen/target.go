package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Protocol is a mail protocol the load generator speaks.
type Protocol string

// The protocols.
const (
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
	SMTP Protocol = "smtp"
	LMTP Protocol = "lmtp"
)

// TLSMode says how a connection gets encrypted.
type TLSMode string

// The TLS modes.
const (
	// NoTLS speaks the protocol in clear text.
	NoTLS TLSMode = "none"
	// StartTLS upgrades in the protocol: IMAP STARTTLS (RFC 9051 section
	// 6.2.1), POP3 STLS (RFC 2595 section 4), SMTP STARTTLS (RFC 3207).
	StartTLS TLSMode = "starttls"
	// ImplicitTLS starts TLS before the protocol (RFC 8314 section 3.3).
	ImplicitTLS TLSMode = "implicit"
)

// Target is one server endpoint: a protocol, a loopback address and how
// to encrypt.
type Target struct {
	Protocol Protocol
	// Addr is an IP literal and port; ParseTarget accepts only loopback
	// addresses.
	Addr netip.AddrPort
	TLS  TLSMode
}

// String renders the target in the form ParseTarget reads.
func (t Target) String() string {
	if !t.Addr.IsValid() {
		return ""
	}
	scheme := string(t.Protocol)
	switch t.TLS {
	case ImplicitTLS:
		scheme += "s"
	case StartTLS:
		scheme += "+starttls"
	}
	return scheme + "://" + t.Addr.String()
}

// schemes maps URL schemes to protocol and TLS mode.
var schemes = map[string]struct {
	p Protocol
	m TLSMode
}{
	"imap": {IMAP, NoTLS}, "imap+starttls": {IMAP, StartTLS}, "imaps": {IMAP, ImplicitTLS},
	"pop3": {POP3, NoTLS}, "pop3+starttls": {POP3, StartTLS}, "pop3s": {POP3, ImplicitTLS},
	"smtp": {SMTP, NoTLS}, "smtp+starttls": {SMTP, StartTLS}, "smtps": {SMTP, ImplicitTLS},
	"lmtp": {LMTP, NoTLS}, "lmtp+starttls": {LMTP, StartTLS},
}

// ParseTarget reads "scheme://host:port" or "host:port" (then proto and
// clear text). Schemes: imap, imap+starttls, imaps, pop3, pop3+starttls,
// pop3s, smtp, smtp+starttls, smtps, lmtp, lmtp+starttls. The host must
// be a loopback IP literal or "localhost" (taken as 127.0.0.1, never
// resolved): the tool sends load to this machine only.
func ParseTarget(proto Protocol, s string) (Target, error) {
	t := Target{Protocol: proto, TLS: NoTLS}
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		sc, known := schemes[strings.ToLower(scheme)]
		if !known {
			return Target{}, fmt.Errorf("%q: unknown scheme %q", s, scheme)
		}
		if sc.p != proto {
			return Target{}, fmt.Errorf("%q: a %s target, not %s", s, sc.p, proto)
		}
		t.TLS = sc.m
		rest = strings.TrimSuffix(after, "/")
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return Target{}, fmt.Errorf("%q: %v", s, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return Target{}, fmt.Errorf("%q: bad port %q", s, port)
	}
	var ip netip.Addr
	if strings.EqualFold(host, "localhost") {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	} else if ip, err = netip.ParseAddr(host); err != nil {
		return Target{}, fmt.Errorf("%q: the host must be a loopback IP address or localhost, not %q", s, host)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() {
		return Target{}, fmt.Errorf("%q: %s is not a loopback address; the load generator only targets this machine", s, ip)
	}
	t.Addr = netip.AddrPortFrom(ip, uint16(p))
	return t, nil
}

// dialer opens connections to targets from a set of loopback source
// addresses (127.0.0.1 to 127.0.0.sources): as a real user's client comes
// from its own machine, a client connects from an address chosen by its
// number. Many thousands of connections then need neither more than one
// address's ephemeral ports nor look, to a server's per-address limits
// and login guard, like one host opening them all.
type dialer struct {
	tls     *tls.Config
	sources int // number of 127.0.0.x source addresses; 0 or 1: the kernel picks
	timeout time.Duration
}

// DefaultSources is the number of source addresses when none is set.
const DefaultSources = 250

// localAddr picks the source address of client from for a connection to
// dst.
func (d *dialer) localAddr(dst netip.Addr, from int) *net.TCPAddr {
	if d.sources <= 1 || !dst.Is4() {
		return nil
	}
	if from < 0 {
		from = -from
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+from%d.sources))}
}

// dial connects client from to the target, with implicit TLS when the
// target asks for it. STARTTLS is the protocol client's business.
func (d *dialer) dial(ctx context.Context, t Target, from int) (net.Conn, error) {
	nd := &net.Dialer{Timeout: d.timeout, LocalAddr: d.localAddr(t.Addr.Addr(), from)}
	conn, err := nd.DialContext(ctx, "tcp", t.Addr.String())
	if err != nil {
		return nil, err
	}
	if t.TLS == ImplicitTLS {
		return d.handshake(ctx, conn)
	}
	return conn, nil
}

// handshake runs a client TLS handshake on conn.
func (d *dialer) handshake(ctx context.Context, conn net.Conn) (net.Conn, error) {
	tc := tls.Client(conn, d.tls)
	hctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

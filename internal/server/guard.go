package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"postfach/internal/config"
	"postfach/internal/guard"
)

// guardPolicy turns the [security] table into the guard's policy.
func guardPolicy(sec config.Security) guard.Policy {
	return guard.Policy{
		Window:             sec.Window,
		Delay:              sec.Delay,
		MaxDelay:           sec.MaxDelay,
		MaxDelayed:         sec.MaxDelayed,
		Address:            guard.Thresholds{DelayAfter: sec.DelayAfter, BanAfter: sec.BanAfter},
		Network:            guard.Thresholds{DelayAfter: sec.NetworkDelayAfter, BanAfter: sec.NetworkBanAfter},
		Site:               guard.Thresholds{DelayAfter: sec.SiteDelayAfter, BanAfter: sec.SiteBanAfter},
		AccountDelayAfter:  sec.AccountDelayAfter,
		AccountMaxInFlight: sec.AccountMaxInFlight,
		BanDuration:        sec.BanDuration,
		KnownTTL:           sec.KnownAddressTTL,
		Allowlist:          sec.AllowlistPrefixes(),
	}
}

// setupGuard creates the login guard over the store's guard tables and
// loads the bans and known addresses.
func (s *Server) setupGuard() error {
	g, err := guard.New(guard.Options{Policy: guardPolicy(s.cfg.Security), Store: s.Store, Logger: s.log})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Load(ctx); err != nil {
		return fmt.Errorf("loading bans: %w", err)
	}
	s.Guard = g
	return nil
}

// startGuard runs the guard's persistence and polling until stopGuard.
func (s *Server) startGuard() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Guard.Run(ctx)
	}()
	s.stopGuard = func() {
		cancel()
		<-done
	}
}

// guardedListener reports whether banned addresses are refused at accept
// time on a listener: those that take logins. The MX (smtp) and lmtp
// listeners take mail without logins; a ban for guessing passwords does
// not refuse mail.
func guardedListener(name string) bool {
	switch name {
	case "smtp", "lmtp":
		return false
	}
	return true
}

// refuseBanned closes a connection from a banned address at once, with
// a one-line goodbye on plaintext listeners (nothing on implicit TLS:
// no handshake is spent on it).
func (s *Server) refuseBanned(l config.Listener, conn net.Conn) {
	var line string
	if !l.ImplicitTLS {
		const text = "Too many failed logins from your address; try again later"
		switch l.Name {
		case "imap":
			line = "* BYE [UNAVAILABLE] " + text + "\r\n"
		case "pop3":
			// RFC 3206 section 4: SYS/TEMP, a temporary problem.
			line = "-ERR [SYS/TEMP] " + text + "\r\n"
		case "submission":
			// RFC 5321 section 3.8: 421 closes the channel.
			line = "421 4.7.0 " + s.cfg.Hostname + " " + text + "\r\n"
		}
	}
	if line != "" {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, line)
	}
	conn.Close()
}

// remoteAddr is a connection's client address; invalid when it has none.
func remoteAddr(conn net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

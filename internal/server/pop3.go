package server

import (
	"context"
	"fmt"
	"net"

	"postfach/internal/pop3"
	"postfach/internal/store"
)

// setupPOP3 prepares the POP3 server for the pop3 (STLS) and pop3s
// (implicit TLS) listeners. Sessions share [limits] with IMAP: the line
// length, and idle_timeout as RFC 1939's autologout timer (at least 10
// minutes; idle_timeout is at least 30).
func (s *Server) setupPOP3() error {
	cfg := s.cfg
	policy := store.POP3Policy(cfg.POP3.DeletePolicy)
	if !policy.Valid() {
		return fmt.Errorf("pop3.delete_policy: %q is not one of expunge, trash, flag", cfg.POP3.DeletePolicy)
	}
	srv := &pop3.Server{
		Store:  s.Store,
		Auth:   s.Auth,
		TLS:    s.TLS,
		Logger: s.log,
		Limits: pop3.Limits{
			MaxLineLength: int(cfg.Limits.MaxLineLength),
			IdleTimeout:   cfg.Limits.IdleTimeout,
			LoginTimeout:  cfg.Limits.LoginTimeout,
			WriteTimeout:  cfg.Limits.WriteTimeout,
		},
		DeletePolicy: policy,
		MarkSeen:     cfg.POP3.MarkSeen,
	}
	s.handlers["pop3"] = func(ctx context.Context, conn net.Conn) { srv.ServeConn(ctx, conn, false) }
	s.handlers["pop3s"] = func(ctx context.Context, conn net.Conn) { srv.ServeConn(ctx, conn, true) }
	s.shutdowns = append(s.shutdowns, srv.Shutdown)
	return nil
}

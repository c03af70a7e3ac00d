package server

import (
	"context"
	"net"
	"os"
	"path/filepath"

	"postfach/internal/imap"
)

// setupIMAP prepares the IMAP server for the imap (STARTTLS) and imaps
// (implicit TLS) listeners.
func (s *Server) setupIMAP() error {
	cfg := s.cfg
	s.IMAP = &imap.Server{
		Store:  s.Store,
		Auth:   s.Auth,
		Hub:    s.Hub,
		TLS:    s.TLS,
		Logger: s.log,
		Limits: imap.Limits{
			MaxLineLength:  int(cfg.Limits.MaxLineLength),
			MaxLiteralSize: int64(cfg.Limits.MaxLiteralSize),
			MaxMessageSize: int64(cfg.Limits.MaxMessageSize),
			IdleTimeout:    cfg.Limits.IdleTimeout,
			LoginTimeout:   cfg.Limits.LoginTimeout,
			WriteTimeout:   cfg.Limits.WriteTimeout,
		},
		SpoolDir: filepath.Join(cfg.DataDir, "tmp"),
	}
	if err := os.MkdirAll(s.IMAP.SpoolDir, 0o700); err != nil {
		return err
	}
	s.handlers["imap"] = func(ctx context.Context, conn net.Conn) { s.IMAP.ServeConn(ctx, conn, false) }
	s.handlers["imaps"] = func(ctx context.Context, conn net.Conn) { s.IMAP.ServeConn(ctx, conn, true) }
	s.shutdowns = append(s.shutdowns, s.IMAP.Shutdown)
	return nil
}

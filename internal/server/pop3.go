package server

// setupPOP3 prepares the POP3 server for the pop3 (STLS) and pop3s
// (implicit TLS) listeners.
func (s *Server) setupPOP3() error {
	return nil
}

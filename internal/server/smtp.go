package server

// setupSMTP prepares SMTP for the smtp (MX), submission, submissions and
// lmtp listeners, and the outbound queue.
func (s *Server) setupSMTP() error {
	return nil
}

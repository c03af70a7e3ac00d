package server

// setupHTTP prepares the http listener (autoconfig, autodiscover, MTA-STS).
func (s *Server) setupHTTP() error {
	return nil
}

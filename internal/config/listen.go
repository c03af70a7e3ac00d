package config

// Listener is one configured listening address.
type Listener struct {
	// Name is the TOML key under [listen]: "imap", "imaps", ...
	Name string
	// Addr is the host:port to listen on.
	Addr string
	// ImplicitTLS is true for ports where TLS starts before the protocol
	// (RFC 8314: imaps, pop3s, submissions).
	ImplicitTLS bool
}

// listeners returns every listener field with its key, in a fixed order.
func (l *Listen) listeners() []Listener {
	return []Listener{
		{Name: "imap", Addr: l.IMAP},
		{Name: "imaps", Addr: l.IMAPS, ImplicitTLS: true},
		{Name: "pop3", Addr: l.POP3},
		{Name: "pop3s", Addr: l.POP3S, ImplicitTLS: true},
		{Name: "submission", Addr: l.Submission},
		{Name: "submissions", Addr: l.Submissions, ImplicitTLS: true},
		{Name: "smtp", Addr: l.SMTP},
		{Name: "lmtp", Addr: l.LMTP},
		{Name: "http", Addr: l.HTTP},
	}
}

// Enabled returns the listeners that are set, in the order imap, imaps,
// pop3, pop3s, submission, submissions, smtp, lmtp, http.
func (l *Listen) Enabled() []Listener {
	var out []Listener
	for _, ln := range l.listeners() {
		if ln.Addr != "" {
			out = append(out, ln)
		}
	}
	return out
}

// notImplemented names the protocols this version cannot serve, by their
// [listen] key. Validate rejects a listener for any of them, so that a
// configured port is never silently left closed. The work that implements
// a protocol removes its entry here.
func notImplemented(name string) (protocol string, missing bool) {
	switch name {
	case "pop3", "pop3s":
		return "POP3", true
	case "submission", "submissions":
		return "SMTP submission", true
	case "smtp":
		return "SMTP", true
	case "lmtp":
		return "LMTP", true
	case "http":
		return "HTTP", true
	}
	return "", false
}

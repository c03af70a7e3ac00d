package config

// Listener is one configured listening address.
type Listener struct {
	// Name is the TOML key under [listen]: "imap", "imaps", ...
	Name string
	// Addr is the host:port to listen on.
	Addr string
	// ImplicitTLS is true for ports where TLS starts before the protocol
	// (RFC 8314: imaps, pop3s, submissions; and https).
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
		{Name: "https", Addr: l.HTTPS, ImplicitTLS: true},
	}
}

// Enabled returns the listeners that are set, in the order imap, imaps,
// pop3, pop3s, submission, submissions, smtp, lmtp, http, https.
func (l *Listen) Enabled() []Listener {
	var out []Listener
	for _, ln := range l.listeners() {
		if ln.Addr != "" {
			out = append(out, ln)
		}
	}
	return out
}

// Served returns the enabled listeners this version serves.
func (l *Listen) Served() []Listener {
	var out []Listener
	for _, ln := range l.Enabled() {
		if _, missing := notImplemented(ln.Name); !missing {
			out = append(out, ln)
		}
	}
	return out
}

// Warnings lists what the configuration asks for that this version does
// not do: a listener for a protocol not implemented yet stays closed. The
// server logs each warning and prints it at start, so a configured port
// is never silently left closed, while a configuration shared with a
// newer version still starts.
func (cfg *Config) Warnings() []string {
	var out []string
	for _, ln := range cfg.Listen.Enabled() {
		if proto, missing := notImplemented(ln.Name); missing {
			out = append(out, "listen."+ln.Name+": "+proto+" is not implemented in this version; the listener stays closed")
		}
	}
	return out
}

// notImplemented names the protocols this version cannot serve, by their
// [listen] key. The work that implements a protocol removes its entry
// here.
func notImplemented(name string) (protocol string, missing bool) {
	// Every listener of this version is served.
	return "", false
}

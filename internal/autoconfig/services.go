package autoconfig

import (
	"cmp"
	"slices"
)

// Protocol is a mail protocol a client is configured for.
type Protocol string

// The protocols the documents describe. SMTP means submission (RFC 6409):
// port 25 is for servers and is never offered to clients.
const (
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
	SMTP Protocol = "smtp"
)

// Security is how a connection to a service becomes private.
type Security int

const (
	// ImplicitTLS: TLS starts with the connection (RFC 8314 section 3).
	ImplicitTLS Security = iota
	// STARTTLS: the client upgrades a plaintext connection before it
	// authenticates (IMAP STARTTLS, POP3 STLS, SMTP STARTTLS).
	STARTTLS
)

func (s Security) String() string {
	if s == STARTTLS {
		return "STARTTLS"
	}
	return "SSL/TLS"
}

// Service is one listener as the documents advertise it.
type Service struct {
	// Listener is the [listen] key: imaps, pop3s, submissions,
	// submission, imap, pop3.
	Listener string
	Protocol Protocol
	Security Security
	Port     int
}

// Incoming reports whether the service reads mail (IMAP or POP3).
func (s Service) Incoming() bool { return s.Protocol == IMAP || s.Protocol == POP3 }

// listenerServices describes every listener that clients may be sent to,
// in the order of preference the documents list them.
//
// Implicit TLS comes first: RFC 8314 section 3.3 asks clients and servers
// to prefer it, since no plaintext exchange precedes it. IMAP comes before
// POP3 (several devices, server-side folders). 587 with STARTTLS is the
// second choice for sending. The STARTTLS ports 143 and 110 come last, as
// fallbacks for networks that block 993 and 995: every document marks
// them STARTTLS, which clients treat as mandatory (Thunderbird and
// Outlook refuse to go on without it), and the server refuses passwords
// before TLS, so they never carry a password in the clear.
var listenerServices = []Service{
	{Listener: "imaps", Protocol: IMAP, Security: ImplicitTLS},
	{Listener: "pop3s", Protocol: POP3, Security: ImplicitTLS},
	{Listener: "submissions", Protocol: SMTP, Security: ImplicitTLS},
	{Listener: "submission", Protocol: SMTP, Security: STARTTLS},
	{Listener: "imap", Protocol: IMAP, Security: STARTTLS},
	{Listener: "pop3", Protocol: POP3, Security: STARTTLS},
}

// ListenerNames are the [listen] keys whose listeners the documents may
// advertise, most preferred first.
func ListenerNames() []string {
	names := make([]string, len(listenerServices))
	for i, s := range listenerServices {
		names[i] = s.Listener
	}
	return names
}

// Services returns the services to advertise, most preferred first:
// those of listeners for which port returns a port other than 0 (a
// listener that is off, or not served by this version, has none).
func Services(port func(listener string) int) []Service {
	var out []Service
	for _, s := range listenerServices {
		if p := port(s.Listener); p > 0 && p <= 65535 {
			s.Port = p
			out = append(out, s)
		}
	}
	return out
}

// rank orders services by preference (see listenerServices); unknown
// listeners go last.
func rank(s Service) int {
	for i, ls := range listenerServices {
		if ls.Listener == s.Listener {
			return i
		}
	}
	return len(listenerServices)
}

// sortServices puts services in the order of preference, without
// changing the caller's slice.
func sortServices(in []Service) []Service {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b Service) int { return cmp.Compare(rank(a), rank(b)) })
	return out
}

// first returns the most preferred service of protocol p.
func first(services []Service, p Protocol) (Service, bool) {
	for _, s := range services {
		if s.Protocol == p {
			return s, true
		}
	}
	return Service{}, false
}

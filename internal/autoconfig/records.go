package autoconfig

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"postfach/internal/config"
)

// Kinds of DNS records, as Record.Kind names them.
const (
	KindMX           = "mx"
	KindAddress      = "address" // A/AAAA of the hostname
	KindPTR          = "ptr"
	KindSPF          = "spf"
	KindSPFHelo      = "spf-helo" // SPF of the hostname (the HELO identity)
	KindDKIM         = "dkim"
	KindDMARC        = "dmarc"
	KindSRV          = "srv"
	KindAlias        = "alias" // autoconfig., autodiscover., mta-sts.: the hostname's addresses
	KindMTASTS       = "mta-sts"
	KindTLSRPT       = "tls-rpt"
	recordTTL        = 3600
	dmarcPolicy      = "reject"
	srvDisabledValue = "0 0 0 ."
)

// Record is one DNS record a mail domain needs.
type Record struct {
	Kind string
	// Name is fully qualified with the final dot; Type is MX, TXT, ...
	Name, Type string
	// Value is the record data in master file syntax, except TXT: the
	// text itself, unquoted.
	Value string
	// Comment is one line for the human who publishes it.
	Comment string
	// Required records make mail fail without them (delivery, or
	// acceptance of the domain's mail by others); the rest help clients
	// and senders.
	Required bool
	// Hint marks a record the domain's zone cannot hold or whose value
	// postfach does not know (the PTR, the hostname's addresses when the
	// listeners bind all addresses): printed commented out.
	Hint bool
	// Addr is the address a PTR or address record is about.
	Addr netip.Addr
	// Host is the mail server (fully qualified) whose addresses an SPF
	// record must authorize.
	Host string
}

// DKIMKey is a published DKIM key: the selector and the record text.
type DKIMKey struct {
	Selector string
	TXT      string
}

// RecordsOptions describe the server whose records are printed.
type RecordsOptions struct {
	Domain   string // A-label
	Hostname string
	// Services are the advertised client services (ConfiguredServices).
	Services []Service
	// HTTP and HTTPS say whether those listeners run: autoconfig needs
	// one of them, MTA-STS needs HTTPS.
	HTTP, HTTPS bool
	DKIM        []DKIMKey
	Policy      Policy
	// Addresses are the hostname's public addresses, when the
	// configuration names them; else the address records are hints.
	Addresses []netip.Addr
}

// srvNames are the RFC 6186 / RFC 8314 service names by listener, with
// priorities that make clients prefer implicit TLS and IMAP (RFC 6186
// has clients compare priorities across the IMAP and POP3 records; RFC
// 8314 section 5.1 asks that implicit TLS be preferred).
var srvNames = []struct {
	listener, service string
	priority          int
}{
	{"imaps", "_imaps._tcp", 0},
	{"imap", "_imap._tcp", 10},
	{"pop3s", "_pop3s._tcp", 20},
	{"pop3", "_pop3._tcp", 30},
	{"submissions", "_submissions._tcp", 0},
	{"submission", "_submission._tcp", 10},
}

// Records lists every record the domain needs, in the order they are
// printed.
func Records(o RecordsOptions) []Record {
	d := fqdn(o.Domain)
	h := fqdn(o.Hostname)
	postmaster := "postmaster@" + o.Domain
	var out []Record
	add := func(r Record) { out = append(out, r) }

	add(Record{Kind: KindMX, Name: d, Type: "MX", Value: "10 " + h, Required: true,
		Comment: "MX: mail for " + o.Domain + " goes to " + o.Hostname + " (RFC 5321 section 5.1)"})
	if len(o.Addresses) == 0 {
		add(Record{Kind: KindAddress, Name: h, Type: "A", Value: "<IPv4 address of " + o.Hostname + ">", Required: true, Hint: true,
			Comment: "the addresses of " + o.Hostname + ": A and AAAA records (the listeners bind all addresses, so postfach cannot tell them)"})
	}
	for _, a := range o.Addresses {
		typ := "A"
		if a.Is6() {
			typ = "AAAA"
		}
		add(Record{Kind: KindAddress, Name: h, Type: typ, Value: a.String(), Required: true, Addr: a,
			Comment: "an address of " + o.Hostname + ", from the listener configuration"})
	}
	add(Record{Kind: KindSPF, Name: d, Type: "TXT", Value: "v=spf1 mx -all", Required: true, Host: h,
		Comment: "SPF: only the domain's MX hosts send mail as @" + o.Domain + "; others fail (RFC 7208)"})
	if h != d {
		add(Record{Kind: KindSPFHelo, Name: h, Type: "TXT", Value: "v=spf1 a -all", Host: h,
			Comment: "SPF for the server's own name, which it gives in HELO and bounces (RFC 7208 section 2.3)"})
	}
	for _, k := range o.DKIM {
		add(Record{Kind: KindDKIM, Name: k.Selector + "._domainkey." + d, Type: "TXT", Value: k.TXT, Required: true,
			Comment: "DKIM: the public key of selector " + k.Selector + "; receivers verify outgoing signatures with it (RFC 6376)"})
	}
	add(Record{Kind: KindDMARC, Name: "_dmarc." + d, Type: "TXT", Value: "v=DMARC1; p=" + dmarcPolicy + "; rua=mailto:" + postmaster, Required: true,
		Comment: "DMARC: reject mail as @" + o.Domain + " that passes neither SPF nor DKIM; reports to " + postmaster + " (RFC 7489)"})

	ports := map[string]int{}
	for _, s := range o.Services {
		ports[s.Listener] = s.Port
	}
	for _, s := range srvNames {
		r := Record{Kind: KindSRV, Name: s.service + "." + d, Type: "SRV"}
		if p := ports[s.listener]; p > 0 {
			r.Value = fmt.Sprintf("%d 1 %d %s", s.priority, p, h)
			r.Comment = "SRV: clients find " + describeListener(s.listener) + " on port " + strconv.Itoa(p) + " (RFC 6186, RFC 8314)"
		} else {
			// RFC 2782: the target "." says the service is decidedly not
			// available; RFC 6186 has domains publish it for services
			// they do not offer.
			r.Value = srvDisabledValue
			r.Comment = "SRV: " + describeListener(s.listener) + " is not offered (target \".\", RFC 6186)"
		}
		add(r)
	}

	web := "needs the http or https listener, which is off"
	if o.HTTP || o.HTTPS {
		web = "served by the http/https listener"
	}
	add(Record{Kind: KindAlias, Name: "autoconfig." + d, Type: "CNAME", Value: h, Hint: !o.HTTP && !o.HTTPS,
		Comment: "Thunderbird and other clients fetch their settings here (" + web + ")"})
	add(Record{Kind: KindAlias, Name: "autodiscover." + d, Type: "CNAME", Value: h, Hint: !o.HTTP && !o.HTTPS,
		Comment: "Outlook fetches its settings here (" + web + ")"})
	if o.HTTPS {
		add(Record{Kind: KindSRV, Name: "_autodiscover._tcp." + d, Type: "SRV", Value: "0 1 443 " + h,
			Comment: "Outlook finds the autodiscover service through this SRV record as well"})
	}

	sts := "needs the https listener and a certificate naming mta-sts." + o.Domain
	if !o.HTTPS {
		sts = "needs the https listener, which is off"
	}
	add(Record{Kind: KindAlias, Name: "mta-sts." + d, Type: "CNAME", Value: h, Hint: !o.HTTPS,
		Comment: "MTA-STS: senders fetch the policy from https://mta-sts." + o.Domain + "/.well-known/mta-sts.txt (" + sts + ")"})
	add(Record{Kind: KindMTASTS, Name: "_mta-sts." + d, Type: "TXT", Value: o.Policy.TXT(), Hint: !o.HTTPS,
		Comment: "MTA-STS: the policy (mode " + o.Policy.Mode + ") and its id, which changes with it (RFC 8461 section 3.1)"})
	add(Record{Kind: KindTLSRPT, Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:" + postmaster,
		Comment: "TLS-RPT: senders report TLS failures delivering to " + o.Domain + " to " + postmaster + " (RFC 8460)"})

	if len(o.Addresses) == 0 {
		add(Record{Kind: KindPTR, Name: "<reverse name of each address>.", Type: "PTR", Value: h, Required: true, Hint: true,
			Comment: "PTR: the reverse record of each address of " + o.Hostname + " must name it; the address's owner (your provider) sets it"})
	}
	for _, a := range o.Addresses {
		add(Record{Kind: KindPTR, Name: reverseName(a), Type: "PTR", Value: h, Required: true, Hint: true, Addr: a,
			Comment: "PTR: " + a.String() + " must name " + o.Hostname + " back; the address's owner (your provider) sets it"})
	}
	return out
}

func describeListener(name string) string {
	switch name {
	case "imaps":
		return "IMAP with implicit TLS"
	case "imap":
		return "IMAP with STARTTLS"
	case "pop3s":
		return "POP3 with implicit TLS"
	case "pop3":
		return "POP3 with STARTTLS"
	case "submissions":
		return "submission with implicit TLS"
	case "submission":
		return "submission with STARTTLS"
	}
	return name
}

func fqdn(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".") + "."
}

// reverseName is the PTR owner name of an address (RFC 1035 section
// 3.5, RFC 3596 section 2.5).
func reverseName(a netip.Addr) string {
	name, err := reverseAddr(a)
	if err != nil {
		return a.String()
	}
	return name
}

func reverseAddr(a netip.Addr) (string, error) {
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0]), nil
	}
	if !a.Is6() {
		return "", fmt.Errorf("invalid address")
	}
	b := a.As16()
	var s strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		fmt.Fprintf(&s, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	s.WriteString("ip6.arpa.")
	return s.String(), nil
}

// ConfiguredServices returns the advertised services of the listeners
// the configuration runs, with their configured ports. A listener on
// port 0 (tests) has no port to announce and is left out.
func ConfiguredServices(cfg *config.Config) []Service {
	ports := map[string]int{}
	for _, l := range cfg.Listen.Served() {
		if _, p, err := net.SplitHostPort(l.Addr); err == nil {
			if n, err := strconv.Atoi(p); err == nil {
				ports[l.Name] = n
			}
		}
	}
	return Services(func(name string) int { return ports[name] })
}

// Serves reports whether the configuration runs the named listener.
func Serves(cfg *config.Config, name string) bool {
	return slices.ContainsFunc(cfg.Listen.Served(), func(l config.Listener) bool { return l.Name == name })
}

// PublicAddresses returns the global unicast addresses the served
// listeners bind, in order; none when they bind all addresses.
func PublicAddresses(cfg *config.Config) []netip.Addr {
	var out []netip.Addr
	for _, l := range cfg.Listen.Served() {
		host, _, err := net.SplitHostPort(l.Addr)
		if err != nil {
			continue
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if a.IsGlobalUnicast() && !a.IsPrivate() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Zone prints records in master file syntax (RFC 1035 section 5.1), each
// after its one-line comment. Hints are printed commented out. TXT
// values longer than 255 octets are split into several
// character-strings (RFC 1035 section 3.3.14), which DKIM verifiers join
// (RFC 6376 section 3.6.2.2).
func Zone(records []Record) string {
	width := 0
	for _, r := range records {
		width = max(width, len(r.Name))
	}
	var b strings.Builder
	for i, r := range records {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("; " + r.Comment + "\n")
		prefix := ""
		if r.Hint {
			prefix = "; "
		}
		fmt.Fprintf(&b, "%s%-*s %d IN %-5s %s\n", prefix, width, r.Name, recordTTL, r.Type, r.rdata())
	}
	return b.String()
}

// rdata is the record data in master file syntax.
func (r Record) rdata() string {
	if r.Type != "TXT" {
		return r.Value
	}
	return quoteTXT(r.Value)
}

// quoteTXT splits a TXT value into quoted character-strings of at most
// 255 octets; several are put in parentheses on one line.
func quoteTXT(v string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+esc.Replace(v[:255])+`"`)
		v = v[255:]
	}
	parts = append(parts, `"`+esc.Replace(v)+`"`)
	if len(parts) == 1 {
		return parts[0]
	}
	return "( " + strings.Join(parts, " ") + " )"
}

package queue

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Envelope is what the SMTP session learned about a message besides its
// content: the reverse-path, the forward-paths and the DSN, SMTPUTF8 and
// REQUIRETLS parameters that go with them.
type Envelope struct {
	// From is the reverse-path (MAIL FROM) without angle brackets; "" is
	// the null sender (RFC 5321 section 4.5.5), to which no DSN is ever
	// sent.
	From string
	// To are the recipients, each at most once (compared without case).
	To []Recipient
	// RET is the DSN RET parameter (RFC 3461 section 4.3): "FULL", "HDRS"
	// or "" when the client gave none.
	RET string
	// ENVID is the DSN envelope identifier (RFC 3461 section 4.4), xtext
	// decoded; "" when none was given.
	ENVID string
	// RequireTLS is the REQUIRETLS MAIL parameter (RFC 8689 section 4.2):
	// the message travels only over TLS with an authenticated next hop.
	RequireTLS bool
	// SMTPUTF8 says the client used the SMTPUTF8 parameter (RFC 6531
	// section 3.4). The queue also detects UTF-8 addresses and header
	// fields itself; this flag adds to what it finds.
	SMTPUTF8 bool
	// Account is the authenticated account that submitted the message, ""
	// for mail the server generated or relayed. `postfach queue list`
	// shows it.
	Account string
}

// Recipient is one forward-path with its DSN parameters.
type Recipient struct {
	// Addr is the address (RCPT TO) without angle brackets.
	Addr string
	// Notify is the NOTIFY parameter (RFC 3461 section 4.1); zero when the
	// client gave none.
	Notify Notify
	// ORCPTType and ORCPT are the ORCPT parameter (RFC 3461 section 4.2),
	// the address decoded from xtext or utf-8-addr-xtext: ORCPTType is
	// "rfc822" or "utf-8" (RFC 6533 section 3); both "" when not given.
	ORCPTType string
	ORCPT     string
}

// Notify is the set of RFC 3461 NOTIFY keywords of a recipient.
type Notify uint8

const (
	// NotifyNever asks for no DSN at all; it excludes the others.
	NotifyNever Notify = 1 << iota
	NotifySuccess
	NotifyFailure
	NotifyDelay
)

// notifyDefault is what a recipient without NOTIFY gets. RFC 3461 section
// 4.1 leaves the choice between FAILURE and FAILURE,DELAY to the MTA; we
// warn of delays, as users expect from most MTAs.
const notifyDefault = NotifyFailure | NotifyDelay

// ParseNotify parses the keywords of a NOTIFY parameter ("NEVER", or any
// of "SUCCESS", "FAILURE", "DELAY"), in any case, given one keyword per
// element or comma-separated.
func ParseNotify(keywords ...string) (Notify, error) {
	var n Notify
	for _, k := range keywords {
		for _, w := range strings.Split(k, ",") {
			switch strings.ToUpper(strings.TrimSpace(w)) {
			case "NEVER":
				n |= NotifyNever
			case "SUCCESS":
				n |= NotifySuccess
			case "FAILURE":
				n |= NotifyFailure
			case "DELAY":
				n |= NotifyDelay
			default:
				return 0, fmt.Errorf("queue: unknown NOTIFY keyword %q", w)
			}
		}
	}
	if n&NotifyNever != 0 && n != NotifyNever {
		// RFC 3461 section 4.1: NEVER stands alone.
		return 0, errors.New("queue: NOTIFY=NEVER combined with other keywords")
	}
	return n, nil
}

// Keywords returns the NOTIFY keywords of n, for the RCPT parameter; nil
// for zero.
func (n Notify) Keywords() []string {
	if n&NotifyNever != 0 {
		return []string{"NEVER"}
	}
	var out []string
	for _, kw := range []struct {
		bit  Notify
		name string
	}{{NotifySuccess, "SUCCESS"}, {NotifyFailure, "FAILURE"}, {NotifyDelay, "DELAY"}} {
		if n&kw.bit != 0 {
			out = append(out, kw.name)
		}
	}
	return out
}

func (n Notify) String() string { return strings.Join(n.Keywords(), ",") }

// wants reports whether the recipient asked for (or by default gets) a
// DSN of the kind bit.
func (n Notify) wants(bit Notify) bool {
	if n == 0 {
		n = notifyDefault
	}
	return n&bit != 0
}

// maxAddrLen bounds a path: RFC 5321 section 4.5.3.1.3 gives 256 octets
// for a path including the angle brackets.
const maxAddrLen = 254

// check validates the envelope before it is queued. It returns the
// envelope with the domain of each recipient lower-cased and RET upper-
// cased; local parts keep their case (RFC 5321 section 2.4).
func (env Envelope) check() (Envelope, error) {
	if len(env.To) == 0 {
		return env, errors.New("queue: no recipients")
	}
	if env.From != "" {
		if err := checkAddr(env.From); err != nil {
			return env, fmt.Errorf("queue: sender: %w", err)
		}
		local, domain := splitAddr(env.From)
		env.From = local + "@" + domain
	}
	switch env.RET = strings.ToUpper(env.RET); env.RET {
	case "", "FULL", "HDRS":
	default:
		return env, fmt.Errorf("queue: RET=%q is neither FULL nor HDRS", env.RET)
	}
	if len(env.ENVID) > 100 || !printableASCII(env.ENVID) {
		// RFC 3461 section 4.4: at most 100 characters of xtext, which
		// decodes to printable US-ASCII.
		return env, errors.New("queue: ENVID is not at most 100 printable ASCII characters")
	}
	seen := make(map[string]bool, len(env.To))
	to := make([]Recipient, len(env.To))
	for i, r := range env.To {
		if err := checkAddr(r.Addr); err != nil {
			return env, fmt.Errorf("queue: recipient %q: %w", r.Addr, err)
		}
		local, domain := splitAddr(r.Addr)
		r.Addr = local + "@" + domain
		key := strings.ToLower(r.Addr)
		if seen[key] {
			return env, fmt.Errorf("queue: recipient %s given twice", r.Addr)
		}
		seen[key] = true
		if r.Notify&NotifyNever != 0 && r.Notify != NotifyNever {
			return env, fmt.Errorf("queue: recipient %s: NOTIFY=NEVER combined with other keywords", r.Addr)
		}
		r.ORCPTType = strings.ToLower(r.ORCPTType)
		switch {
		case r.ORCPT == "" && r.ORCPTType == "":
		case r.ORCPT == "" || r.ORCPTType == "":
			return env, fmt.Errorf("queue: recipient %s: ORCPT needs both a type and an address", r.Addr)
		case r.ORCPTType != "rfc822" && r.ORCPTType != "utf-8":
			return env, fmt.Errorf("queue: recipient %s: ORCPT type %q is neither rfc822 nor utf-8", r.Addr, r.ORCPTType)
		case !utf8.ValidString(r.ORCPT) || len(r.ORCPT) > 500 || strings.ContainsAny(r.ORCPT, "\r\n"):
			return env, fmt.Errorf("queue: recipient %s: malformed ORCPT", r.Addr)
		}
		to[i] = r
	}
	env.To = to
	return env, nil
}

// checkAddr accepts what an SMTP server accepted as a mailbox: a local
// part and a domain, UTF-8 allowed (RFC 6531), no controls or spaces
// outside a quoted local part. The SMTP server parses paths strictly; this
// is the queue's own guard against writing a broken command line.
func checkAddr(addr string) error {
	if len(addr) > maxAddrLen {
		return errors.New("address too long")
	}
	if !utf8.ValidString(addr) {
		return errors.New("address is not valid UTF-8")
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return errors.New("not local-part@domain")
	}
	for _, c := range addr {
		if c < 0x20 || c == 0x7f || c == '<' || c == '>' {
			return errors.New("address has a control character or angle bracket")
		}
	}
	local := addr[:at]
	if strings.ContainsRune(local, ' ') && !(strings.HasPrefix(local, `"`) && strings.HasSuffix(local, `"`)) {
		return errors.New("space outside a quoted local part")
	}
	domain := addr[at+1:]
	if strings.ContainsAny(domain, " \\\"") {
		return errors.New("malformed domain")
	}
	return nil
}

// splitAddr returns the local part and the domain, lower-cased, without
// a final dot, and in A-labels (RFC 5890): DNS wants them, and an address
// whose only non-ASCII part was its domain then needs no SMTPUTF8 (RFC
// 6531 section 3.2). A domain that is not a valid IDN stays as it is.
func splitAddr(addr string) (local, domain string) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr, ""
	}
	domain = strings.TrimSuffix(strings.ToLower(addr[at+1:]), ".")
	if !isASCII(domain) {
		if a, err := idna.Lookup.ToASCII(domain); err == nil {
			domain = a
		}
	}
	return addr[:at], domain
}

// domainOf returns the lower-cased domain of an address.
func domainOf(addr string) string {
	_, d := splitAddr(addr)
	return d
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

package smtp

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"time"

	"postfach/internal/deliver"
)

// trace is what a Received field records (RFC 5321 section 4.4).
type trace struct {
	helo   string     // the EHLO/HELO/LHLO argument, as the client gave it
	remote netip.Addr // zero for a unix socket
	by     string     // our host name
	with   string     // protocol (RFC 3848, RFC 6531 section 3.7.3)
	id     string
	rcpt   string // the one recipient, or "" when there are several
	tls    *tls.ConnectionState
	at     time.Time
}

// protocol names the "with" value: SMTP or LMTP, E for EHLO, S for TLS, A
// for authenticated (RFC 3848), UTF8 for SMTPUTF8 (RFC 6531 section
// 3.7.3).
func protocol(kind Listener, ehlo, tlsOn, authed, utf8 bool) string {
	base := "SMTP"
	if kind == LMTP {
		base = "LMTP"
	}
	switch {
	case utf8:
		base = "UTF8" + base
	case kind == LMTP:
	case ehlo || tlsOn || authed:
		base = "E" + base
	}
	if tlsOn {
		base += "S"
	}
	if authed {
		base += "A"
	}
	return base
}

// received returns a Received header field, folded, ending in CRLF:
//
//	Received: from HELO (HELO-or-[IP] [IP])
//		by HOST (postfach) with ESMTPS id ID
//		for <RCPT>
//		(version=TLS1.3 cipher=TLS_AES_128_GCM_SHA256) tls TLS_AES_128_GCM_SHA256;
//		DATE
//
// The "tls" clause is RFC 8314 section 4.3's record of the cipher suite;
// the comment before it adds the protocol version. A HELO argument that is
// not a domain or address literal is shown only inside the comment, with
// anything that could break the field replaced.
func (t trace) received() string {
	var b strings.Builder
	b.WriteString("Received: from ")
	ip := ""
	if t.remote.IsValid() {
		ip = addressLiteral(t.remote)
	}
	helo, heloOK := cleanHELO(t.helo)
	switch {
	case heloOK && ip != "":
		b.WriteString(helo + " (" + ip + ")")
	case heloOK:
		b.WriteString(helo + " (unix socket)")
	case ip != "":
		b.WriteString(ip + " (" + ip + " helo=" + helo + ")")
	default:
		b.WriteString("localhost (unix socket helo=" + helo + ")")
	}
	b.WriteString("\r\n\tby " + t.by + " (postfach) with " + t.with + " id " + t.id)
	if t.rcpt != "" {
		b.WriteString("\r\n\tfor <" + t.rcpt + ">")
	}
	if t.tls != nil {
		suite := tls.CipherSuiteName(t.tls.CipherSuite)
		b.WriteString("\r\n\t(version=" + strings.ReplaceAll(tls.VersionName(t.tls.Version), " ", "") + " cipher=" + suite + ") tls " + cipherToken(suite))
	}
	b.WriteString(";\r\n\t" + t.at.Format(time.RFC1123Z) + "\r\n")
	return b.String()
}

// addressLiteral writes an IP as RFC 5321 section 4.1.3 does.
func addressLiteral(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + ip.WithZone("").String() + "]"
}

// cleanHELO returns the HELO argument for a Received field: as it is when
// it is a domain or an address literal (ok), else with every character
// outside printable ASCII, and those that would end a comment, replaced
// by "?", at most 64 of them.
func cleanHELO(helo string) (string, bool) {
	if a, err := deliver.ParseAddress("x@"+helo, true); err == nil && helo != "" {
		return a.Domain, true
	}
	var b strings.Builder
	for i, r := range helo {
		if i >= 64 {
			b.WriteString("...")
			break
		}
		if r <= ' ' || r >= 0x7f || r == '(' || r == ')' || r == '\\' {
			r = '?'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "unknown", false
	}
	return b.String(), false
}

// cipherToken makes a cipher suite name fit RFC 8314's tls-cipher-name
// (letters, digits, "_"); Go names unknown suites "0x1234", which is the
// hexadecimal form the ABNF also allows.
func cipherToken(name string) string {
	if strings.HasPrefix(name, "0x") {
		return name
	}
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
}

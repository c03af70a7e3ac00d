package autoconfig

import (
	"errors"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxAddressLen is the longest address accepted: RFC 5321 section
// 4.5.3.1.3 bounds a path to 256 octets, brackets included.
const maxAddressLen = 254

// maxLocalLen is RFC 5321 section 4.5.3.1.1's limit on a local part.
const maxLocalLen = 64

var errAddress = errors.New("not an email address")

// parseAddress checks an address a client sent and returns it in the form
// clients log in with (trimmed, lower case, as the store keeps accounts)
// and its domain as an A-label (lower case, no final dot).
//
// Only what clients type is accepted: a dot-atom local part of printable
// characters (UTF-8 allowed, RFC 6531), "@", and a host name. Quoted
// local parts and address literals are refused: no account can have one.
func parseAddress(s string) (address, domain string, err error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxAddressLen || !utf8.ValidString(s) {
		return "", "", errAddress
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", "", errAddress
	}
	local, host := s[:at], s[at+1:]
	if len(local) > maxLocalLen || !validLocal(local) {
		return "", "", errAddress
	}
	domain, err = normalizeDomain(host)
	if err != nil {
		return "", "", errAddress
	}
	return strings.ToLower(local) + "@" + domain, domain, nil
}

// validLocal checks a dot-atom (RFC 5322 section 3.2.3) whose atext may
// include UTF-8 (RFC 6532 section 3.2).
func validLocal(local string) bool {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		switch {
		case r == '.':
		case r < 0x80:
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
				strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
				return false
			}
		case !unicode.IsPrint(r) || r == utf8.RuneError:
			return false
		}
	}
	return true
}

// NormalizeDomain returns a domain name as the store and DNS keep it: a
// lower-case A-label without a final dot.
func NormalizeDomain(s string) (string, error) {
	return normalizeDomain(strings.TrimSpace(s))
}

// normalizeDomain returns a host name as a lower-case A-label without a
// final dot, or an error for anything that is not a host name (IP
// literals included).
func normalizeDomain(host string) (string, error) {
	host = strings.TrimSuffix(host, ".")
	if host == "" || strings.HasPrefix(host, "[") {
		return "", errAddress
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", errAddress
	}
	// UTS 46 lookup processing lower-cases, maps U-labels to A-labels
	// and checks the STD 3 host name rules (letters, digits, hyphens).
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil || ascii == "" || len(ascii) > 253 {
		return "", errAddress
	}
	for label := range strings.SplitSeq(ascii, ".") {
		if label == "" || len(label) > 63 {
			return "", errAddress
		}
	}
	return ascii, nil
}

// requestHost returns the Host of a request without its port, lower case
// and without a final dot, and whether it is an IP address.
func requestHost(hostport string) (host string, isIP bool) {
	host = hostport
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			host = host[1:end]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		host = host[:i]
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host, true
	}
	return strings.TrimSuffix(strings.ToLower(host), "."), false
}

package mailauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/idna"

	"postfach/internal/mime"
)

// errHeaderTooLarge: the header section does not end within the limit.
var errHeaderTooLarge = errors.New("header section too large")

// readHeaderSection reads the header section of the message in r: the
// bytes up to and including the empty line that ends it (RFC 5322
// section 2.1), reading no further than needed and no more than limit
// bytes. complete is false for a message that ends without that empty
// line (a message without body); hdr is then the whole message.
func readHeaderSection(r io.ReaderAt, size int64, limit int) (hdr []byte, complete bool, err error) {
	const chunk = 4096
	buf := make([]byte, 0, min(int64(chunk), size))
	var off int64
	for off < size {
		n := int(min(int64(chunk), size-off))
		if len(buf)+n > limit {
			n = limit - len(buf) + 1 // one byte past the limit tells
		}
		if n <= 0 {
			return nil, false, errHeaderTooLarge
		}
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		m, err := r.ReadAt(buf[start:], off)
		buf = buf[:start+m]
		off += int64(m)
		// Look again a few bytes back: the empty line may straddle reads.
		if end := headerEnd(buf, max(0, start-3)); end >= 0 {
			return buf[:end], true, nil
		}
		if len(buf) > limit {
			return nil, false, errHeaderTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if m == 0 {
			return nil, false, io.ErrNoProgress
		}
	}
	return buf, false, nil
}

// headerEnd returns the offset just past the empty line ending the header
// section in b, looking from from, or -1. A bare LF counts as a line end,
// as in mime.ParseHeader, so that both agree on where the body starts.
func headerEnd(b []byte, from int) int {
	// An empty header section: the message starts with the empty line.
	if bytes.HasPrefix(b, []byte("\r\n")) {
		return 2
	}
	if bytes.HasPrefix(b, []byte("\n")) {
		return 1
	}
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// fromDomain returns the domain of the RFC 5322 From header field, the
// domain DMARC protects (RFC 7489 section 3.1), in lower-case A-labels.
// problem says why there is none: DMARC needs exactly one From field
// (RFC 5322 section 3.6 allows one) naming mailboxes of one domain
// (RFC 7489 section 6.6.1). The address parser is the one IMAP's
// ENVELOPE uses, so the domain judged is the one mail clients show.
func fromDomain(fields []mime.Field) (domain, problem string) {
	var from []mime.Field
	for _, f := range fields {
		if strings.EqualFold(f.Name, "From") {
			from = append(from, f)
		}
	}
	switch len(from) {
	case 0:
		return "", "the message has no From header field (RFC 5322 section 3.6)"
	case 1:
	default:
		return "", fmt.Sprintf("the message has %d From header fields; RFC 5322 section 3.6 allows one", len(from))
	}
	var domains []string
	for _, a := range mime.ParseAddressList(from[0].Value()) {
		if a.Group {
			continue
		}
		if a.Host == "" {
			return "", "a From address has no domain"
		}
		d, ok := normalizeDomain(a.Host)
		if !ok {
			return "", fmt.Sprintf("the From domain %q is not a domain name", a.Host)
		}
		if len(domains) == 0 || domains[0] != d {
			domains = append(domains, d)
		}
	}
	switch {
	case len(domains) == 0:
		return "", "the From header field has no address"
	case len(domains) > 1:
		return "", "the From header field names addresses in several domains (RFC 7489 section 6.6.1)"
	}
	return domains[0], ""
}

// normalizeDomain returns d in lower-case A-labels without a final dot;
// ok is false for something that is no host name: an address literal,
// bad characters, over-long labels.
func normalizeDomain(d string) (string, bool) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(d)
			if err != nil {
				return "", false
			}
			d = a
			break
		}
	}
	d = strings.ToLower(d)
	if len(d) > 253 {
		return "", false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return d, true
}

// domainOf returns the domain part of an address (after the last "@").
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// tagList parses a DKIM tag list (RFC 6376 section 3.2): tag=value pairs
// separated by ";", white space (folding included) around both ignored.
// Values keep inner white space except b= and bh=, base64 in which
// white space is meaningless. A repeated tag or a pair without "=" makes
// the list invalid (ok false), as RFC 6376 section 3.2 says.
func tagList(s string) (tags map[string]string, ok bool) {
	tags = map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		k, v, found := strings.Cut(part, "=")
		k = strings.Trim(k, " \t\r\n")
		if !found {
			if strings.Trim(part, " \t\r\n") == "" {
				continue // the list may end in ";"
			}
			return tags, false
		}
		if k == "" {
			return tags, false
		}
		if _, dup := tags[k]; dup {
			return tags, false
		}
		v = strings.Trim(v, " \t\r\n")
		if k == "b" || k == "bh" {
			v = strings.Map(func(r rune) rune {
				if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
					return -1
				}
				return r
			}, v)
		}
		tags[k] = v
	}
	return tags, true
}

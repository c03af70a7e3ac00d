package dns

import (
	"context"
	"errors"
	"net"
)

// zoneServer names the zone file as the Server of a *net.DNSError.
const zoneServer = "zone file"

// errNoSuchHost is the text *net.Resolver uses for NXDOMAIN and NODATA.
const errNoSuchHost = "no such host"

// notFound is NXDOMAIN or NODATA: the name has no records of the type.
// SPF (RFC 7208 section 4.3), DKIM and DMARC read it as "no record".
func notFound(name, server string) error {
	return &net.DNSError{Err: errNoSuchHost, Name: name, Server: server, IsNotFound: true}
}

// temporary is a failure a later try may not have: SERVFAIL, a timeout,
// an unreachable server. Mail treats it as temperror / 4xx.
func temporary(name, server, msg string, timeout bool) error {
	return &net.DNSError{Err: msg, Name: name, Server: server, IsTimeout: timeout, IsTemporary: true}
}

// ctxError reports a cancelled or expired context as a temporary error,
// a timeout for an expired deadline.
func ctxError(name, server string, err error) error {
	timeout := errors.Is(err, context.DeadlineExceeded)
	msg := "operation was canceled"
	if timeout {
		msg = "i/o timeout"
	}
	return temporary(name, server, msg, timeout)
}

// isNotFound reports whether err is NXDOMAIN or NODATA.
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// renamed returns a copy of a *net.DNSError naming what the caller asked
// for, not the canonical form it was asked as. Libraries such as
// blitiri.com.ar/go/spf test the type with a plain type assertion, so
// the error must stay a bare *net.DNSError.
func renamed(err error, name string) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		cp := *de
		cp.Name = name
		return &cp
	}
	return &net.DNSError{Err: err.Error(), Name: name}
}

// outsideError says the zone holds neither the name nor a zone it is in;
// target is where the CNAME chain (if any) left the data.
type outsideError struct{ target string }

func (e *outsideError) Error() string { return e.target + ": not in the zone file" }

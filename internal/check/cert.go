package check

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// expirySoon is when an expiring certificate becomes a warning: ACME
// clients renew 30 days ahead, so a certificate this close to its end
// means renewal is failing.
const expirySoon = 14 * 24 * time.Hour

// inspectCert checks the server's certificate chain against the roots,
// its name against name, and its dates against now, and records the
// findings. It reports whether a client would accept the certificate.
//
// On port 25 (relaxed), problems are warnings: senders use opportunistic
// TLS and deliver anyway, unless MTA-STS or DANE make them strict.
func inspectCert(p *Probe, st tls.ConnectionState, roots *x509.CertPool, name string, now time.Time, relaxed bool) bool {
	certs := st.PeerCertificates
	if len(certs) == 0 {
		p.add(Fail, "certificate", "the server sent no certificate")
		return false
	}
	bad := Fail
	consequence := ""
	if relaxed {
		bad = Warn
		consequence = "; senders using MTA-STS or DANE will not deliver"
	}
	leaf := certs[0]
	info := &CertInfo{
		Subject:   leaf.Subject.String(),
		Issuer:    leaf.Issuer.String(),
		DNSNames:  leaf.DNSNames,
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		DaysLeft:  int(leaf.NotAfter.Sub(now).Hours() / 24),
		Name:      name,
	}
	for _, ip := range leaf.IPAddresses {
		info.IPs = append(info.IPs, ip.String())
	}
	p.Certificate = info
	ok := true

	// Dates.
	switch {
	case now.After(leaf.NotAfter):
		p.add(bad, "certificate", "expired %s (%s)%s", ago(now.Sub(leaf.NotAfter)), leaf.NotAfter.UTC().Format(time.DateOnly), consequence)
		ok = false
	case now.Before(leaf.NotBefore):
		p.add(bad, "certificate", "not valid before %s: is the server's or this machine's clock wrong?%s", leaf.NotBefore.UTC().Format(time.RFC3339), consequence)
		ok = false
	}

	// Chain. An expired leaf is reported above; verify the chain within
	// the leaf's validity so that trust is judged on its own.
	at := now
	if now.After(leaf.NotAfter) {
		at = leaf.NotAfter.Add(-time.Minute)
	} else if now.Before(leaf.NotBefore) {
		at = leaf.NotBefore.Add(time.Minute)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	var ci x509.CertificateInvalidError
	switch {
	case err == nil:
		info.Trusted = true
	case at != now && errors.As(err, &ci) && ci.Reason == x509.Expired:
		// The leaf's dates are out, and at the time it was valid some
		// other certificate of the chain was not: trust cannot be
		// judged, and the dates are reported already.
		info.TrustError = "not judged: " + err.Error()
	default:
		info.TrustError = err.Error()
		p.add(bad, "certificate", "not trusted: %s%s", trustProblem(err, leaf), consequence)
		ok = false
	}

	// Name (RFC 6125; an IP address matches the certificate's IP
	// addresses).
	if err := leaf.VerifyHostname(name); err != nil {
		p.add(bad, "certificate", "does not name %s; it names %s%s", name, certNames(leaf), consequence)
		ok = false
	} else {
		info.NameMatch = true
	}

	if ok {
		level := OK
		left := leaf.NotAfter.Sub(now)
		if left < expirySoon {
			level = Warn
		}
		p.add(level, "certificate", "valid for %s, issued by %s, %d days left (%s)", name, issuerName(leaf), info.DaysLeft, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return ok
}

// trustProblem says why a chain did not verify, in a user's words.
func trustProblem(err error, leaf *x509.Certificate) string {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		if leaf.Issuer.String() == leaf.Subject.String() {
			return "self-signed (give its CA with --ca FILE to trust it)"
		}
		return fmt.Sprintf("issued by %s, which is not a trusted CA (is the intermediate certificate missing from the chain?)", issuerName(leaf))
	}
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) {
		switch ci.Reason {
		case x509.Expired:
			return "a certificate of the chain is expired or not yet valid"
		case x509.IncompatibleUsage:
			return "the certificate is not for TLS servers (extended key usage)"
		}
	}
	return err.Error()
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}

// certNames lists the names a certificate covers.
func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		if c.Subject.CommonName != "" {
			return "only the common name " + c.Subject.CommonName + ", which clients no longer accept"
		}
		return "no names"
	}
	return strings.Join(names, ", ")
}

// ago prints a past duration in days, or hours under two days.
func ago(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

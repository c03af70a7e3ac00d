package mailauth

import (
	"context"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"
)

// checkSPF evaluates SPF (RFC 7208) for the MAIL FROM identity, or for
// the HELO identity when the reverse path is null (section 2.4: the
// check then uses "postmaster@" and the HELO name). The lookup limits of
// section 4.6.4 (10 lookups, 2 void lookups) are the library's defaults.
func (v *Verifier) checkSPF(ctx context.Context, in Input) SPFResult {
	res := SPFResult{Identity: "mailfrom", Domain: domainOf(in.MailFrom)}
	sender := in.MailFrom
	if in.MailFrom == "" {
		res.Identity, res.Domain = "helo", in.HELO
	}
	domain, ok := normalizeDomain(res.Domain)
	if !ok || !strings.Contains(domain, ".") {
		// An address literal, a bare host name, no domain at all:
		// nothing to look up (RFC 7208 section 4.3).
		res.Status = StatusNone
		res.Detail = "no domain to check"
		return res
	}
	res.Domain = domain
	if in.MailFrom == "" {
		sender = "postmaster@" + domain
	} else {
		local := in.MailFrom[:strings.LastIndexByte(in.MailFrom, '@')]
		if strings.Contains(local, "@") {
			// A quoted local part with "@": the library splits at the
			// first one. Its macros see "postmaster" instead.
			local = "postmaster"
		}
		sender = local + "@" + domain
	}
	ip := in.RemoteIP.Unmap()
	if !ip.IsValid() {
		res.Status, res.Detail = StatusPermError, "no client address"
		return res
	}
	r, err := spf.CheckHostWithSender(net.IP(ip.AsSlice()), in.HELO, sender,
		spf.WithContext(ctx), spf.WithResolver(v.opts.Resolver))
	res.Status = Status(r)
	if err != nil {
		res.Detail = err.Error()
	}
	return res
}

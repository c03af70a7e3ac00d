package mailauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// DMARC evaluation (RFC 7489) is ours: go-msgauth parses the record, and
// we discover it, align identifiers and apply the policy.

// policyRecord is a DMARC record and where it was found.
type policyRecord struct {
	rec *dmarc.Record
	// at is the domain whose _dmarc name held it: the From domain, or
	// its organizational domain (RFC 7489 section 6.6.3).
	at string
}

// organizationalDomain is the registered domain of d (RFC 7489 section
// 3.2): one label below its public suffix, by the Public Suffix List;
// d itself when d is a public suffix or has nothing below one.
func organizationalDomain(d string) string {
	if od, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return od
	}
	return d
}

// aligned compares an authenticated domain with the From domain (RFC
// 7489 section 3.1): strict mode wants them equal, relaxed mode the same
// organizational domain.
func aligned(authenticated, from string, mode dmarc.AlignmentMode) bool {
	authenticated = strings.ToLower(strings.TrimSuffix(authenticated, "."))
	if authenticated == "" {
		return false
	}
	if authenticated == from {
		return true
	}
	if mode == dmarc.AlignmentStrict {
		return false
	}
	return organizationalDomain(authenticated) == organizationalDomain(from)
}

// lookupPolicy discovers the DMARC record of the From domain (RFC 7489
// section 6.6.3): _dmarc.<from>, else _dmarc.<organizational domain>. A
// name with several DMARC records ends discovery without a policy, as
// step 5 says. status is "" when a record was found, else none,
// temperror (DNS failure) or permerror (a record that does not parse).
func (v *Verifier) lookupPolicy(ctx context.Context, from string) (pol *policyRecord, status Status, detail string) {
	names := []string{from}
	if od := organizationalDomain(from); od != from {
		names = append(names, od)
	}
	for _, d := range names {
		txts, err := v.opts.Resolver.LookupTXT(ctx, "_dmarc."+d)
		var de *net.DNSError
		switch {
		case err == nil:
		case errors.As(err, &de) && de.IsNotFound:
			continue
		default:
			// Temporary failures, and anything we cannot classify:
			// the domain owner has not said "no record".
			return nil, StatusTempError, fmt.Sprintf("looking up _dmarc.%s: %v", d, err)
		}
		var records []string
		for _, txt := range txts {
			if isDMARCRecord(txt) {
				records = append(records, txt)
			}
		}
		switch len(records) {
		case 0:
			continue
		case 1:
		default:
			return nil, StatusNone, fmt.Sprintf("_dmarc.%s has %d DMARC records; RFC 7489 section 6.6.3 applies none", d, len(records))
		}
		rec, err := dmarc.Parse(records[0])
		if err != nil {
			return nil, StatusPermError, fmt.Sprintf("_dmarc.%s: %v", d, err)
		}
		return &policyRecord{rec: rec, at: d}, "", ""
	}
	return nil, StatusNone, "no DMARC record"
}

// isDMARCRecord reports whether txt starts with the version tag of DMARC
// 1 (RFC 7489 section 6.4: "v=DMARC1" first, white space allowed around
// "=", the value case-sensitive).
func isDMARCRecord(txt string) bool {
	first, _, _ := strings.Cut(txt, ";")
	k, val, ok := strings.Cut(first, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(val) == "DMARC1"
}

// evaluateDMARC decides DMARC for a message whose policy was found: it
// passes when SPF or a DKIM signature passed with a domain aligned with
// the From domain (RFC 7489 section 4.2); otherwise the requested policy
// applies, p= or, when the record is the organizational domain's and
// From is a subdomain, sp= (section 6.3), sampled by pct= (section
// 6.6.4: outside the sample the next milder policy applies).
func (v *Verifier) evaluateDMARC(from string, pol *policyRecord, spfRes SPFResult, dkims []DKIMResult) DMARCResult {
	res := DMARCResult{From: from}
	rec := pol.rec
	res.SPFAligned = spfRes.Status == StatusPass && aligned(spfRes.Domain, from, rec.SPFAlignment)
	for _, d := range dkims {
		if d.Status == StatusPass && aligned(d.Domain, from, rec.DKIMAlignment) {
			res.DKIMAligned = true
			break
		}
	}
	policy := rec.Policy
	if pol.at != from && rec.SubdomainPolicy != "" {
		policy = rec.SubdomainPolicy
	}
	res.Policy = string(policy)
	if res.SPFAligned || res.DKIMAligned {
		res.Status, res.Applied = StatusPass, string(dmarc.PolicyNone)
		return res
	}
	res.Status = StatusFail
	applied := policy
	if pct := rec.Percent; pct != nil && *pct < 100 && !v.sample(*pct) {
		switch policy {
		case dmarc.PolicyReject:
			applied = dmarc.PolicyQuarantine
		case dmarc.PolicyQuarantine:
			applied = dmarc.PolicyNone
		}
	}
	res.Applied = string(applied)
	res.Detail = "no SPF or DKIM pass aligned with the From domain"
	return res
}

// samplePercent reports true for pct percent of calls.
func samplePercent(pct int) bool {
	return rand.IntN(100) < pct
}

package autoconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"blitiri.com.ar/go/spf"

	"postfach/internal/dns"
)

// Status is what CheckRecords found for one record.
type Status int

const (
	StatusOK      Status = iota
	StatusWeak           // present and valid, but weaker than it should be
	StatusMissing        // not published
	StatusWrong          // published with another value
	StatusError          // the lookup failed (timeout, SERVFAIL)
)

func (s Status) String() string {
	return [...]string{"OK", "WEAK", "MISSING", "WRONG", "ERROR"}[s]
}

// Result is the check of one record.
type Result struct {
	Record Record
	Status Status
	Detail string
}

// Severity folds a result into an exit status: 0 fine, 1 a warning (a
// weak record, or a problem with an optional one), 2 a failure (a
// required record missing, wrong or not resolvable).
func (r Result) Severity() int {
	switch {
	case r.Status == StatusOK:
		return 0
	case r.Status == StatusWeak || !r.Record.Required:
		return 1
	}
	return 2
}

// CheckRecords looks up each record through res and compares it with
// what Records asked for. SPF is evaluated, not compared as text: a
// record that authorizes the server's addresses for the domain is fine
// whatever its wording.
func CheckRecords(ctx context.Context, res dns.Resolver, records []Record) []Result {
	c := &checker{res: res}
	var out []Result
	for _, r := range records {
		status, detail := c.check(ctx, r)
		out = append(out, Result{Record: r, Status: status, Detail: detail})
	}
	return out
}

type checker struct {
	res dns.Resolver
	// hostAddrs caches the hostname's addresses, which several checks
	// need.
	hostAddrs map[string][]netip.Addr
}

func (c *checker) check(ctx context.Context, r Record) (Status, string) {
	switch r.Kind {
	case KindMX:
		return c.checkMX(ctx, r)
	case KindAddress:
		return c.checkAddress(ctx, r)
	case KindPTR:
		return c.checkPTR(ctx, r)
	case KindSPF, KindSPFHelo:
		return c.checkSPF(ctx, r)
	case KindDKIM:
		return c.checkDKIM(ctx, r)
	case KindDMARC:
		return c.checkDMARC(ctx, r)
	case KindSRV:
		return c.checkSRV(ctx, r)
	case KindAlias:
		return c.checkAlias(ctx, r)
	case KindMTASTS:
		return c.checkTXTPrefix(ctx, r, "v=STSv1", true)
	case KindTLSRPT:
		return c.checkTXTPrefix(ctx, r, "v=TLSRPTv1", false)
	}
	return StatusError, "unknown record kind " + r.Kind
}

// lookupErr maps a lookup error to a status: "not found" is missing,
// anything else an error.
func lookupErr(err error) (Status, string) {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return StatusMissing, "not published"
	}
	return StatusError, "lookup failed: " + err.Error()
}

func (c *checker) checkMX(ctx context.Context, r Record) (Status, string) {
	mxs, err := c.res.LookupMX(ctx, r.Name)
	if err != nil {
		return lookupErr(err)
	}
	want := r.Value[strings.IndexByte(r.Value, ' ')+1:]
	var hosts []string
	for _, mx := range mxs {
		hosts = append(hosts, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		if strings.EqualFold(fqdn(mx.Host), want) {
			return StatusOK, fmt.Sprintf("%d %s", mx.Pref, mx.Host)
		}
	}
	if len(hosts) == 0 {
		return StatusMissing, "no MX records"
	}
	return StatusWrong, "MX is " + strings.Join(hosts, ", ") + "; want " + want
}

// hostAddresses resolves the hostname once.
func (c *checker) hostAddresses(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, ok := c.hostAddrs[host]; ok {
		return a, nil
	}
	addrs, err := c.res.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	if c.hostAddrs == nil {
		c.hostAddrs = map[string][]netip.Addr{}
	}
	c.hostAddrs[host] = addrs
	return addrs, nil
}

func (c *checker) checkAddress(ctx context.Context, r Record) (Status, string) {
	addrs, err := c.hostAddresses(ctx, r.Name)
	if err != nil {
		return lookupErr(err)
	}
	if len(addrs) == 0 {
		return StatusMissing, "no addresses"
	}
	list := joinAddrs(addrs)
	if r.Addr.IsValid() && !slices.Contains(addrs, r.Addr) {
		return StatusWrong, r.Name + " has " + list + ", not " + r.Addr.String()
	}
	return StatusOK, list
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// checkPTR checks forward-confirmed reverse DNS: each address of the
// hostname names the hostname back. Receivers reject or mark mail from
// addresses that fail it.
func (c *checker) checkPTR(ctx context.Context, r Record) (Status, string) {
	addrs := []netip.Addr{r.Addr}
	if !r.Addr.IsValid() {
		var err error
		if addrs, err = c.hostAddresses(ctx, r.Value); err != nil || len(addrs) == 0 {
			return StatusError, "cannot check: " + r.Value + " has no addresses"
		}
	}
	var problems []string
	status := StatusOK
	for _, a := range addrs {
		names, err := c.res.LookupAddr(ctx, a.String())
		if err != nil {
			st, detail := lookupErr(err)
			status = max(status, st)
			problems = append(problems, a.String()+": "+detail)
			continue
		}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(fqdn(n), r.Value) }) {
			status = max(status, StatusWrong)
			problems = append(problems, a.String()+" names "+strings.Join(names, ", "))
		}
	}
	if status == StatusOK {
		return StatusOK, joinAddrs(addrs) + " name " + r.Value
	}
	return status, strings.Join(problems, "; ") + "; want " + r.Value
}

// txtRecords returns the TXT records at name that start with prefix
// (case-insensitive, followed by ";", space or the end).
func (c *checker) txtRecords(ctx context.Context, name, prefix string) ([]string, error) {
	txts, err := c.res.LookupTXT(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range txts {
		t = strings.TrimSpace(t)
		if len(t) >= len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) &&
			(len(t) == len(prefix) || t[len(prefix)] == ';' || t[len(prefix)] == ' ') {
			out = append(out, t)
		}
	}
	return out, nil
}

// checkSPF evaluates the SPF policy of the record's name for every
// address of the hostname (RFC 7208 check_host): each must pass.
func (c *checker) checkSPF(ctx context.Context, r Record) (Status, string) {
	recs, err := c.txtRecords(ctx, r.Name, "v=spf1")
	if err != nil {
		return lookupErr(err)
	}
	switch len(recs) {
	case 0:
		return StatusMissing, "no SPF record"
	case 1:
	default:
		// RFC 7208 section 4.5: more than one record is a permerror.
		return StatusWrong, fmt.Sprintf("%d SPF records: receivers treat that as an error (RFC 7208 section 4.5)", len(recs))
	}
	host := r.Host
	if host == "" {
		host = r.Name
	}
	addrs, err := c.hostAddresses(ctx, host)
	if err != nil || len(addrs) == 0 {
		return StatusError, fmt.Sprintf("%q is published, but %s has no addresses to evaluate it for", recs[0], host)
	}
	domain := strings.TrimSuffix(r.Name, ".")
	helo := strings.TrimSuffix(host, ".")
	for _, a := range addrs {
		res, err := spf.CheckHostWithSender(net.IP(a.AsSlice()), helo, "postmaster@"+domain,
			spf.WithContext(ctx), spf.WithResolver(c.res))
		if res != spf.Pass {
			detail := fmt.Sprintf("%q gives %s for %s (%s)", recs[0], res, a, helo)
			if err != nil {
				detail += ": " + err.Error()
			}
			if res == spf.TempError {
				return StatusError, detail
			}
			return StatusWrong, detail + "; mail from this server fails SPF"
		}
	}
	return StatusOK, fmt.Sprintf("%q passes for %s", recs[0], joinAddrs(addrs))
}

// checkDKIM compares the published key (p=) with the local one.
func (c *checker) checkDKIM(ctx context.Context, r Record) (Status, string) {
	recs, err := c.txtRecords(ctx, r.Name, "v=DKIM1")
	if err != nil {
		return lookupErr(err)
	}
	if len(recs) == 0 {
		// v= is optional in key records (RFC 6376 section 3.6.1).
		all, err := c.res.LookupTXT(ctx, r.Name)
		if err == nil {
			recs = all
		}
	}
	want := tagValue(r.Value, "p")
	for _, t := range recs {
		if got := tagValue(t, "p"); got == want {
			return StatusOK, "the key matches the server's"
		}
	}
	if len(recs) == 0 {
		return StatusMissing, "not published"
	}
	return StatusWrong, "the published key differs from the server's: signatures will fail"
}

// tagValue returns the value of tag in a tag=value list (RFC 6376
// section 3.2), white space removed.
func tagValue(list, tag string) string {
	for part := range strings.SplitSeq(list, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(k) == tag {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

func (c *checker) checkDMARC(ctx context.Context, r Record) (Status, string) {
	recs, err := c.txtRecords(ctx, r.Name, "v=DMARC1")
	if err != nil {
		return lookupErr(err)
	}
	switch len(recs) {
	case 0:
		return StatusMissing, "no DMARC record"
	case 1:
	default:
		// RFC 7489 section 6.6.3: several records mean none applies.
		return StatusWrong, fmt.Sprintf("%d DMARC records: receivers apply none of them (RFC 7489 section 6.6.3)", len(recs))
	}
	switch p := strings.ToLower(tagValue(recs[0], "p")); p {
	case "reject", "quarantine":
		return StatusOK, fmt.Sprintf("%q", recs[0])
	case "none":
		return StatusWeak, fmt.Sprintf("%q: p=none only monitors; forged mail is still delivered", recs[0])
	default:
		return StatusWrong, fmt.Sprintf("%q has no valid p= policy", recs[0])
	}
}

func (c *checker) checkSRV(ctx context.Context, r Record) (Status, string) {
	_, srvs, err := c.res.LookupSRV(ctx, "", "", r.Name)
	if err != nil {
		return lookupErr(err)
	}
	if len(srvs) == 0 {
		return StatusMissing, "not published"
	}
	f := strings.Fields(r.Value) // priority weight port target
	wantPort, wantTarget := f[2], f[3]
	var got []string
	ok := false
	for _, s := range srvs {
		target := fqdn(s.Target)
		got = append(got, fmt.Sprintf("%d %s", s.Port, target))
		if wantTarget == "." {
			ok = target == "."
			if !ok {
				break
			}
			continue
		}
		if target == wantTarget && fmt.Sprint(s.Port) == wantPort {
			ok = true
		}
	}
	if ok {
		return StatusOK, strings.Join(got, ", ")
	}
	if wantTarget == "." {
		return StatusWrong, "announces port " + strings.Join(got, ", ") + ", which the server does not offer; publish \"0 0 0 .\" or remove it"
	}
	return StatusWrong, "points to " + strings.Join(got, ", ") + "; want port " + wantPort + " on " + wantTarget
}

// checkAlias accepts a CNAME to the hostname, or the same addresses.
func (c *checker) checkAlias(ctx context.Context, r Record) (Status, string) {
	cname, err := c.res.LookupCNAME(ctx, r.Name)
	if err != nil {
		return lookupErr(err)
	}
	if strings.EqualFold(fqdn(cname), r.Value) {
		return StatusOK, "CNAME " + r.Value
	}
	got, err := c.res.LookupNetIP(ctx, "ip", r.Name)
	if err != nil {
		return lookupErr(err)
	}
	want, err := c.hostAddresses(ctx, r.Value)
	if err != nil {
		return StatusError, "cannot compare: " + r.Value + " does not resolve"
	}
	for i := range got {
		got[i] = got[i].Unmap()
	}
	if sameAddrs(got, want) {
		return StatusOK, "same addresses as " + r.Value + ": " + joinAddrs(got)
	}
	return StatusWrong, "resolves to " + joinAddrs(got) + "; " + r.Value + " has " + joinAddrs(want)
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}

// checkTXTPrefix wants exactly one record with the prefix; exact asks
// for the expected value (MTA-STS: the id must be the current policy's).
func (c *checker) checkTXTPrefix(ctx context.Context, r Record, prefix string, exact bool) (Status, string) {
	recs, err := c.txtRecords(ctx, r.Name, prefix)
	if err != nil {
		return lookupErr(err)
	}
	switch len(recs) {
	case 0:
		return StatusMissing, "no " + prefix + " record"
	case 1:
	default:
		// RFC 8461 section 3.1 and RFC 8460 section 3: several records
		// are an error; senders use none.
		return StatusWrong, fmt.Sprintf("%d %s records: senders use none of them", len(recs), prefix)
	}
	if exact && tagValue(recs[0], "id") != tagValue(r.Value, "id") {
		return StatusWrong, fmt.Sprintf("%q: the served policy's id is %s; publish it so that senders fetch the current policy", recs[0], tagValue(r.Value, "id"))
	}
	if !exact && tagValue(recs[0], "rua") == "" {
		return StatusWrong, fmt.Sprintf("%q has no rua= address for reports", recs[0])
	}
	return StatusOK, fmt.Sprintf("%q", recs[0])
}

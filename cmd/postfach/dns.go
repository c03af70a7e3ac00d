package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"postfach/internal/autoconfig"
	"postfach/internal/dns"
	"postfach/internal/mailauth"
)

const dnsHelp = `The records come from the configuration: the hostname, the listeners that
run (SRV records announce them; those that are off get "0 0 0 .", which
tells clients the service is not offered), the domain's DKIM keys in
<data_dir>/dkim/<domain>/, and the [mta_sts] policy. Lines commented out
are hints: records someone else publishes (the PTR, set by whoever owns the
address) or values postfach cannot know (the server's public addresses when
the listeners bind all addresses).`

func dnsCommand() *command {
	return &command{
		name:    "dns",
		args:    "DOMAIN",
		summary: "print the DNS records DOMAIN needs, in zone file syntax",
		help: dnsHelp + `

Check what is published with: postfach dns check DOMAIN`,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, domain, records, err := a.dnsRecords(configPath, args[0])
			if err != nil {
				return err
			}
			writeZone(a.stdout, ad, domain, records)
			return nil
		},
	}
}

func dnsCheckCommand() *command {
	return &command{
		name:    "dns check",
		args:    "DOMAIN",
		summary: "look up the records of `postfach dns DOMAIN` and report each as OK, weak, missing or wrong",
		help: `Every record is looked up through the resolver of the [dns] configuration
(its zone_file and nameservers; the system resolver when neither is set).
SPF is evaluated for each address of the hostname rather than compared as
text, DKIM keys are compared with the server's, and aliases may be CNAMEs
or carry the hostname's addresses.

Exit status: 0 when every record is right, 1 when only optional records
(SRV, autoconfig, MTA-STS, TLS-RPT) are missing or wrong, or a record is
weak (DMARC p=none), 2 when a required one is (MX, addresses, PTR, SPF,
DKIM, DMARC) or a lookup failed.`,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, domain, records, err := a.dnsRecords(configPath, args[0])
			if err != nil {
				return err
			}
			res, err := dns.New(ad.cfg.DNS)
			if err != nil {
				return err
			}
			// Hints about listeners that are off describe records that
			// need not exist: they are not checked.
			records = slices.DeleteFunc(records, func(r autoconfig.Record) bool {
				return r.Hint && r.Kind != autoconfig.KindAddress && r.Kind != autoconfig.KindPTR
			})
			ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
			defer cancel()
			results := autoconfig.CheckRecords(ctx, res, records)
			worst := writeDNSCheck(a.stdout, domain, results)
			if worst > 0 {
				return exitStatus(worst)
			}
			return nil
		},
	}
}

// dnsRecords loads the configuration and the domain's DKIM keys and
// returns the records the domain needs. A domain the store does not
// know gets its records all the same, with a warning.
func (a *app) dnsRecords(configPath, arg string) (*admin, string, []autoconfig.Record, error) {
	domain, err := autoconfig.NormalizeDomain(arg)
	if err != nil {
		return nil, "", nil, usagef("%q is not a domain name", arg)
	}
	ad, err := a.openAdmin(configPath, existingData)
	if err != nil {
		return nil, "", nil, err
	}
	defer ad.close()
	if ok, err := ad.domainExists(domain); err != nil {
		return nil, "", nil, err
	} else if !ok {
		fmt.Fprintf(a.stderr, "postfach: warning: domain %s does not exist here; add it with: postfach domain add %s\n", domain, domain)
	}
	keys, err := mailauth.LoadKeys(ad.cfg.DataDir, domain)
	if err != nil {
		return nil, "", nil, err
	}
	var dkim []autoconfig.DKIMKey
	for _, k := range keys {
		dkim = append(dkim, autoconfig.DKIMKey{Selector: k.Selector, TXT: k.Record().Value})
	}
	cfg := ad.cfg
	records := autoconfig.Records(autoconfig.RecordsOptions{
		Domain:    domain,
		Hostname:  cfg.Hostname,
		Services:  autoconfig.ConfiguredServices(cfg),
		HTTP:      autoconfig.Serves(cfg, "http"),
		HTTPS:     autoconfig.Serves(cfg, "https"),
		DKIM:      dkim,
		Policy:    autoconfig.PolicyFromConfig(cfg),
		Addresses: autoconfig.PublicAddresses(cfg),
	})
	return ad, domain, records, ad.close()
}

// writeZone prints the records with a header saying where they go.
func writeZone(w io.Writer, ad *admin, domain string, records []autoconfig.Record) {
	host := ad.cfg.Hostname
	fmt.Fprintf(w, "; DNS records of %s, served by %s (postfach dns %s).\n", domain, host, domain)
	fmt.Fprintf(w, "; Publish them in the zone of %s; names are absolute. Lines that are\n", domain)
	fmt.Fprintf(w, "; commented out are hints: records others publish, or values to fill in.\n")
	fmt.Fprintf(w, "; Clients and MTA-STS senders connect over TLS to %s, autoconfig.%s,\n", host, domain)
	fmt.Fprintf(w, "; autodiscover.%s and mta-sts.%s: the certificate must name them all.\n", domain, domain)
	hasDKIM := slices.ContainsFunc(records, func(r autoconfig.Record) bool { return r.Kind == autoconfig.KindDKIM })
	if !hasDKIM {
		fmt.Fprintf(w, ";\n; DKIM: %s has no keys yet (in %s). Make them with\n", domain, filepath.Join(ad.cfg.DataDir, mailauth.KeyDir, domain))
		fmt.Fprintf(w, "; postfach dkim generate %s, then run postfach dns %s again.\n", domain, domain)
	}
	fmt.Fprintln(w)
	io.WriteString(w, autoconfig.Zone(records))
}

// writeDNSCheck prints one line per record and returns the worst
// severity (0, 1 or 2).
func writeDNSCheck(w io.Writer, domain string, results []autoconfig.Result) int {
	counts := map[autoconfig.Status]int{}
	worst := 0
	wid := [3]int{len("STATUS"), len("TYPE"), len("NAME")}
	for _, r := range results {
		counts[r.Status]++
		worst = max(worst, r.Severity())
		wid[0] = max(wid[0], len(r.Status.String()))
		wid[1] = max(wid[1], len(r.Record.Type))
		wid[2] = max(wid[2], len(r.Record.Name))
	}
	var summary []string
	for _, s := range []autoconfig.Status{autoconfig.StatusOK, autoconfig.StatusWeak, autoconfig.StatusMissing, autoconfig.StatusWrong, autoconfig.StatusError} {
		if counts[s] > 0 {
			summary = append(summary, fmt.Sprintf("%d %s", counts[s], strings.ToLower(s.String())))
		}
	}
	fmt.Fprintf(w, "postfach dns check %s: %d records: %s\n\n", domain, len(results), strings.Join(summary, ", "))
	fmt.Fprintf(w, "%-*s  %-*s  %-*s  %s\n", wid[0], "STATUS", wid[1], "TYPE", wid[2], "NAME", "DETAIL")
	for _, r := range results {
		detail := r.Detail
		if r.Status != autoconfig.StatusOK && r.Status != autoconfig.StatusError {
			detail += "; want: " + r.Record.Type + " " + r.Record.Value
		}
		if !r.Record.Required && r.Status != autoconfig.StatusOK {
			detail += " (optional)"
		}
		fmt.Fprintf(w, "%-*s  %-*s  %-*s  %s\n", wid[0], r.Status, wid[1], r.Record.Type, wid[2], r.Record.Name, detail)
	}
	verdict := [...]string{"all records are right", "warnings: optional records are missing or wrong, or weak", "failures: required records are missing or wrong"}[worst]
	fmt.Fprintf(w, "\nVerdict: %s (exit status %d)\n", verdict, worst)
	return worst
}

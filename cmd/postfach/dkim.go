package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"postfach/internal/mailauth"
)

const dkimHelp = `Each domain has an RSA 2048 and an Ed25519 key (RFC 8463); outgoing mail
is signed with both. Keys live in <data_dir>/dkim/<domain>/<selector>.pem.
Selectors are "pf", the year and month the key was made, and "r" (RSA) or
"e" (Ed25519): pf202611r, pf202611e.

The records are printed in zone-file syntax. Publish every one: a TXT
record longer than 255 characters is split into several strings, which
DNS joins again.`

func dkimCommand() *command {
	return &command{
		name:    "dkim",
		args:    "[DOMAIN]",
		summary: "print the DKIM key records to publish in DNS",
		help: dkimHelp + `

Without DOMAIN, the records of every domain. Keys that no longer sign
(after a rotation) are listed as retired: keep their records a few days for
mail still in transit, then remove them.`,
		minArgs: 0, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			var domains []string
			if len(args) == 1 {
				name := normalizeDomain(args[0])
				if ok, err := ad.domainExists(name); err != nil {
					return err
				} else if !ok {
					return errNoDomain(name)
				}
				domains = []string{name}
			} else {
				all, err := ad.store.Domains(a.ctx)
				if err != nil {
					return err
				}
				for _, d := range all {
					domains = append(domains, d.Name)
				}
			}
			var missing []string
			for i, d := range domains {
				keys, err := mailauth.LoadKeys(ad.cfg.DataDir, d)
				if err != nil {
					return err
				}
				if len(keys) == 0 {
					missing = append(missing, d)
					continue
				}
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				printDKIMRecords(a.stdout, keys)
			}
			for _, d := range missing {
				fmt.Fprintf(a.stderr, "postfach dkim: domain %s has no DKIM keys; make them with: postfach dkim generate %s\n", d, d)
			}
			if len(args) == 1 && len(missing) == 1 {
				return errors.New("no keys")
			}
			return ad.close()
		},
	}
}

func dkimGenerateCommand() *command {
	return &command{
		name:    "dkim generate",
		args:    "DOMAIN",
		summary: "make DKIM keys for a domain and print their records",
		help: dkimHelp + `

Use it for domains added before DKIM signing existed, or to rotate keys: the
newest keys sign from the moment they exist (a running server picks them
up), so publish the new records at once. Keys rotate at most monthly.`,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			name := normalizeDomain(args[0])
			if ok, err := ad.domainExists(name); err != nil {
				return err
			} else if !ok {
				return errNoDomain(name)
			}
			if err := ad.generateDKIM(name); err != nil {
				return err
			}
			return ad.close()
		},
	}
}

// generateDKIM makes the keys of a domain and prints the records to
// publish. `domain add` calls it too.
func (ad *admin) generateDKIM(domain string) error {
	keys, err := mailauth.GenerateKeys(ad.cfg.DataDir, domain, time.Now())
	if errors.Is(err, mailauth.ErrKeysExist) {
		return fmt.Errorf("%v; to see the records: postfach dkim %s", err, domain)
	}
	if err != nil {
		return fmt.Errorf("making DKIM keys of %s: %w; retry with: postfach dkim generate %s", domain, err, domain)
	}
	fmt.Fprintf(ad.stdout, "; made DKIM keys for %s; publish these DNS records:\n", domain)
	all, err := mailauth.LoadKeys(ad.cfg.DataDir, domain)
	if err != nil {
		return err
	}
	if len(all) < len(keys) {
		all = keys
	}
	printDKIMRecords(ad.stdout, all)
	return nil
}

// ensureDKIM gives a new domain its keys, or shows the keys it kept from
// an earlier life (domain remove leaves <data_dir>/dkim alone, so that
// re-adding a domain keeps the records already published).
func (ad *admin) ensureDKIM(domain string) error {
	keys, err := mailauth.LoadKeys(ad.cfg.DataDir, domain)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return ad.generateDKIM(domain)
	}
	fmt.Fprintf(ad.stdout, "; %s has DKIM keys already; their DNS records:\n", domain)
	printDKIMRecords(ad.stdout, keys)
	return nil
}

// printDKIMRecords prints the records of a domain's keys (newest first),
// those that sign first, retired ones marked.
func printDKIMRecords(w io.Writer, keys []*mailauth.Key) {
	signing := map[*mailauth.Key]bool{}
	for _, k := range mailauth.SigningKeys(keys) {
		signing[k] = true
	}
	for _, k := range keys {
		rec := k.Record()
		if !signing[k] {
			rec.Comment += " (retired: no longer signs; remove once mail signed with it has arrived)"
		}
		fmt.Fprintln(w, rec.String())
	}
}

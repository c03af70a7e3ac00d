package main

import (
	"errors"
	"fmt"

	"postfach/internal/store"
)

func domainAddCommand() *command {
	return &command{
		name:    "domain add",
		args:    "DOMAIN",
		summary: "add a mail domain",
		help:    "Accounts can be added in a domain once it exists. DOMAIN is stored in lower case.\nIts DKIM keys are made too, and the DNS records to publish printed (see: postfach help dkim).",
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, createData)
			if err != nil {
				return err
			}
			defer ad.close()
			name := normalizeDomain(args[0])
			d, err := ad.store.AddDomain(a.ctx, name)
			switch {
			case errors.Is(err, store.ErrExists):
				return fmt.Errorf("domain %s already exists", name)
			case errors.Is(err, store.ErrInvalidName):
				return fmt.Errorf("%q is not a valid domain name", args[0])
			case err != nil:
				return err
			}
			fmt.Fprintf(a.stdout, "added domain %s\n", d.Name)
			if err := ad.ensureDKIM(d.Name); err != nil {
				return err
			}
			return ad.close()
		},
	}
}

func domainListCommand() *command {
	return &command{
		name:    "domain list",
		summary: "list the mail domains, one per line",
		minArgs: 0, maxArgs: 0,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			domains, err := ad.store.Domains(a.ctx)
			if err != nil {
				return err
			}
			for _, d := range domains {
				fmt.Fprintln(a.stdout, d.Name)
			}
			return nil
		},
	}
}

func domainRemoveCommand() *command {
	return &command{
		name:    "domain remove",
		args:    "DOMAIN",
		summary: "remove a mail domain that has no accounts",
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			name := normalizeDomain(args[0])
			err = ad.store.RemoveDomain(a.ctx, name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("domain %s does not exist", name)
			case errors.Is(err, store.ErrNotAllowed):
				return fmt.Errorf("domain %s still has accounts; list them with: postfach user list %s, and remove them first", name, name)
			case err != nil:
				return err
			}
			fmt.Fprintf(a.stdout, "removed domain %s\n", name)
			return ad.close()
		},
	}
}

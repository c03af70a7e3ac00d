package main

import (
	"errors"
	"fmt"
	"strings"

	"postfach/internal/store"
)

// maxAliasTargets bounds the targets one command line adds or removes.
const maxAliasTargets = 100

const aliasHelp = `An alias delivers mail for its address to its targets: accounts, other
aliases, or addresses elsewhere (forwarded through the outbound queue,
with the original sender). "@DOMAIN" is the domain's catch-all: it takes
mail for every address of the domain that is neither an account nor an
alias. Subaddresses need no alias: with the default delimiter, mail for
alice+news@example.org reaches alice@example.org.

An account may send as the aliases that name it (submission checks the
envelope sender and the From header field); a catch-all does not make
the whole domain its own.`

// aliases returns the store's alias support.
func (ad *admin) aliases() (store.Aliases, error) {
	al, ok := ad.store.(store.Aliases)
	if !ok {
		return nil, errors.New("this store does not support aliases")
	}
	return al, nil
}

// splitAliasAddress checks an alias address: a full address, or
// "@DOMAIN".
func splitAliasAddress(s string) (address, domain string, err error) {
	if d, ok := strings.CutPrefix(strings.TrimSpace(s), "@"); ok {
		domain = normalizeDomain(d)
		if domain == "" {
			return "", "", usagef("%q names no domain", s)
		}
		return "@" + domain, domain, nil
	}
	return splitAddress(s)
}

func aliasAddCommand() *command {
	return &command{
		name:    "alias add",
		args:    "ADDRESS|@DOMAIN TARGET...",
		summary: "add an alias, or targets to one",
		help:    aliasHelp,
		minArgs: 2, maxArgs: 1 + maxAliasTargets,
		run: func(a *app, configPath string, args []string) error {
			address, domain, err := splitAliasAddress(args[0])
			if err != nil {
				return err
			}
			targets := make([]string, 0, len(args)-1)
			for _, t := range args[1:] {
				addr, _, err := splitAddress(t)
				if err != nil {
					return err
				}
				targets = append(targets, addr)
			}
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			al, err := ad.aliases()
			if err != nil {
				return err
			}
			alias, err := al.AddAlias(a.ctx, address, targets)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return errNoDomain(domain)
			case errors.Is(err, store.ErrExists):
				return fmt.Errorf("%s is an account; an alias cannot take its address", address)
			case errors.Is(err, store.ErrInvalidName):
				return fmt.Errorf("invalid alias: %v", err)
			case err != nil:
				return err
			}
			fmt.Fprintf(a.stdout, "%s -> %s\n", alias.Address, strings.Join(alias.Targets, ", "))
			return ad.close()
		},
	}
}

func aliasListCommand() *command {
	return &command{
		name:    "alias list",
		args:    "[DOMAIN]",
		summary: "list the aliases, of one domain or all: ADDRESS -> TARGET, ...",
		minArgs: 0, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			al, err := ad.aliases()
			if err != nil {
				return err
			}
			domain := ""
			if len(args) == 1 {
				domain = normalizeDomain(args[0])
				if ok, err := ad.domainExists(domain); err != nil {
					return err
				} else if !ok {
					return errNoDomain(domain)
				}
			}
			list, err := al.AliasList(a.ctx, domain)
			if err != nil {
				return err
			}
			for _, alias := range list {
				fmt.Fprintf(a.stdout, "%s -> %s\n", alias.Address, strings.Join(alias.Targets, ", "))
			}
			return nil
		},
	}
}

func aliasRemoveCommand() *command {
	return &command{
		name:    "alias remove",
		args:    "ADDRESS|@DOMAIN [TARGET...]",
		summary: "remove targets from an alias, or the whole alias",
		help:    "Without TARGET the alias goes; an alias left without targets goes too.",
		minArgs: 1, maxArgs: 1 + maxAliasTargets,
		run: func(a *app, configPath string, args []string) error {
			address, _, err := splitAliasAddress(args[0])
			if err != nil {
				return err
			}
			var targets []string
			for _, t := range args[1:] {
				addr, _, err := splitAddress(t)
				if err != nil {
					return err
				}
				targets = append(targets, addr)
			}
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			al, err := ad.aliases()
			if err != nil {
				return err
			}
			err = al.RemoveAlias(a.ctx, address, targets)
			switch {
			case errors.Is(err, store.ErrNotFound) && len(targets) > 0:
				return fmt.Errorf("alias %s has none of those targets (list them with: postfach alias list)", address)
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("alias %s does not exist", address)
			case err != nil:
				return err
			}
			if len(targets) == 0 {
				fmt.Fprintf(a.stdout, "removed alias %s\n", address)
			} else {
				fmt.Fprintf(a.stdout, "removed %s from alias %s\n", strings.Join(targets, ", "), address)
			}
			return ad.close()
		},
	}
}

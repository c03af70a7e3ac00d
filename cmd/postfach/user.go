package main

import (
	"errors"
	"fmt"

	"postfach/internal/auth"
	"postfach/internal/store"
)

const passwordHelp = `The password is read from standard input when it is not a terminal (the
first line, without its line ending), else prompted for twice without
echo. It is never taken from the command line, where other users could
see it. At most 255 octets of UTF-8, without NUL, CR or LF.

The password policy: at least [auth] min_password_length characters
(default 12), and not one of the most common passwords (a list of about
6000 ships with postfach), nor one with a few digits or symbols added, nor
the address or part of it. Several unrelated words make a long password
that is easy to remember. The password's SCRAM-SHA-256 keys are stored
beside its argon2id hash.`

func userAddCommand() *command {
	return &command{
		name:    "user add",
		args:    "ADDRESS",
		summary: "add an account with a password",
		help: `ADDRESS is the full address, which is also the login name; its domain
must exist. The account gets INBOX, Drafts, Sent, Junk, Trash and Archive.

` + passwordHelp,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, address, domain, err := a.openForAddress(configPath, args[0], createData)
			if err != nil {
				return err
			}
			defer ad.close()
			// Check what can be checked before asking for a password.
			if ok, err := ad.domainExists(domain); err != nil {
				return err
			} else if !ok {
				return errNoDomain(domain)
			}
			if _, err := ad.store.AccountByAddress(a.ctx, address); err == nil {
				return fmt.Errorf("account %s already exists; to set its password: postfach user passwd %s", address, address)
			} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalidName) {
				return err
			}
			svc, err := ad.authService()
			if err != nil {
				return err
			}
			pw, err := ad.readPassword(address)
			if err != nil {
				return err
			}
			hash, err := svc.HashNewPassword(a.ctx, address, pw)
			if err != nil {
				return err
			}
			acct, err := ad.store.AddAccount(a.ctx, address, hash)
			switch {
			case errors.Is(err, store.ErrExists):
				return fmt.Errorf("account %s already exists", address)
			case errors.Is(err, store.ErrNotFound):
				return errNoDomain(domain)
			case errors.Is(err, store.ErrInvalidName):
				return fmt.Errorf("%q is not a valid address", args[0])
			case err != nil:
				return err
			}
			if err := svc.StoreSCRAMKeys(a.ctx, acct, pw); err != nil {
				fmt.Fprintf(a.stderr, "postfach: SCRAM keys not stored (the first PLAIN login will store them): %v\n", err)
			}
			fmt.Fprintf(a.stdout, "added account %s\n", acct.Address)
			return ad.close()
		},
	}
}

func userListCommand() *command {
	return &command{
		name:    "user list",
		args:    "[DOMAIN]",
		summary: "list the accounts, of one domain or all, one per line",
		help:    `Accounts whose login is disabled (no password) are followed by "(login disabled)".`,
		minArgs: 0, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, err := a.openAdmin(configPath, existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			domain := ""
			if len(args) == 1 {
				domain = normalizeDomain(args[0])
				if ok, err := ad.domainExists(domain); err != nil {
					return err
				} else if !ok {
					return errNoDomain(domain)
				}
			}
			accounts, err := ad.store.Accounts(a.ctx, domain)
			if err != nil {
				return err
			}
			for _, acct := range accounts {
				if acct.PasswordHash == "" {
					fmt.Fprintf(a.stdout, "%s (login disabled)\n", acct.Address)
				} else {
					fmt.Fprintln(a.stdout, acct.Address)
				}
			}
			return nil
		},
	}
}

func userPasswdCommand() *command {
	return &command{
		name:    "user passwd",
		args:    "ADDRESS",
		summary: "set an account's password",
		help: `New logins need the new password at once, also on a running server;
sessions logged in with the old password are closed within seconds.
Sessions of app passwords stay.

` + passwordHelp,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ac, err := a.openAccount(configPath, args[0])
			if err != nil {
				return err
			}
			defer ac.close()
			pw, err := ac.readPassword(ac.address)
			if err != nil {
				return err
			}
			if err := ac.svc.SetPassword(a.ctx, ac.acct, pw); errors.Is(err, store.ErrNotFound) {
				return errNoAccount(ac.address)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "password of %s changed\n", ac.address)
			return ac.close()
		},
	}
}

func userRemoveCommand() *command {
	return &command{
		name:    "user remove",
		args:    "ADDRESS",
		summary: "remove an account and all its mail",
		help:    "The account's mailboxes and messages are deleted; this cannot be undone.",
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ad, address, _, err := a.openForAddress(configPath, args[0], existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			if err := ad.store.RemoveAccount(a.ctx, address); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("account %s does not exist", address)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed account %s and its mail\n", address)
			return ad.close()
		},
	}
}

// authService is the auth layer over the command's store, with the
// configured hashing parameters and password policy.
func (ad *admin) authService() (*auth.Service, error) {
	return auth.NewService(ad.store, auth.Options{
		Params:            ad.params(),
		SCRAMIterations:   ad.cfg.Auth.SCRAMIterations,
		MinPasswordLength: ad.cfg.Auth.MinPasswordLength,
		MaxConcurrent:     1,
		CacheTTL:          -1,
	})
}

// account looks up an existing account.
func (ad *admin) account(address string) (store.Account, error) {
	acct, err := ad.store.AccountByAddress(ad.ctx, address)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidName) {
		return store.Account{}, errNoAccount(address)
	}
	return acct, err
}

// accountAdmin is what a command that changes one account's credentials
// works with: the open store, the account and the auth layer over them.
type accountAdmin struct {
	*admin
	address string
	acct    store.Account
	svc     *auth.Service
}

// openAccount checks an address argument, opens the store and looks up
// the account: a mistyped address is reported before any file is
// touched, a missing account before anything changes. The caller closes
// the store, as after openForAddress; on error it is closed already.
func (a *app) openAccount(configPath, arg string) (*accountAdmin, error) {
	ad, address, _, err := a.openForAddress(configPath, arg, existingData)
	if err != nil {
		return nil, err
	}
	acct, err := ad.account(address)
	if err != nil {
		ad.close()
		return nil, err
	}
	svc, err := ad.authService()
	if err != nil {
		ad.close()
		return nil, err
	}
	return &accountAdmin{admin: ad, address: address, acct: acct, svc: svc}, nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"postfach/internal/auth"
	"postfach/internal/store"
)

const appPasswordHelp = `An app password is a random password for one mail client. The client logs
in with the account's address as user name and the app password instead
of the account password, over IMAP, POP3 or SMTP as its scope allows.
Each device gets its own, so one lost phone is revoked alone. Once
two-factor login is on (postfach 2fa enable), app passwords are the only
way mail clients log in.`

func appPasswordAddCommand() *command {
	var name, scope string
	return &command{
		name:    "app-password add",
		args:    "ADDRESS",
		summary: "create an app password for a mail client and print it once",
		help: appPasswordHelp + `

Flags:
  --name NAME    what the password is for, e.g. phone (required; unique per account)
  --scope LIST   the protocols it opens: imap, pop3, smtp, comma-separated
                 (default all three)

The password is printed once and stored only as a hash. Clients that use
SCRAM need it exactly as printed; with PLAIN and LOGIN the dashes may be
left out.`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "")
			fs.StringVar(&scope, "scope", "", "")
		},
		run: func(a *app, configPath string, args []string) error {
			if strings.TrimSpace(name) == "" {
				return usagef("--name is required: what the password is for, e.g. --name phone")
			}
			sc, err := auth.ParseScope(scope)
			if err != nil {
				return usagef("--scope: %v", err)
			}
			ac, err := a.openAccount(configPath, args[0])
			if err != nil {
				return err
			}
			defer ac.close()
			pw, ap, err := ac.svc.AddAppPassword(a.ctx, ac.acct, strings.TrimSpace(name), sc)
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("%s already has an app password named %q; revoke it first: postfach app-password revoke %s %q", ac.address, strings.TrimSpace(name), ac.address, strings.TrimSpace(name))
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "App password %q of %s (%s):\n\n    %s\n\n", ap.Name, ac.address, strings.Join(ap.Scope, ", "), pw)
			fmt.Fprintf(a.stdout, "Enter it in the mail client in place of the account password, with\n%s as the user name. It is shown only now.\n", ac.address)
			return ac.close()
		},
	}
}

func appPasswordListCommand() *command {
	return &command{
		name:    "app-password list",
		args:    "ADDRESS",
		summary: "list an account's app passwords: name, scope, creation and last use",
		help: appPasswordHelp + `

The last use is recorded at most once a minute.`,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ac, err := a.openAccount(configPath, args[0])
			if err != nil {
				return err
			}
			defer ac.close()
			list, err := ac.svc.AppPasswords(a.ctx, ac.acct)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(a.stdout, "%s has no app passwords; add one with: postfach app-password add %s --name phone\n", ac.address, ac.address)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCOPE\tCREATED\tLAST USED")
			for _, ap := range list {
				last := "never"
				if !ap.LastUsed.IsZero() {
					last = formatTime(ap.LastUsed)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ap.Name, strings.Join(ap.Scope, ","), formatTime(ap.Created), last)
			}
			return tw.Flush()
		},
	}
}

func appPasswordRevokeCommand() *command {
	return &command{
		name:    "app-password revoke",
		args:    "ADDRESS NAME",
		summary: "revoke an app password; its open sessions are closed",
		help: `The next login with the app password fails, and sessions logged in with
it are closed within seconds, also on a running server.`,
		minArgs: 2, maxArgs: 2,
		run: func(a *app, configPath string, args []string) error {
			ac, err := a.openAccount(configPath, args[0])
			if err != nil {
				return err
			}
			defer ac.close()
			if err := ac.svc.RevokeAppPassword(a.ctx, ac.acct, args[1]); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s has no app password named %q; see: postfach app-password list %s", ac.address, args[1], ac.address)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked app password %q of %s; its sessions are closed within seconds\n", args[1], ac.address)
			return ac.close()
		},
	}
}

// formatTime shows a stored time in UTC, to the minute.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

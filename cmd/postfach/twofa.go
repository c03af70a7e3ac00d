package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
	"rsc.io/qr"

	"postfach/internal/auth"
)

const twoFactorHelp = `Two-factor login (TOTP, RFC 6238): once it is on, the account password no
longer opens IMAP, POP3 or SMTP, and mail clients log in with app passwords
(postfach app-password add); the web login asks for the password and a
code from the authenticator app.`

func twoFactorEnableCommand() *command {
	return &command{
		name:    "2fa enable",
		args:    "ADDRESS",
		summary: "turn on two-factor login: show a QR code, confirm a first code, print recovery codes",
		help: twoFactorHelp + `

Prints an otpauth:// URI and the same as a QR code for an authenticator app
(drawn for a terminal with a dark background), then asks for the code the
app shows: read from standard input when it is not a terminal (one line).
On success it prints ten recovery codes, each good for one login without
the app; they are stored only as hashes, so keep them now.

Sessions logged in with the account password are closed.`,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ac, err := a.openAccount(configPath, args[0])
			if err != nil {
				return err
			}
			defer ac.close()
			if _, err := ac.svc.TOTPStatus(a.ctx, ac.acct); err == nil {
				return fmt.Errorf("two-factor login is already on for %s; to set it up again, first: postfach 2fa disable %s", ac.address, ac.address)
			} else if !errors.Is(err, auth.ErrTwoFactorOff) {
				return err
			}
			en, err := ac.svc.BeginTOTP(ac.acct, ac.cfg.Hostname)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Add this account to an authenticator app: scan the QR code, or open the\nURI, or type the secret in.\n\n")
			if err := writeQR(a.stdout, en.URI); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nURI:    %s\nSecret: %s\n\n", en.URI, en.Secret)
			codes, err := a.confirmTOTP(func(code string) ([]string, error) { return ac.svc.ConfirmTOTP(a.ctx, en, code) })
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Two-factor login is on for %s.\n\nRecovery codes, each good for one login without the app (shown only now):\n\n", ac.address)
			for _, c := range codes {
				fmt.Fprintf(a.stdout, "    %s\n", c)
			}
			fmt.Fprintf(a.stdout, "\nMail clients now need app passwords: postfach app-password add %s --name NAME\n", ac.address)
			return ac.close()
		},
	}
}

// confirmTOTP asks for the first code: three tries at a terminal, one
// line of standard input otherwise.
func (a *app) confirmTOTP(confirm func(code string) ([]string, error)) ([]string, error) {
	f, isFile := a.stdin.(*os.File)
	interactive := isFile && term.IsTerminal(int(f.Fd()))
	br := bufio.NewReader(io.LimitReader(a.stdin, 1024))
	tries := 1
	if interactive {
		tries = 3
	}
	for i := 0; i < tries; i++ {
		if interactive {
			fmt.Fprint(a.stderr, "Code shown by the app: ")
		}
		line, err := br.ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			return nil, errors.New("no code on standard input (give the app's six digits as one line); two-factor login stays off")
		}
		codes, err := confirm(strings.TrimSpace(line))
		if errors.Is(err, auth.ErrInvalidCode) {
			if i+1 < tries {
				fmt.Fprintln(a.stderr, "That code is not right; check the app's clock and try the next code.")
				continue
			}
			return nil, errors.New("the code is not right (is the app's clock right?); two-factor login stays off")
		}
		return codes, err
	}
	return nil, errors.New("unreachable")
}

// writeQR draws text as a QR code with Unicode half blocks, two module
// rows per line, light modules drawn and dark ones blank: right on a
// terminal with a dark background, as qrencode's UTF8 output. A quiet
// zone of two modules surrounds it.
func writeQR(w io.Writer, text string) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("QR code: %w", err)
	}
	const quiet = 2
	n := code.Size
	light := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return true
		}
		return !code.Black(x, y)
	}
	var b strings.Builder
	for y := -quiet; y < n+quiet; y += 2 {
		for x := -quiet; x < n+quiet; x++ {
			top, bottom := light(x, y), light(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func twoFactorDisableCommand() *command {
	return &command{
		name:    "2fa disable",
		args:    "ADDRESS",
		summary: "turn off two-factor login; the account password opens the mail protocols again",
		help:    twoFactorHelp + "\n\nThe TOTP secret and the unused recovery codes are deleted; app passwords stay.",
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			ac, err := a.openAccount(configPath, args[0])
			if err != nil {
				return err
			}
			defer ac.close()
			if err := ac.svc.DisableTOTP(a.ctx, ac.acct); errors.Is(err, auth.ErrTwoFactorOff) {
				return fmt.Errorf("two-factor login is already off for %s", ac.address)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "two-factor login is off for %s; the account password opens IMAP, POP3 and SMTP again\n", ac.address)
			return ac.close()
		},
	}
}

func twoFactorStatusCommand() *command {
	return &command{
		name:    "2fa status",
		args:    "[ADDRESS]",
		summary: "show whether two-factor login is on, for one account or all",
		help:    twoFactorHelp,
		minArgs: 0, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			var ad *admin
			var err error
			address := ""
			if len(args) == 1 {
				ad, address, _, err = a.openForAddress(configPath, args[0], existingData)
			} else {
				ad, err = a.openAdmin(configPath, existingData)
			}
			if err != nil {
				return err
			}
			defer ad.close()
			svc, err := ad.authService()
			if err != nil {
				return err
			}
			accounts, err := ad.store.Accounts(a.ctx, "")
			if err != nil {
				return err
			}
			if address != "" {
				acct, err := ad.account(address)
				if err != nil {
					return err
				}
				accounts = accounts[:0]
				accounts = append(accounts, acct)
			}
			for _, acct := range accounts {
				st, err := svc.TOTPStatus(a.ctx, acct)
				switch {
				case errors.Is(err, auth.ErrTwoFactorOff):
					fmt.Fprintf(a.stdout, "%s: off\n", acct.Address)
				case err != nil:
					return err
				default:
					fmt.Fprintf(a.stdout, "%s: on since %s, %d recovery codes left\n", acct.Address, formatTime(st.Enabled), st.RecoveryCodes)
				}
			}
			return nil
		},
	}
}

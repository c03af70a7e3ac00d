package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"postfach/internal/guard"
)

const banHelp = `A ban keeps an address (192.0.2.7, 2001:db8::7) or a network in CIDR
notation (192.0.2.0/24, 2001:db8:1::/48) from logging in over IMAP, POP3
and SMTP submission: its connections are closed at once. Mail delivery to
the MX port is not refused.

The server bans by itself (see [security] in the configuration); these
commands work on the same list, also while the server runs: it picks up
changes within two seconds.`

// guardStore opens the store and returns its ban list.
func (a *app) guardStore(configPath string) (*admin, guard.Store, error) {
	ad, err := a.openAdmin(configPath, existingData)
	if err != nil {
		return nil, nil, err
	}
	gs, ok := ad.store.(guard.Store)
	if !ok {
		ad.close()
		return nil, nil, errors.New("this store keeps no bans")
	}
	return ad, gs, nil
}

func parseBanTarget(s string) (netip.Prefix, error) {
	p, err := guard.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, usagef("%q is neither an IP address nor a network such as 192.0.2.0/24", s)
	}
	return p, nil
}

func banListCommand() *command {
	return &command{
		name:    "ban list",
		summary: "list the bans in force",
		help: `One ban per line: the address or network, when the ban ends (or
"permanent"), and why.

` + banHelp,
		minArgs: 0, maxArgs: 0,
		run: func(a *app, configPath string, args []string) error {
			ad, gs, err := a.guardStore(configPath)
			if err != nil {
				return err
			}
			defer ad.close()
			bans, err := gs.Bans(a.ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
			for _, b := range bans {
				if !b.Active(now) {
					continue
				}
				until := "permanent"
				if !b.Until.IsZero() {
					until = "until " + b.Until.UTC().Format("2006-01-02 15:04:05 UTC")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Prefix, until, b.Reason)
			}
			return tw.Flush()
		},
	}
}

func banAddCommand() *command {
	return &command{
		name:    "ban add",
		args:    "ADDRESS|NETWORK [DURATION]",
		summary: "ban an address or network, for DURATION (e.g. 24h) or for good",
		help: `Without DURATION the ban lasts until "postfach ban remove". DURATION is
a number with a unit: 90m, 24h, 720h. Adding a ban that exists replaces it.

A ban on a network spares the addresses accounts logged in from; ban
such an address by itself to shut it out.

` + banHelp,
		minArgs: 1, maxArgs: 2,
		run: func(a *app, configPath string, args []string) error {
			p, err := parseBanTarget(args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			b := guard.Ban{Prefix: p, Created: now, Reason: "postfach ban add"}
			if len(args) == 2 && args[1] != "permanent" {
				d, err := time.ParseDuration(args[1])
				if err != nil || d <= 0 {
					return usagef("duration %q: want a positive duration such as 24h", args[1])
				}
				b.Until = now.Add(d)
			}
			ad, gs, err := a.guardStore(configPath)
			if err != nil {
				return err
			}
			defer ad.close()
			if err := gs.PutBan(a.ctx, b); err != nil {
				return err
			}
			if b.Until.IsZero() {
				fmt.Fprintf(a.stdout, "banned %s until removed\n", p)
			} else {
				fmt.Fprintf(a.stdout, "banned %s until %s\n", p, b.Until.UTC().Format("2006-01-02 15:04:05 UTC"))
			}
			return ad.close()
		},
	}
}

func banRemoveCommand() *command {
	return &command{
		name:    "ban remove",
		args:    "ADDRESS|NETWORK",
		summary: "lift a ban",
		help: `Lifts the ban on exactly ADDRESS or NETWORK, and lets a running server
forget the failed logins counted under it. An address inside a banned
network stays banned until the network's ban is lifted.

` + banHelp,
		minArgs: 1, maxArgs: 1,
		run: func(a *app, configPath string, args []string) error {
			p, err := parseBanTarget(args[0])
			if err != nil {
				return err
			}
			ad, gs, err := a.guardStore(configPath)
			if err != nil {
				return err
			}
			defer ad.close()
			removed, err := gs.RemoveBan(a.ctx, p)
			if err != nil {
				return err
			}
			if removed {
				fmt.Fprintf(a.stdout, "lifted the ban on %s\n", p)
				return ad.close()
			}
			// Say which ban does cover it, if one does.
			bans, err := gs.Bans(a.ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			var covering []string
			for _, b := range bans {
				if b.Active(now) && b.Prefix.Bits() <= p.Bits() && b.Prefix.Contains(p.Addr()) {
					covering = append(covering, b.Prefix.String())
				}
			}
			if len(covering) > 0 {
				return fmt.Errorf("%s has no ban of its own; it is inside the banned %s", p, strings.Join(covering, ", "))
			}
			return fmt.Errorf("%s is not banned", p)
		},
	}
}

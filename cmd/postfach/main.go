// Command postfach is the postfach mail server and its administration
// tool: `postfach serve` runs the server; `domain`, `user` and `version`
// administer the same data directory, also while the server runs.
//
// This file dispatches subcommands; each group lives in its own file.
// Exit status: 0 on success, 1 on failure, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	// SIGINT and SIGTERM cancel ctx: serve shuts down gracefully, admin
	// commands stop (restoring the terminal). A second signal kills.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// configEnv names the environment variable that supplies --config's
// default.
const configEnv = "POSTFACH_CONFIG"

// app is one invocation: its streams and its context.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand ("serve", "user add").
type command struct {
	name    string // words after "postfach"
	args    string // positional arguments, for the usage line
	summary string
	help    string // more text for `postfach help NAME`
	minArgs int
	maxArgs int
	run     func(a *app, configPath string, args []string) error
	// flags, if set, defines the command's own flags (beside --config).
	flags func(fs *flag.FlagSet)
}

func (c *command) usage() string {
	u := "postfach " + c.name + " [--config FILE]"
	if c.args != "" {
		u += " " + c.args
	}
	return u
}

// commands lists every subcommand, in the order help shows them.
func commands() []*command {
	return []*command{
		serveCommand(),
		domainAddCommand(), domainListCommand(), domainRemoveCommand(),
		dkimCommand(), dkimGenerateCommand(),
		userAddCommand(), userListCommand(), userPasswdCommand(), userRemoveCommand(), userQuotaCommand(),
		aliasAddCommand(), aliasListCommand(), aliasRemoveCommand(),
		queueListCommand(), queueRetryCommand(), queueDropCommand(),
		banListCommand(), banAddCommand(), banRemoveCommand(),
		dnsCommand(), dnsCheckCommand(), checkCommand(),
		appPasswordAddCommand(), appPasswordListCommand(), appPasswordRevokeCommand(),
		twoFactorEnableCommand(), twoFactorDisableCommand(), twoFactorStatusCommand(),
		versionCommand(),
		benchCommand(), benchPrepareCommand(),
	}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run is the whole program, minus os.Exit and signals, so that tests run
// it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, stdin, stdout, stderr, os.Getenv)
}

func runEnv(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	cmds := commands()

	// Flags before the command: postfach --config FILE user add ...
	top := flag.NewFlagSet("postfach", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	configPath := top.String("config", getenv(configEnv), "")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printUsage(stdout, cmds)
			return exitOK
		}
		fmt.Fprintf(stderr, "postfach: %v\n", err)
		a.printUsage(stderr, cmds)
		return exitUsage
	}
	args = top.Args()
	if len(args) == 0 {
		a.printUsage(stderr, cmds)
		return exitUsage
	}
	if args[0] == "help" {
		return a.help(cmds, args[1:])
	}

	cmd, rest, err := findCommand(cmds, args)
	if err != nil {
		fmt.Fprintf(stderr, "postfach: %v\n", err)
		fmt.Fprintln(stderr, "Run 'postfach help' for usage.")
		return exitUsage
	}

	fs := flag.NewFlagSet("postfach "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cmdConfig := fs.String("config", *configPath, "")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parseInterleaved(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		a.printCommandHelp(stdout, cmd)
		return exitOK
	}
	if err == nil {
		switch {
		case len(pos) < cmd.minArgs:
			err = usagef("missing %s", strings.Fields(cmd.args)[len(pos)])
		case len(pos) > cmd.maxArgs:
			err = usagef("unexpected argument %q", pos[cmd.maxArgs])
		}
	}
	if err == nil {
		err = cmd.run(a, *cmdConfig, pos)
	}
	var ue *usageError
	var es exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &es):
		return int(es) // the command printed its report (check, dns check)
	case errors.As(err, &ue) || isFlagError(err):
		fmt.Fprintf(stderr, "postfach %s: %v\n", cmd.name, err)
		fmt.Fprintf(stderr, "Usage: %s\n", cmd.usage())
		return exitUsage
	default:
		fmt.Fprintf(stderr, "postfach %s: %v\n", cmd.name, err)
		return exitFail
	}
}

// flagError marks errors of the flag package (unknown flag, missing
// value), which are usage errors.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

func isFlagError(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

// findCommand matches the longest command name at the start of args.
func findCommand(cmds []*command, args []string) (*command, []string, error) {
	var best *command
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(words) <= len(args) && equalWords(words, args[:len(words)]) {
			if best == nil || len(words) > len(strings.Fields(best.name)) {
				best = c
			}
		}
	}
	if best != nil {
		return best, args[len(strings.Fields(best.name)):], nil
	}
	// A group without (or with an unknown) subcommand: name the choices.
	var subs []string
	for _, c := range cmds {
		if group, sub, ok := strings.Cut(c.name, " "); ok && group == args[0] {
			subs = append(subs, sub)
		}
	}
	if len(subs) > 0 {
		if len(args) == 1 {
			return nil, nil, fmt.Errorf("%s: missing subcommand (%s)", args[0], strings.Join(subs, ", "))
		}
		return nil, nil, fmt.Errorf("%s: unknown subcommand %q (%s)", args[0], args[1], strings.Join(subs, ", "))
	}
	return nil, nil, fmt.Errorf("unknown command %q", args[0])
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments ("user add tim@example.org --config x"); "--" ends flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &flagError{err}
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (a *app) help(cmds []*command, args []string) int {
	if len(args) == 0 {
		a.printUsage(a.stdout, cmds)
		return exitOK
	}
	cmd, rest, err := findCommand(cmds, args)
	if err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unknown command %q", strings.Join(args, " "))
		}
		fmt.Fprintf(a.stderr, "postfach help: %v\n", err)
		return exitUsage
	}
	a.printCommandHelp(a.stdout, cmd)
	return exitOK
}

func (a *app) printUsage(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `postfach is a mail server. One binary serves mail and administers its data.

Usage:
  postfach COMMAND [--config FILE] [ARGUMENTS]

Commands:
`)
	width := 0
	lines := make([][2]string, 0, len(cmds)+1)
	for _, c := range cmds {
		left := c.name
		if c.args != "" {
			left += " " + c.args
		}
		lines = append(lines, [2]string{left, c.summary})
	}
	lines = append(lines, [2]string{"help [COMMAND]", "show help for a command"})
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
	fmt.Fprintf(w, `
Every command takes:
  --config FILE  the configuration file (TOML); default $%s,
                 else built-in defaults: IMAP, POP3 and SMTP on their
                 standard ports, data in
                 ./postfach-data

Admin commands work on the data directory of the configuration, also while
the server runs. Passwords are read from standard input when it is not a
terminal (one line), else prompted for twice; never from the command line.

Exit status: 0 success, 1 failure, 2 usage error.
`, configEnv)
}

func (a *app) printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", c.usage(), upperFirst(c.summary))
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	fmt.Fprintf(w, "\nFlags:\n  --config FILE  the configuration file (default $%s, else built-in defaults)\n", configEnv)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

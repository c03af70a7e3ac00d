// Command compare measures postfach against Dovecot from Debian on this
// machine, with one command (bench/compare.sh runs it):
//
//  1. installs Dovecot (dovecot-imapd, dovecot-pop3d, dovecot-lmtpd) with
//     apt-get when it is missing;
//  2. builds postfach, and configures both servers on loopback high ports
//     with their data under a scratch directory: the same certificate,
//     the same users, mailboxes filled alike through IMAP APPEND
//     (postfach bench prepare), fsync on every message on both;
//  3. runs the same `postfach bench` workloads against both, alternating
//     (postfach then Dovecot, then the other way round in the next round)
//     so that the machine's drift hits both alike;
//  4. prints a table of postfach/Dovecot ratios (Markdown), and keeps the
//     reports as JSON.
//
// It needs root: it installs packages, and Dovecot's mail processes run
// as an unprivileged user (nobody) that root must switch to. Load goes to
// 127.0.0.1 only. See docs/BENCHMARKS.md for results and how to read them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	dir         string
	keep        bool
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	users       int
	messages    int
	idleCompare int
	idleLarge   int
	idleHuge    int
	only        string
	out         string
	skipInstall bool
	maxBusy     float64
	busyWait    time.Duration
	nice        int
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "scratch directory for both servers' data (default: a new one under $TMPDIR)")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory (data, logs, reports) afterwards")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of every comparison; the table shows medians")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured warm-up of each run")
	flag.IntVar(&o.users, "users", 100, "users with preloaded mailboxes (and as many more that receive LMTP and SMTP)")
	flag.IntVar(&o.messages, "messages", 100, "messages preloaded into each user's INBOX")
	flag.IntVar(&o.idleCompare, "idle-compare", 1000, "idle connections of the IDLE comparison (Dovecot runs two processes per TLS connection)")
	flag.IntVar(&o.idleLarge, "idle-large", 10_000, "idle connections of postfach's latency run (0: skip)")
	flag.IntVar(&o.idleHuge, "idle-huge", 20_000, "idle connections of postfach's memory run (0: skip)")
	flag.StringVar(&o.only, "only", "", "comma-separated case names to run (default: all; see -list)")
	flag.StringVar(&o.out, "out", "", "also write the Markdown results to this file")
	flag.BoolVar(&o.skipInstall, "skip-install", false, "do not install Dovecot; fail if it is missing")
	flag.Float64Var(&o.maxBusy, "max-busy", 0.15, "before each run, wait until other programs use less than this share of the CPU (0: do not wait)")
	flag.DurationVar(&o.busyWait, "busy-wait", 10*time.Minute, "wait at most this long for a quiet CPU before a run; then run anyway and say so")
	flag.IntVar(&o.nice, "nice", 0, "run both servers and the load generator at this nice value (-20..19); below 0 they take the CPU from other programs on a shared machine")
	list := flag.Bool("list", false, "list the cases and exit")
	flag.Parse()
	if *list {
		for _, c := range cases(o) {
			fmt.Printf("%-16s %s\n", c.id, c.title)
		}
		return
	}
	if o.rounds < 1 || o.rounds > 20 || o.duration <= 0 || o.duration > time.Hour || o.users < 10 || o.messages < 10 || o.nice < -20 || o.nice > 19 {
		fmt.Fprintln(os.Stderr, "compare: --rounds 1..20, --duration up to 1h, at least 10 --users and --messages, --nice -20..19")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

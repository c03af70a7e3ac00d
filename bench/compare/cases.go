package main

import (
	"fmt"
	"strconv"
	"time"

	"postfach/internal/loadgen"
)

// benchCase is one workload run against each server.
type benchCase struct {
	id, title string
	// needs is the protocol whose target the run needs.
	needs string
	// args are the workload's `postfach bench` flags.
	args []string
	// postfachOnly cases have absolute targets and no Dovecot run.
	postfachOnly bool
	// fresh restarts the server before each run: memory figures need a
	// baseline that earlier runs did not inflate (a Go heap keeps what it
	// grew to for a while).
	fresh   bool
	metrics []metric
}

// metric is one figure of a case's report.
type metric struct {
	name  string
	get   func(r *loadgen.Report) float64
	lower bool // lower is better (latency, memory)
	// target describes the goal; ok checks it against postfach's median
	// value and the ratio postfach/Dovecot. nil: no target.
	target string
	ok     func(p, ratio float64) bool
}

// primary reads the first workload's primary figure.
func primary(r *loadgen.Report) float64 { return r.Workloads[0].Primary.Value }

// extra reads a named extra figure of the first workload.
func extra(name string) func(r *loadgen.Report) float64 {
	return func(r *loadgen.Report) float64 {
		for _, m := range r.Workloads[0].Extra {
			if m.Name == name {
				return m.Value
			}
		}
		return 0
	}
}

// p99Of reads a command's p99 latency in milliseconds.
func p99Of(name string) func(r *loadgen.Report) float64 {
	return func(r *loadgen.Report) float64 {
		for _, c := range r.Workloads[0].Commands {
			if c.Name == name {
				return float64(c.P99) / float64(time.Millisecond)
			}
		}
		return 0
	}
}

// idleMemory reads the server's memory per idle connection, in KiB: PSS,
// which shares out pages that Dovecot's many processes have in common.
func idleMemory(r *loadgen.Report) float64 {
	if id := r.Workloads[0].Idle; id != nil {
		return id.PSSPerConn / 1024
	}
	return 0
}

func idleRSS(r *loadgen.Report) float64 {
	if id := r.Workloads[0].Idle; id != nil {
		return id.RSSPerConn / 1024
	}
	return 0
}

func atLeast(x float64) func(p, ratio float64) bool {
	return func(p, ratio float64) bool { return ratio >= x }
}

func throughput(name string, target float64) metric {
	m := metric{name: name, get: primary}
	if target > 0 {
		m.target = fmt.Sprintf("ratio ≥ %.1f", target)
		m.ok = atLeast(target)
	}
	return m
}

// cases lists the comparison, in the order it runs.
func cases(o options) []benchCase {
	n := strconv.Itoa
	idle := func(conns, accounts int, mode string, rate string) []string {
		return []string{"--workload", "idle", "--idle-conns", n(conns), "--idle-accounts", n(accounts),
			"--idle-mode", mode, "--idle-rate", rate}
	}
	accounts := min(o.users, 100)
	out := []benchCase{
		{id: "imap-mixed-10", title: "IMAP mixed, 10 clients", needs: "imap",
			args:    []string{"--workload", "imap-mixed", "--clients", "10"},
			metrics: []metric{throughput("sessions/s", 1.5)}},
		{id: "imap-mixed-50", title: "IMAP mixed, 50 clients", needs: "imap",
			args:    []string{"--workload", "imap-mixed", "--clients", "50"},
			metrics: []metric{throughput("sessions/s", 1.5)}},
		{id: "imap-append", title: "IMAP APPEND-heavy, 10 clients, fsync on both", needs: "imap",
			args:    []string{"--workload", "imap-append", "--clients", "10"},
			metrics: []metric{throughput("APPEND/s", 1.5)}},
		{id: "imap-fetch", title: "IMAP FETCH-heavy, 10 clients", needs: "imap",
			args:    []string{"--workload", "imap-fetch", "--clients", "10"},
			metrics: []metric{throughput("FETCH/s", 0)}},
		{id: "imap-search", title: "IMAP SEARCH, 4 clients", needs: "imap",
			args:    []string{"--workload", "imap-search", "--clients", "4"},
			metrics: []metric{throughput("SEARCH/s", 0)}},
		{id: "pop3", title: "POP3 sessions (RETR all), 10 clients", needs: "pop3",
			args: []string{"--workload", "pop3", "--clients", "10"},
			metrics: []metric{throughput("sessions/s", 1.0),
				{name: "RETR/s", get: extra("RETR/s"), target: "ratio ≥ 1.0", ok: atLeast(1.0)}}},
		{id: "lmtp", title: "LMTP delivery, 10 clients, 10 KB to 10 recipients", needs: "lmtp",
			args:    []string{"--workload", "lmtp", "--clients", "10", "--rcpts", "10"},
			metrics: []metric{throughput("deliveries/s", 1.5)}},
		{id: "idle", title: fmt.Sprintf("IDLE, %d connections on %d accounts, 10 deliveries/s", o.idleCompare, accounts), needs: "imap",
			args: idle(o.idleCompare, accounts, "accounts", "10"), fresh: true,
			metrics: []metric{
				{name: "EXISTS p99 ms", get: primary, lower: true},
				{name: "EXISTS after OK p99 ms", get: p99Of("EXISTS AFTER OK"), lower: true},
				{name: "KiB/conn (PSS)", get: idleMemory, lower: true},
			}},
	}
	if o.idleLarge > 0 {
		out = append(out,
			benchCase{id: "idle-large", title: fmt.Sprintf("IDLE, %d connections on %d accounts, 10 deliveries/s", o.idleLarge, accounts), needs: "imap",
				args: idle(o.idleLarge, accounts, "accounts", "10"), postfachOnly: true,
				metrics: []metric{{name: "EXISTS p99 ms", get: primary, lower: true, target: "< 100 ms",
					ok: func(p, _ float64) bool { return p < 100 }},
					{name: "EXISTS after OK p99 ms", get: p99Of("EXISTS AFTER OK"), lower: true}}},
			benchCase{id: "idle-large-box", title: fmt.Sprintf("IDLE, %d connections on one mailbox, 1 delivery/s", o.idleLarge), needs: "imap",
				args: idle(o.idleLarge, 1, "mailbox", "1"), postfachOnly: true,
				metrics: []metric{{name: "EXISTS p99 ms", get: primary, lower: true, target: "< 100 ms",
					ok: func(p, _ float64) bool { return p < 100 }},
					{name: "EXISTS after OK p99 ms", get: p99Of("EXISTS AFTER OK"), lower: true}}},
		)
	}
	if o.idleHuge > 0 {
		out = append(out, benchCase{id: "idle-huge", title: fmt.Sprintf("IDLE, %d connections on %d accounts", o.idleHuge, accounts), needs: "imap",
			args: idle(o.idleHuge, accounts, "accounts", "10"), postfachOnly: true, fresh: true,
			metrics: []metric{
				{name: "KiB/conn (RSS)", get: idleRSS, lower: true, target: "≤ 32 KiB", ok: func(p, _ float64) bool { return p <= 32 }},
				{name: "EXISTS p99 ms", get: primary, lower: true},
			}})
	}
	out = append(out, benchCase{id: "smtp", title: "SMTP (MX) delivery, 10 clients, 10 KB to 10 recipients", needs: "smtp",
		args: []string{"--workload", "smtp", "--clients", "10", "--rcpts", "10"}, postfachOnly: true,
		metrics: []metric{throughput("deliveries/s", 0)}})
	return out
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// median of the values (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratioOf is postfach's value over Dovecot's; 0 when undefined.
func ratioOf(p, d float64) float64 {
	if d == 0 {
		return 0
	}
	return p / d
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// markdown renders the results: the machine, the command, and a table.
func (cmp *comparison) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## postfach and Dovecot side by side (%s)\n\n", time.Now().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s.\n\n", machine())
	if cmp.commit != "" {
		note := ""
		if strings.HasSuffix(cmp.commit, "-dirty") {
			note = ", with changes not committed yet"
		}
		fmt.Fprintf(&b, "postfach built from commit %s%s.\n\n", cmp.commit, note)
	}
	fmt.Fprintf(&b, "Command:\n\n```sh\n%s\n```\n\n", strings.Join(append([]string{"bench/compare.sh"}, os.Args[1:]...), " "))
	fmt.Fprintf(&b, "%d rounds of %v (after %v warm-up) per workload and server, alternating; medians. "+
		"Ratio is postfach ÷ Dovecot: above 1 postfach does more per second, or (for latency and memory, marked ↓) "+
		"takes longer or more.", cmp.o.rounds, cmp.o.duration, cmp.o.warmup)
	if cmp.o.nice != 0 {
		fmt.Fprintf(&b, " Both servers and the load generator ran at nice %d.", cmp.o.nice)
	}
	if len(cmp.loads) > 0 {
		fmt.Fprintf(&b, " Before each run compare waited for other programs to use less than %.0f%% of the CPU (at most %v): "+
			"they used %.0f%% to %.0f%% (median %.0f%%) in the 2 s before the runs",
			100*cmp.o.maxBusy, cmp.o.busyWait, 100*slices.Min(cmp.busy), 100*slices.Max(cmp.busy), 100*median(cmp.busy))
		if cmp.noisy > 0 {
			fmt.Fprintf(&b, ", and %d of %d runs started on a busy CPU", cmp.noisy, len(cmp.busy))
		}
		fmt.Fprintf(&b, "; during the runs they took %.0f%% to %.0f%% of the machine (median %.0f%%).",
			100*slices.Min(cmp.others), 100*slices.Max(cmp.others), 100*median(cmp.others))
	}
	b.WriteString("\n\n")
	b.WriteString("| workload | figure | postfach | Dovecot | ratio | per round | target | met | errors (p/D) | others' CPU (max) |\n")
	b.WriteString("|---|---|---:|---:|---:|---|---|---|---|---:|\n")
	for _, cr := range cmp.results {
		for _, m := range cr.c.metrics {
			pv := cr.values["postfach"][m.name]
			dv := cr.values["Dovecot"][m.name]
			p, d := median(pv), median(dv)
			name := m.name
			if m.lower {
				name += " ↓"
			}
			pcol, dcol, rcol, rounds := "—", "—", "—", ""
			if len(pv) > 0 {
				pcol = num(p)
			} else if why := cr.skipped["postfach"]; why != "" {
				pcol = why
			}
			if len(dv) > 0 {
				dcol = num(d)
			} else if cr.c.postfachOnly {
				dcol = "not run"
			}
			ratio := ratioOf(p, d)
			if len(pv) > 0 && len(dv) > 0 {
				rcol = fmt.Sprintf("%.2f", ratio)
				var rs []string
				for i := range min(len(pv), len(dv)) {
					rs = append(rs, fmt.Sprintf("%.2f", ratioOf(pv[i], dv[i])))
				}
				rounds = strings.Join(rs, " ")
			} else if len(pv) > 0 {
				var rs []string
				for _, v := range pv {
					rs = append(rs, num(v))
				}
				rounds = strings.Join(rs, " ")
			}
			met := ""
			if m.ok != nil && len(pv) > 0 && (cr.c.postfachOnly || len(dv) > 0) {
				met = "no"
				if m.ok(p, ratio) && cr.errors["postfach"] == 0 {
					met = "yes"
				}
			}
			errs := fmt.Sprintf("%d/%d", cr.errors["postfach"], cr.errors["Dovecot"])
			if cr.c.postfachOnly {
				errs = fmt.Sprintf("%d/—", cr.errors["postfach"])
			}
			busy := ""
			if len(cr.others) > 0 {
				busy = fmt.Sprintf("%.0f%%", 100*slices.Max(cr.others))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				cr.c.title, name, pcol, dcol, rcol, rounds, m.target, met, errs, busy)
		}
	}
	b.WriteString("\n")
	for _, n := range cmp.notes {
		b.WriteString(n + "\n\n")
	}
	return b.String()
}

// machine describes this computer from /proc and the tools' versions.
func machine() string {
	var parts []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				parts = append(parts, fmt.Sprintf("%d × %s", runtime.NumCPU(), strings.TrimSpace(v)))
				break
			}
		}
	}
	if out, err := exec.Command("free", "-h").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Mem:" {
				parts = append(parts, f[1]+" memory")
			}
		}
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		parts = append(parts, "Debian "+strings.TrimSpace(string(b)))
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		f := strings.Fields(string(out))
		if len(f) >= 3 {
			parts = append(parts, f[2])
		}
	}
	if out, err := exec.Command("dovecot", "--version").Output(); err == nil {
		parts = append(parts, "Dovecot "+strings.TrimSpace(string(out)))
	}
	return strings.Join(parts, ", ")
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"postfach/internal/loadgen"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s compare: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// comparison is a run in progress.
type comparison struct {
	o        options
	dir      string
	root     string // the repository
	commit   string // what was built: git describe
	bin      string
	password string
	servers  []*server // postfach first
	results  []*caseResult
	runs     int
	notes    []string  // said under the table
	loads    []float64 // one-minute load average before each run
	busy     []float64 // CPU share others used just before each run
	noisy    int       // runs that started without a quiet CPU
	// others is the share of the machine's CPU other programs took
	// during each run.
	others       []float64
	lastBenchCPU time.Duration
}

// waitQuiet waits, up to busyWait, until other programs leave the CPU
// alone (the servers idle between runs), and returns the busy share it
// measured last.
func (cmp *comparison) waitQuiet(ctx context.Context) float64 {
	deadline := time.Now().Add(cmp.o.busyWait)
	logged := false
	for {
		busy, err := cpuBusy(2 * time.Second)
		if err != nil || cmp.o.maxBusy <= 0 || busy < cmp.o.maxBusy {
			return busy
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			cmp.noisy++
			logf("the CPU is still %.0f%% busy; running anyway", 100*busy)
			return busy
		}
		if !logged {
			logf("waiting for other programs to leave the CPU (%.0f%% busy)", 100*busy)
			logged = true
		}
		time.Sleep(3 * time.Second)
	}
}

// fdMargin is what a process needs beside its connections: postfach keeps
// 64 spare blob files open, its databases, listeners and logs.
const fdMargin = 200

// fitFileLimit raises the open-file limit (the servers and the load
// generator inherit it) as far as allowed, and shrinks the idle runs to
// what it allows: one process holds each end of every connection.
func (cmp *comparison) fitFileLimit(o *options) error {
	want := uint64(max(o.idleHuge, o.idleLarge, o.idleCompare) + fdMargin)
	loadgen.RaiseFileLimit(want) // as far as it goes; checked below
	soft, hard, err := loadgen.FileLimit()
	if err != nil {
		return err
	}
	if soft >= want {
		return nil
	}
	if soft < hard {
		return fmt.Errorf("cannot raise the open-file limit from %d to %d", soft, hard)
	}
	fit := int(soft-fdMargin) / 100 * 100
	for _, n := range []*int{&o.idleHuge, &o.idleLarge, &o.idleCompare} {
		if *n > fit {
			note := fmt.Sprintf("The open-file limit here is %d (hard; raising it needs CAP_SYS_RESOURCE), so one process holds at most about %d connections: the run of %d idle connections held %d.", hard, soft-fdMargin, *n, fit)
			logf("%s", note)
			cmp.notes = append(cmp.notes, note)
			*n = fit
		}
	}
	return nil
}

// caseResult gathers a case's runs.
type caseResult struct {
	c benchCase
	// values[server][metric] holds one value per round.
	values  map[string]map[string][]float64
	errors  map[string]uint64
	skipped map[string]string
	// others is the CPU share other programs took during each run.
	others []float64
}

func run(ctx context.Context, o options) error {
	var cmp0 comparison
	if os.Geteuid() != 0 {
		return errors.New("run me as root: I install Dovecot with apt-get and run it with its mail processes as nobody")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dovecotBin, err := ensureDovecot(ctx, o.skipInstall)
	if err != nil {
		return err
	}
	// Both servers inherit the limit; the idle runs need a descriptor per
	// connection on each side.
	if err := cmp0.fitFileLimit(&o); err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "postfach-compare-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // Dovecot's users must get in
		return err
	}
	if !o.keep && o.dir == "" {
		defer os.RemoveAll(dir)
	}
	logf("working in %s", dir)
	cmp := &comparison{o: o, dir: dir, root: root, bin: filepath.Join(dir, "bin", "postfach"), notes: cmp0.notes}
	pw := make([]byte, 12)
	rand.Read(pw)
	cmp.password = hex.EncodeToString(pw)

	if out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		cmp.commit = strings.TrimSpace(string(out))
	}
	logf("building postfach")
	build := exec.CommandContext(ctx, "go", "build", "-o", cmp.bin, "./cmd/postfach")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	tlsDir := filepath.Join(dir, "tls")
	if err := writeCertificate(tlsDir); err != nil {
		return err
	}
	var users []string
	for i := range o.users {
		users = append(users, fmt.Sprintf("user%d@example.org", i))
	}
	for i := range o.users {
		users = append(users, fmt.Sprintf("user%d@example.org", rcptFirst+i))
	}

	pf, err := startPostfach(ctx, postfachSetup{bin: cmp.bin, dir: filepath.Join(dir, "postfach"), tlsDir: tlsDir,
		users: users, password: cmp.password, connections: max(o.idleHuge, o.idleLarge, o.idleCompare) + 1000, nice: o.nice})
	if err != nil {
		return err
	}
	defer pf.stop()
	restore, err := raiseInotify(2*o.idleCompare + 1024)
	if err != nil {
		logf("cannot raise the inotify limit (%v): Dovecot's idle sessions may poll", err)
	}
	defer restore()
	dc, err := startDovecot(ctx, dovecotBin, filepath.Join(root, "bench", "dovecot.conf.tmpl"), dovecotSetup{
		dir: filepath.Join(dir, "dovecot"), tlsDir: tlsDir, users: users, password: cmp.password, idleConns: o.idleCompare, nice: o.nice})
	if err != nil {
		return err
	}
	defer dc.stop()
	cmp.servers = []*server{pf, dc}
	logf("postfach (pid %d) serves %v; Dovecot (pid %d)", pf.pid, served(pf), dc.pid)

	for _, s := range cmp.servers {
		logf("preloading %d users x %d messages into %s", o.users, o.messages, s.name)
		out, err := cmp.bench(ctx, "prepare", s, []string{"bench", "prepare", "--imap", s.target("imap"),
			"--messages", strconv.Itoa(o.messages), "--json"}, o.users, 0)
		if err != nil {
			return fmt.Errorf("preparing %s: %w", s.name, err)
		}
		logf("%s", bytes.TrimSpace(out))
	}

	selected := cases(o)
	if o.only != "" {
		want := strings.Split(o.only, ",")
		selected = slices.DeleteFunc(selected, func(c benchCase) bool { return !slices.Contains(want, c.id) })
		if len(selected) == 0 {
			return fmt.Errorf("--only %q names no case (see -list)", o.only)
		}
	}
	for _, c := range selected {
		cmp.results = append(cmp.results, &caseResult{c: c, values: map[string]map[string][]float64{},
			errors: map[string]uint64{}, skipped: map[string]string{}})
	}
	// Rounds: every case against both servers, postfach first in odd
	// rounds and Dovecot first in even ones.
	for round := 1; round <= o.rounds; round++ {
		for _, cr := range cmp.results {
			order := []*server{pf, dc}
			if round%2 == 0 {
				order = []*server{dc, pf}
			}
			for _, s := range order {
				if err := ctx.Err(); err != nil {
					return err
				}
				if s == dc && cr.c.postfachOnly {
					continue
				}
				if !s.serves[cr.c.needs] {
					cr.skipped[s.name] = "does not serve " + strings.ToUpper(cr.c.needs)
					continue
				}
				if err := cmp.runCase(ctx, cr, s, round); err != nil {
					return err
				}
			}
		}
	}
	for _, s := range cmp.servers {
		if s == pf {
			for _, w := range readWarnings(filepath.Join(dir, "postfach", "serve.log")) {
				logf("postfach log: %s", w)
			}
		}
	}
	md := cmp.markdown()
	fmt.Print(md)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// rcptFirst is the number of the first user that receives LMTP and SMTP
// deliveries: they are users of their own, so that deliveries do not
// change the mailboxes the IMAP and POP3 workloads read.
const rcptFirst = 1000

func served(s *server) []string {
	var out []string
	for _, p := range []string{"imap", "pop3", "lmtp", "smtp"} {
		if s.serves[p] {
			out = append(out, p)
		}
	}
	return out
}

// runCase runs one case against one server and records its metrics.
func (cmp *comparison) runCase(ctx context.Context, cr *caseResult, s *server, round int) error {
	o := cmp.o
	args := []string{"bench", "--json", "--duration", o.duration.String(), "--warmup", o.warmup.String(),
		"--server-pid", strconv.Itoa(s.pid)}
	for _, p := range []string{"imap", "pop3", "lmtp", "smtp"} {
		if t := s.target(p); t != "" {
			args = append(args, "--"+p, t)
		}
	}
	if cr.c.needs == "lmtp" || cr.c.needs == "smtp" {
		args = append(args, "--rcpt-first", strconv.Itoa(rcptFirst), "--rcpt-count", strconv.Itoa(o.users))
	}
	args = append(args, cr.c.args...)
	busy := cmp.waitQuiet(ctx)
	load := loadAverage()
	cmp.loads = append(cmp.loads, load)
	cmp.busy = append(cmp.busy, busy)
	logf("round %d: %s against %s (load average %.2f, CPU %.0f%% busy before)", round, cr.c.id, s.name, load, 100*busy)
	if cr.c.fresh {
		if err := cmp.freshServer(ctx, s); err != nil {
			return err
		}
		args[slices.Index(args, "--server-pid")+1] = strconv.Itoa(s.pid)
	}
	total0, _ := cpuTotal()
	server0 := treeCPU(s.pid)
	start := time.Now()
	out, err := cmp.bench(ctx, fmt.Sprintf("%s-%s-%d", cr.c.id, strings.ToLower(s.name), round), s, args, o.users, 0)
	if err != nil {
		return fmt.Errorf("%s against %s: %w", cr.c.id, s.name, err)
	}
	// What the rest of the machine took meanwhile: all CPU time less the
	// server's and the load generator's.
	total1, _ := cpuTotal()
	wall := time.Since(start)
	serverCPU := treeCPU(s.pid) - server0
	others := (total1 - total0 - serverCPU - cmp.lastBenchCPU).Seconds() / (wall.Seconds() * float64(runtime.NumCPU()))
	cmp.others = append(cmp.others, max(0, others))
	cr.others = append(cr.others, max(0, others))
	var rep loadgen.Report
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Workloads) == 0 {
		return fmt.Errorf("%s against %s: reading the report: %v", cr.c.id, s.name, err)
	}
	w := rep.Workloads[0]
	cr.errors[s.name] += w.Errors
	if cr.values[s.name] == nil {
		cr.values[s.name] = map[string][]float64{}
	}
	var parts []string
	for _, m := range cr.c.metrics {
		v := m.get(&rep)
		cr.values[s.name][m.name] = append(cr.values[s.name][m.name], v)
		parts = append(parts, fmt.Sprintf("%s %.1f", m.name, v))
	}
	logf("  %s, %d errors %q; CPU: server %.1f s, load generator %.1f s, others %.0f%% of the machine",
		strings.Join(parts, ", "), w.Errors, w.ErrorSamples, serverCPU.Seconds(), cmp.lastBenchCPU.Seconds(), 100*max(0, others))
	// A moment for the server to settle (background flushes, closing
	// sessions) before the next run.
	time.Sleep(2 * time.Second)
	return nil
}

// bench runs `postfach bench ...` and returns its standard output; its
// standard error goes to a log file named after the run.
func (cmp *comparison) bench(ctx context.Context, name string, s *server, args []string, users, first int) ([]byte, error) {
	args = append(args, "--insecure", "--users", "user%d@example.org", "--user-count", strconv.Itoa(users),
		"--first-user", strconv.Itoa(first))
	cmp.runs++
	logPath := filepath.Join(cmp.dir, "runs", fmt.Sprintf("%03d-%s.log", cmp.runs, name))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "postfach %s\n\n", strings.Join(args, " "))
	cmd := niced(ctx, cmp.o.nice, cmp.bin, args...)
	cmd.Env = append(os.Environ(), "POSTFACH_BENCH_PASSWORD="+cmp.password)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, logFile
	err = cmd.Run()
	if cmd.ProcessState != nil {
		cmp.lastBenchCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%v\n%s", err, tail(log, 20))
	}
	os.WriteFile(strings.TrimSuffix(logPath, ".log")+".json", stdout.Bytes(), 0o644)
	return stdout.Bytes(), nil
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "cmd", "postfach")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run me inside the postfach repository")
		}
		dir = parent
	}
}

// gcWait outlasts the Go runtime's forced collection (every two minutes)
// and gives its scavenger time to return the freed memory.
const gcWait = 130 * time.Second

// freshServer restarts a server for a memory measurement and brings it to
// a working state first: every user logs in once (postfach verifies each
// password with argon2id, 46 MiB each, and caches the result), then the
// server rests until its garbage is collected and returned to the system.
// Without this, a fresh Go server's first-login garbage outweighs a
// thousand idle connections.
func (cmp *comparison) freshServer(ctx context.Context, s *server) error {
	if err := s.restart(ctx); err != nil {
		return err
	}
	args := []string{"bench", "--json", "--quiet", "--imap", s.target("imap"), "--workload", "imap-mixed",
		"--clients", strconv.Itoa(cmp.o.users), "--duration", "2s", "--warmup", "0s"}
	if _, err := cmp.bench(ctx, "prelude-"+strings.ToLower(s.name), s, args, cmp.o.users, 0); err != nil {
		return fmt.Errorf("warming %s up: %w", s.name, err)
	}
	logf("letting %s rest for %v before measuring its memory", s.name, gcWait)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(gcWait):
	}
	return nil
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"postfach/bench/internal/serverproc"
)

// Ports of the two servers: Dovecot's are those of the shared reference
// configuration.
var (
	dovecotPorts  = ports{imap: 10143, imaps: 10993, pop3: 10111, pop3s: 10995, lmtp: 10026}
	postfachPorts = ports{imap: 11143, imaps: 11993, pop3: 11110, pop3s: 11995, lmtp: 11024, smtp: 11025}
)

type ports struct{ imap, imaps, pop3, pop3s, lmtp, smtp int }

// server is a running server under test.
type server struct {
	name  string // "postfach" or "Dovecot"
	proc  *serverproc.Process
	pid   int
	ports ports
	// serves lists the protocols it answers on: imap, pop3, lmtp, smtp.
	serves map[string]bool
	// logPath receives the process's output; waitFor are the ports it
	// opens when ready.
	logPath string
	waitFor []int
}

// restart stops the server and starts it again, the same way: a fresh
// process, for runs that measure its memory.
func (s *server) restart(ctx context.Context) error {
	s.stop()
	old := s.proc.Cmd
	cmd := exec.Command(old.Path, old.Args[1:]...)
	cmd.Env = old.Env
	proc, err := serverproc.Start(cmd, s.logPath)
	if err != nil {
		return err
	}
	s.proc = proc
	if err := proc.WaitPorts(ctx, startTimeout, s.logPath, s.waitFor...); err != nil {
		return fmt.Errorf("restarting %s: %w", s.name, err)
	}
	// Through nice(1), the server is the process nice execs.
	s.pid = cmd.Process.Pid
	return nil
}

// target is the `postfach bench` flag for a protocol, or "" when the
// server does not serve it.
func (s *server) target(proto string) string {
	if !s.serves[proto] {
		return ""
	}
	switch proto {
	case "imap":
		return fmt.Sprintf("imaps://127.0.0.1:%d", s.ports.imaps)
	case "pop3":
		return fmt.Sprintf("pop3s://127.0.0.1:%d", s.ports.pop3s)
	case "lmtp":
		return fmt.Sprintf("lmtp://127.0.0.1:%d", s.ports.lmtp)
	case "smtp":
		return fmt.Sprintf("smtp://127.0.0.1:%d", s.ports.smtp)
	}
	return ""
}

// stop ends the server with SIGTERM, then SIGKILL after 30 s.
func (s *server) stop() {
	if s != nil {
		s.proc.Stop()
	}
}

// startTimeout is how long a server may take to open its ports.
const startTimeout = time.Minute

// niced returns the command that runs name with args at nice value n
// (through nice(1), so that every thread and child inherits it).
func niced(ctx context.Context, n int, name string, args ...string) *exec.Cmd {
	if n == 0 {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "nice", append([]string{"-n", strconv.Itoa(n), name}, args...)...)
}

func tail(b []byte, lines int) string {
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// checkPortsFree fails when another program holds one of the ports.
func checkPortsFree(p ports) error {
	for _, n := range []int{p.imap, p.imaps, p.pop3, p.pop3s, p.lmtp, p.smtp} {
		if n != 0 && serverproc.Listening(n) {
			return fmt.Errorf("port %d is in use; is an earlier comparison still running?", n)
		}
	}
	return nil
}

// writeCertificate makes the certificate both servers use, so that TLS
// costs them the same.
func writeCertificate(dir string) error { return serverproc.WriteCertificate(dir) }

// ensureDovecot installs Debian's Dovecot packages when the dovecot binary
// is missing.
func ensureDovecot(ctx context.Context, skipInstall bool) (string, error) {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot", nil
	}
	if skipInstall {
		return "", errors.New("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd)")
	}
	logf("installing Dovecot with apt-get")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{
		{"apt-get", "update"},
		{"apt-get", "install", "-y", "--no-install-recommends", "dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd"},
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, tail(out, 20))
		}
	}
	return "/usr/sbin/dovecot", nil
}

// renderDovecotConf fills in the template.
func renderDovecotConf(tmpl string, ds dovecotSetup, mailUser *user.User) (string, error) {
	p := dovecotPorts
	procs := max(200, ds.idleConns+200)
	conf := strings.NewReplacer(
		"@DIR@", ds.dir,
		"@TLSDIR@", ds.tlsDir,
		"@MAILUSER@", mailUser.Username,
		"@MAILUID@", mailUser.Uid,
		"@MAILGID@", mailUser.Gid,
		"@MAXUSERIP@", strconv.Itoa(max(1000, ds.idleConns)),
		// Every imap and imap-login process also talks to stats, anvil and
		// the log.
		"@CLIENT_LIMIT@", strconv.Itoa(max(2000, 3*ds.idleConns)),
		"@LOGIN_PROCESSES@", strconv.Itoa(procs),
		"@IMAP_PROCESSES@", strconv.Itoa(procs),
		"@IMAP_PORT@", strconv.Itoa(p.imap),
		"@IMAPS_PORT@", strconv.Itoa(p.imaps),
		"@POP3_PORT@", strconv.Itoa(p.pop3),
		"@POP3S_PORT@", strconv.Itoa(p.pop3s),
		"@LMTP_PORT@", strconv.Itoa(p.lmtp),
	).Replace(tmpl)
	if m := regexp.MustCompile(`@[A-Z_]+@`).FindString(conf); m != "" {
		return "", fmt.Errorf("dovecot.conf.tmpl: compare does not fill %s", m)
	}
	return conf, nil
}

// dovecotSetup is what the Dovecot configuration needs.
type dovecotSetup struct {
	dir, tlsDir string
	users       []string
	password    string
	idleConns   int
	nice        int
}

// startDovecot configures Dovecot from the template and starts it in the
// foreground (-F) as a child.
func startDovecot(ctx context.Context, bin, template string, ds dovecotSetup) (*server, error) {
	mailUser, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("Dovecot's mail user: %w", err)
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	for _, d := range []string{"run", "state", "log", "mail"} {
		if err := os.MkdirAll(filepath.Join(ds.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chown(filepath.Join(ds.dir, "mail"), uid, gid); err != nil {
		return nil, err
	}
	var users bytes.Buffer
	for _, u := range ds.users {
		fmt.Fprintf(&users, "%s:{PLAIN}%s::::::\n", u, ds.password)
	}
	if err := os.WriteFile(filepath.Join(ds.dir, "users"), users.Bytes(), 0o644); err != nil {
		return nil, err
	}
	tmpl, err := os.ReadFile(template)
	if err != nil {
		return nil, err
	}
	p := dovecotPorts
	conf, err := renderDovecotConf(string(tmpl), ds, mailUser)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(ds.dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := checkPortsFree(p); err != nil {
		return nil, err
	}
	logPath := filepath.Join(ds.dir, "log", "stdout.log")
	cmd := niced(context.Background(), ds.nice, bin, "-F", "-c", confPath)
	proc, err := serverproc.Start(cmd, logPath)
	if err != nil {
		return nil, err
	}
	s := &server{name: "Dovecot", proc: proc, pid: cmd.Process.Pid, ports: p,
		serves:  map[string]bool{"imap": true, "pop3": true, "lmtp": true},
		logPath: logPath, waitFor: []int{p.imaps, p.pop3s, p.lmtp}}
	if err := proc.WaitPorts(ctx, startTimeout, filepath.Join(ds.dir, "log", "dovecot.log"), p.imaps, p.pop3s, p.lmtp); err != nil {
		s.stop()
		return nil, fmt.Errorf("Dovecot: %w", err)
	}
	return s, nil
}

// postfachSetup is what the postfach configuration needs.
type postfachSetup struct {
	bin, dir, tlsDir string
	users            []string
	password         string
	connections      int
	nice             int
}

// benchZone answers the lookups of inbound SMTP: the sender domain's SPF
// record passes mail from loopback; DKIM and DMARC find nothing.
const benchZone = `$TTL 3600
example.net.       IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
example.org.       IN MX 10 mail.example.org.
mail.example.org.  IN A 127.0.0.1
loadgen.localhost. IN A 127.0.0.1
`

// startPostfach writes a configuration, creates the users with `postfach
// user add` and starts `postfach serve`.
func startPostfach(ctx context.Context, ps postfachSetup) (*server, error) {
	p := postfachPorts
	conf := fmt.Sprintf(`# postfach under bench/compare: loopback high ports, the shared
# certificate, connection limits raised for the benchmark's clients;
# everything else (fsync on, argon2id parameters) is postfach's default.
hostname = "mail.example.org"
data_dir = "data"

[listen]
imap = "127.0.0.1:%d"
imaps = "127.0.0.1:%d"
pop3 = "127.0.0.1:%d"
pop3s = "127.0.0.1:%d"
lmtp = "127.0.0.1:%d"
smtp = "127.0.0.1:%d"

[tls]
cert = %q
key = %q

# A static zone and nothing else: the server under test never asks the
# network. The load generator sends from example.net on loopback.
[dns]
zone_file = "zone.txt"

[limits]
max_connections = %d
max_connections_per_ip = %d

[log]
level = "warn"
`, p.imap, p.imaps, p.pop3, p.pop3s, p.lmtp, p.smtp,
		filepath.Join(ps.tlsDir, "cert.pem"), filepath.Join(ps.tlsDir, "key.pem"),
		ps.connections, ps.connections)
	if err := os.MkdirAll(ps.dir, 0o755); err != nil {
		return nil, err
	}
	confPath := filepath.Join(ps.dir, "postfach.toml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(ps.dir, "zone.txt"), []byte(benchZone), 0o644); err != nil {
		return nil, err
	}
	admin := func(stdin string, args ...string) error {
		cmd := niced(ctx, ps.nice, ps.bin, append(args, "--config", confPath)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("postfach %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := admin("", "domain", "add", "example.org"); err != nil {
		return nil, err
	}
	logf("creating %d postfach users", len(ps.users))
	for _, u := range ps.users {
		if err := admin(ps.password+"\n", "user", "add", u); err != nil {
			return nil, err
		}
	}
	if err := checkPortsFree(p); err != nil {
		return nil, err
	}
	logPath := filepath.Join(ps.dir, "serve.log")
	cmd := niced(context.Background(), ps.nice, ps.bin, "serve", "--config", confPath)
	proc, err := serverproc.Start(cmd, logPath)
	if err != nil {
		return nil, err
	}
	s := &server{name: "postfach", proc: proc, pid: cmd.Process.Pid, ports: p, serves: map[string]bool{},
		logPath: logPath, waitFor: []int{p.imaps}}
	if err := proc.WaitPorts(ctx, startTimeout, logPath, p.imaps); err != nil {
		s.stop()
		return nil, fmt.Errorf("postfach: %w", err)
	}
	// Protocols this build does not serve yet stay closed (with a warning
	// in the log): their cases run against Dovecot alone.
	s.serves["imap"] = true
	s.serves["pop3"] = serverproc.Listening(p.pop3s)
	s.serves["lmtp"] = serverproc.Listening(p.lmtp)
	s.serves["smtp"] = serverproc.Listening(p.smtp)
	return s, nil
}

// readWarnings returns the warnings a log holds.
func readWarnings(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=WARN") || strings.Contains(sc.Text(), "level=ERROR") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// inotifyInstances is where Linux bounds inotify instances per user.
const inotifyInstances = "/proc/sys/fs/inotify/max_user_instances"

// raiseInotify lets Dovecot's imap processes, which all run as one user
// and each watch their mailbox with inotify while idle, have one instance
// each (Dovecot's log asks for it; without, idle sessions fall back to
// polling every 30 seconds). It returns the function that restores the
// old limit.
func raiseInotify(need int) (restore func(), err error) {
	b, err := os.ReadFile(inotifyInstances)
	if err != nil {
		return func() {}, err
	}
	old := strings.TrimSpace(string(b))
	cur, err := strconv.Atoi(old)
	if err != nil || cur >= need {
		return func() {}, err
	}
	if err := os.WriteFile(inotifyInstances, []byte(strconv.Itoa(need)), 0o644); err != nil {
		return func() {}, err
	}
	logf("raised %s from %s to %d for Dovecot (restored at the end)", inotifyInstances, old, need)
	return func() { os.WriteFile(inotifyInstances, []byte(old), 0o644) }, nil
}

// loadAverage is the one-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuBusy measures the share of CPU time (all cores) not idle over d,
// from /proc/stat: what other programs take from the benchmark.
func cpuBusy(d time.Duration) (float64, error) {
	read := func() (busy, total uint64, err error) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			return 0, 0, errors.New("/proc/stat: no cpu line")
		}
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, err
			}
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, total, nil
	}
	b1, t1, err := read()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b2, t2, err := read()
	if err != nil {
		return 0, err
	}
	if t2 == t1 {
		return 0, nil
	}
	return float64(b2-b1) / float64(t2-t1), nil
}

// clockTicks is USER_HZ, the unit of CPU times in /proc (100 on Linux).
const clockTicks = 100

// cpuTotal is the CPU time all processors spent busy since boot.
func cpuTotal() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, errors.New("/proc/stat: no cpu line")
	}
	var busy uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, err
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}

// treeCPU is the CPU time of a process and its descendants, those that
// ended included (a parent's cutime and cstime hold its reaped
// children's): Dovecot's login and mail processes come and go.
func treeCPU(pid int) time.Duration {
	var ticks uint64
	for _, p := range processTree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// After the name: state(1) ppid ... utime(12) stime(13)
		// cutime(14) cstime(15), counted from the state as 1.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		for _, k := range []int{11, 12, 13, 14} {
			n, _ := strconv.ParseUint(f[k], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// processTree returns pid and its descendants.
func processTree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

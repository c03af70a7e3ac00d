//go:build linux

package crashtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The server binary is built once per test binary, lazily, into a
// directory TestMain removes. It is the one package-level state here:
// an immutable build artifact, shared by every test like Go's own
// toolchain tests share theirs.
var (
	binDir   string
	buildBin = sync.OnceValues(buildPostfach)
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "postfach-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// postfachBinary returns the path of the built server.
func postfachBinary(t *testing.T) string {
	t.Helper()
	path, err := buildBin()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "go"
	}
	return p
}

// buildPostfach builds cmd/postfach, with the race detector when the test
// binary has it: the child then reports data races under load too, worth
// its slowdown (the default cycles still finish well within two minutes).
func buildPostfach() (string, error) {
	out := filepath.Join(binDir, "postfach")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "postfach/cmd/postfach")
	if b, err := exec.Command(goTool(), args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	if err := statSources(); err != nil {
		return "", err
	}
	return out, nil
}

// statSources stats every source file of the module that the binary is
// built from. go test caches a passing result keyed by the files the test
// looked at; the child's sources are not among the test binary's, so
// without this a change to, say, cmd/postfach would replay a stale PASS.
func statSources() error {
	modFile, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(modFile)))
	b, err := exec.Command(goTool(), "list", "-deps", "-f",
		`{{if not .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"postfach/cmd/postfach").Output()
	if err != nil {
		return fmt.Errorf("go list: %v", err)
	}
	for _, f := range strings.Fields(string(b)) {
		if strings.HasPrefix(f, root+string(filepath.Separator)) {
			os.Stat(f)
		}
	}
	return nil
}

// instance is one data directory with its configuration, served by a
// succession of server processes.
type instance struct {
	t       *testing.T
	bin     string
	dir     string
	config  string
	dataDir string
	// plain adds an IMAP listener without TLS that allows LOGIN on
	// loopback (strace can then read the protocol).
	plain bool
}

const (
	testUser     = "alice@example.org"
	testPassword = "crash-test-password"
)

// newInstance writes a configuration and creates the account with the
// admin subcommands, as an operator would.
func newInstance(t *testing.T, plain bool) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{t: t, bin: postfachBinary(t), dir: dir, config: filepath.Join(dir, "postfach.toml"), dataDir: filepath.Join(dir, "data"), plain: plain}
	imapAddr := ""
	if plain {
		imapAddr = "127.0.0.1:0"
	}
	// Port 0: the server picks free ports and logs them ("listening"),
	// which start reads; no race with other tests over a port.
	cfg := fmt.Sprintf(`hostname = "mail.example.org"
data_dir = "data"

[listen]
imap = %q
imaps = "127.0.0.1:0"

[auth]
# Cheap argon2id: the tests log in often.
time = 1
memory_kib = 64
threads = 1
allow_plaintext_loopback = %t

[log]
level = "info"
format = "json"
`, imapAddr, plain)
	if err := os.WriteFile(in.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in.admin("", "domain", "add", "example.org")
	in.admin(testPassword+"\n", "user", "add", testUser)
	return in
}

// admin runs an admin subcommand, the password (if any) on stdin.
func (in *instance) admin(stdin string, args ...string) string {
	in.t.Helper()
	cmd := exec.Command(in.bin, append(args, "--config", in.config)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		in.t.Fatalf("postfach %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// child is one running `postfach serve`.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	log    *childLog
	exited chan struct{} // closed once the process is reaped
	state  *os.ProcessState
	// imaps and imap are the listeners' addresses.
	imaps, imap string
}

// startTimeout bounds a start-up: a race-enabled server on a loaded
// two-core machine, recovering a WAL, may be slow.
const startTimeout = 2 * time.Minute

// start runs `postfach serve` (behind the wrapper command, if any, such
// as strace) and waits until IMAPS accepts a session.
func (in *instance) start(wrapper ...string) *child {
	t := in.t
	t.Helper()
	args := append(append([]string{}, wrapper...), in.bin, "serve", "--config", in.config)
	cmd := exec.Command(args[0], args[1:]...)
	// A process group of its own, so that the kill reaches the whole
	// child (a wrapper included) and nothing else; and death with the
	// test process, should it die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	lg := newChildLog()
	cmd.Stdout = lg.stream("stdout")
	cmd.Stderr = lg.stream("stderr")
	c := &child{t: t, cmd: cmd, log: lg, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", args[0], err)
	}
	go func() {
		cmd.Wait()
		c.state = cmd.ProcessState
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.kill()
		c.checkLog()
	})

	deadline := time.After(startTimeout)
	for c.imaps == "" || in.plain && c.imap == "" {
		select {
		case <-lg.changed:
			c.imaps, c.imap = lg.addr("imaps"), lg.addr("imap")
		case <-c.exited:
			t.Fatalf("postfach serve exited (%v) before listening\n%s", c.state, lg.tail(40))
		case <-deadline:
			t.Fatalf("postfach serve not listening after %v\n%s", startTimeout, lg.tail(40))
		}
	}
	cl, err := dialIMAP(c.imaps, true)
	if err != nil {
		t.Fatalf("IMAPS at %s: %v\n%s", c.imaps, err, lg.tail(40))
	}
	cl.close()
	return c
}

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the child's process group and reaps the child.
// It reports whether the server was still running: if it had died on its
// own, that is a failure the caller reports.
func (c *child) kill() bool {
	if !c.running() {
		return false
	}
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
	ws, ok := c.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// crash kills the server and fails the test unless it was running until
// the kill.
func (c *child) crash() {
	c.t.Helper()
	if !c.kill() {
		c.t.Fatalf("postfach serve had exited (%v) before the kill\n%s", c.state, c.log.tail(60))
	}
	c.checkLog()
}

// stop shuts the server down with SIGTERM, as an init system does, and
// expects a clean exit.
func (c *child) stop() {
	c.t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(startTimeout):
		c.kill()
		c.t.Fatalf("postfach serve did not stop on SIGTERM within %v\n%s", startTimeout, c.log.tail(60))
	}
	if !c.state.Success() {
		c.t.Errorf("postfach serve exited with %v after SIGTERM\n%s", c.state, c.log.tail(60))
	}
	c.checkLog()
}

// checkLog fails the test for what must never appear in the server's
// output: race reports, panics, runtime errors, log records at level
// ERROR. Each is reported once. Warnings are logged.
func (c *child) checkLog() {
	c.t.Helper()
	p, w := c.log.takeProblems()
	for i, s := range w {
		if i == 20 {
			c.t.Logf("server: ... and %d more warnings", len(w)-i)
			break
		}
		c.t.Logf("server warning: %s", s)
	}
	if len(p) > 0 {
		c.t.Errorf("postfach serve reported problems:\n%s\n--- log tail:\n%s", strings.Join(p, "\n"), c.log.tail(60))
	}
}

// childLog collects a child's output, finds the listening addresses in
// its JSON log and notes problems.
type childLog struct {
	mu       sync.Mutex
	lines    []string
	addrs    map[string]string
	problems []string
	warnings []string
	inRace   bool
	changed  chan struct{} // a new address is known
}

// maxLogLines bounds what is kept of a child's output.
const maxLogLines = 5000

func newChildLog() *childLog {
	return &childLog{addrs: map[string]string{}, changed: make(chan struct{}, 1)}
}

// stream returns a writer for one output stream, split into lines.
func (l *childLog) stream(name string) *lineWriter {
	return &lineWriter{fn: func(s string) { l.add(name, s) }}
}

func (l *childLog) add(stream, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= maxLogLines {
		l.lines = l.lines[len(l.lines)-maxLogLines/2:]
	}
	l.lines = append(l.lines, stream+": "+s)
	switch {
	case l.inRace:
		// A race report runs from its WARNING to a line of "=".
		if strings.HasPrefix(s, "==================") {
			l.inRace = false
		} else if len(l.problems) < 500 {
			l.problems = append(l.problems, "  "+s)
		}
		return
	case strings.Contains(s, "WARNING: DATA RACE"):
		l.problems = append(l.problems, s)
		l.inRace = true
		return
	case strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "fatal error: "):
		l.problems = append(l.problems, s)
	}
	if !strings.HasPrefix(s, "{") {
		return
	}
	var rec struct {
		Level    string `json:"level"`
		Msg      string `json:"msg"`
		Listener string `json:"listener"`
		Addr     string `json:"addr"`
	}
	if json.Unmarshal([]byte(s), &rec) != nil {
		return
	}
	switch rec.Level {
	case "ERROR":
		l.problems = append(l.problems, "error log: "+s)
	case "WARN":
		l.warnings = append(l.warnings, s)
	}
	if rec.Msg == "listening" && rec.Listener != "" {
		l.addrs[rec.Listener] = rec.Addr
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

func (l *childLog) addr(listener string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addrs[listener]
}

func (l *childLog) takeProblems() (problems, warnings []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	problems, warnings = l.problems, l.warnings
	l.problems, l.warnings = nil, nil
	return problems, warnings
}

// tail returns the last n lines of output.
func (l *childLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}

// lineWriter calls fn for each complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimSuffix(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 1<<20 { // a runaway line: keep it, in pieces
		w.fn(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

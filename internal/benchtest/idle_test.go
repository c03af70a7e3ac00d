package benchtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"postfach/internal/imaptest"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// Idle connection benchmark parameters: 5,000 connections spread over 100
// accounts, each INBOX holding a few messages, from several loopback
// source addresses (so that neither ephemeral ports nor the per-address
// limit get in the way).
const (
	idleConns    = 5000
	idleAccounts = 100
	idleMessages = 20
	idleSources  = 4 // 127.0.0.1 .. 127.0.0.4
)

// BenchmarkIdleConnections measures the resident memory of a separate
// `postfach serve` process per open IMAP TLS connection, with 5,000 of
// them: the growth of VmRSS (and of RssAnon, the heap and stacks) from a
// server that has served one connection to one that holds them all, divided
// by their number. The target is at most 64 KiB per idle connection.
//
// "idle" connections log in, SELECT INBOX and IDLE, as an idle mail client
// does; "selected" ones log in and SELECT INBOX and then wait between
// commands. Each case starts its own server. The measurement does not
// depend on b.N; run it with -benchtime 1x.
func BenchmarkIdleConnections(b *testing.B) {
	bin := buildPostfach(b)
	for _, tc := range []struct {
		name string
		idle bool
	}{{"idle", true}, {"selected", false}} {
		b.Run(tc.name, func(b *testing.B) {
			raiseFileLimit(b)
			srv := startServeProcess(b, bin)
			// Warm up: one session through every step, so that the
			// baseline holds what the first connection loads once (code
			// pages, the store's caches, TLS session state).
			warm := openIdle(b, srv.addr, 0, tc.idle)
			warm.close()
			time.Sleep(500 * time.Millisecond)
			before := srv.memory(b)

			start := time.Now()
			conns := make([]*client, idleConns)
			var failed atomic.Value
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= idleConns || failed.Load() != nil {
							return
						}
						c, err := openIdleErr(srv.addr, i, tc.idle)
						if err != nil {
							failed.Store(fmt.Errorf("connection %d: %w", i, err))
							return
						}
						conns[i] = c
					}
				}()
			}
			wg.Wait()
			defer func() {
				for _, c := range conns {
					if c != nil {
						c.close()
					}
				}
			}()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
			opened := time.Since(start)
			// Let the server finish what the logins left (garbage,
			// background checkpoints) before reading its memory.
			time.Sleep(2 * time.Second)
			after := srv.memory(b)
			// The connections are all still alive.
			for _, i := range []int{0, idleConns / 2, idleConns - 1} {
				if err := probe(conns[i], tc.idle); err != nil {
					b.Fatalf("connection %d after the measurement: %v", i, err)
				}
			}
			per := func(a, b int64) float64 { return float64(a-b) / idleConns }
			b.ReportMetric(per(after.rss, before.rss), "rss-B/conn")
			b.ReportMetric(per(after.anon, before.anon), "anon-B/conn")
			b.ReportMetric(float64(after.rss)/(1<<20), "rss-MiB")
			b.Logf("%d connections opened in %v; VmRSS %d -> %d KiB, RssAnon %d -> %d KiB, threads %d -> %d",
				idleConns, opened.Round(time.Millisecond), before.rss>>10, after.rss>>10, before.anon>>10, after.anon>>10, before.threads, after.threads)
		})
	}
}

// buildPostfach builds cmd/postfach into a temporary directory.
func buildPostfach(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "postfach")
	cmd := exec.Command("go", "build", "-o", bin, "postfach/cmd/postfach")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// raiseFileLimit lifts the soft limit on open files to the hard one; the
// server process inherits it.
func raiseFileLimit(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	// Both ends of every connection live on this machine: the test
	// process needs one descriptor per connection, the server another.
	if need := uint64(idleConns + 200); lim.Cur < need {
		b.Skipf("RLIMIT_NOFILE is %d; %d connections need %d", lim.Cur, idleConns, need)
	}
}

// serveProcess is a running `postfach serve`.
type serveProcess struct {
	cmd  *exec.Cmd
	addr string
}

var portRE = regexp.MustCompile(`IMAP +port (\d+) +SSL/TLS`)

// startServeProcess prepares a data directory with idleAccounts accounts
// (user0@example.org, ...) and runs `postfach serve` on it until the
// benchmark ends.
func startServeProcess(b *testing.B, bin string) *serveProcess {
	b.Helper()
	dir := b.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := seedIdleAccounts(dataDir); err != nil {
		b.Fatal(err)
	}
	conf := filepath.Join(dir, "postfach.toml")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`hostname = "mail.example.org"
data_dir = %q

[listen]
imap = ""
imaps = "127.0.0.1:0"

[limits]
max_connections = %d
max_connections_per_ip = %d

[auth]
time = %d
memory_kib = %d
threads = %d

[log]
level = "warn"
`, dataDir, 2*idleConns, 2*idleConns, imaptest.CheapParams.Time, imaptest.CheapParams.MemoryKiB, imaptest.CheapParams.Threads)), 0o600)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", conf)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &syncWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sp := &serveProcess{cmd: cmd}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if s := stderr.String(); strings.Contains(s, "level=ERROR") || strings.Contains(s, "panic") {
			b.Errorf("server logged errors:\n%s", s)
		}
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := portRE.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case p := <-port:
		sp.addr = net.JoinHostPort("127.0.0.1", p)
	case <-time.After(60 * time.Second):
		b.Fatalf("postfach serve did not report its port; stderr:\n%s", stderr.String())
	}
	return sp
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// seedIdleAccounts creates the accounts, each with idleMessages messages
// in INBOX.
func seedIdleAccounts(dataDir string) error {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dataDir, NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	for a := range idleAccounts {
		addr := fmt.Sprintf("user%d@example.org", a)
		if err := imaptest.AddUser(ctx, s, addr, imaptest.Password); err != nil {
			return err
		}
		m, inbox, err := userInbox(ctx, s, addr)
		if err != nil {
			return err
		}
		msgs := make([]store.NewMessage, idleMessages)
		for i := range msgs {
			f, kw := fixtureFlags(i)
			msgs[i] = store.NewMessage{Flags: f, Keywords: kw, Body: bytes.NewReader(fixtureMessage(a*idleMessages + i))}
		}
		if _, err := m.Append(ctx, inbox, msgs); err != nil {
			return err
		}
	}
	return nil
}

// openIdle opens connection i (its account and source address follow
// from i), logs in, selects INBOX and, with idle, starts IDLE.
func openIdle(b *testing.B, addr string, i int, idle bool) *client {
	b.Helper()
	c, err := openIdleErr(addr, i, idle)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func openIdleErr(addr string, i int, idle bool) (*client, error) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%idleSources))}
	c, err := login(addr, fmt.Sprintf("user%d@example.org", i%idleAccounts), imaptest.Password, local)
	if err != nil {
		return nil, err
	}
	if err := c.ok("SELECT INBOX", nil); err != nil {
		c.close()
		return nil, err
	}
	if idle {
		if err := c.idle(); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// probe checks that a connection still answers: DONE ends its IDLE, or a
// NOOP gets its OK.
func probe(c *client, idle bool) error {
	if idle {
		c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
		if _, err := io.WriteString(c.conn, "DONE\r\n"); err != nil {
			return err
		}
		tag := "b" + strconv.Itoa(c.n)
		status, text, err := c.response(tag, nil)
		if err != nil {
			return err
		}
		if status != "OK" {
			return fmt.Errorf("IDLE ended with %s %s", status, text)
		}
		return nil
	}
	return c.ok("NOOP", nil)
}

// cpu is the server's user and system CPU time so far (/proc/PID/stat,
// in clock ticks of 10 ms).
func (sp *serveProcess) cpu(b *testing.B) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sp.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are fields 14 and 15.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", sp.cmd.Process.Pid, data)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// memory is what /proc/PID/status says of the server's memory.
type memory struct {
	rss, anon int64 // bytes
	threads   int
}

func (sp *serveProcess) memory(b *testing.B) memory {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", sp.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	var m memory
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "RssAnon":
			m.anon = n << 10
		case "Threads":
			m.threads = int(n)
		}
	}
	if m.rss == 0 {
		b.Fatalf("no VmRSS in /proc/%d/status", sp.cmd.Process.Pid)
	}
	return m
}

// fanOutConns is how many sessions idle on one mailbox in
// BenchmarkIdleFanOut.
const fanOutConns = 2000

// BenchmarkIdleFanOut measures how long one delivery takes to reach every
// session idling on one mailbox (one user's many devices, or a shared
// mailbox): fanOutConns connections of one account SELECT INBOX and IDLE
// against a separate `postfach serve` process; each iteration appends a
// message from another connection and waits until every idler has read
// its EXISTS. Reported, from the APPEND's start: the mean time until the
// last idler saw it (last-ms) and until 99% had (p99-ms); and the server's
// CPU per idler and delivery (server-cpu-us/push), which, unlike the
// latencies, does not depend on what else runs on the machine. Run it
// with -benchtime 300x or so.
func BenchmarkIdleFanOut(b *testing.B) {
	bin := buildPostfach(b)
	raiseFileLimit(b)
	srv := startServeProcess(b, bin)
	idlers := make([]*client, fanOutConns)
	defer func() {
		for _, c := range idlers {
			if c != nil {
				c.close()
			}
		}
	}()
	// One login at a time: the login guard counts logins in flight on
	// one account as guesses.
	for i := range idlers {
		c, err := openIdleErr(srv.addr, i*idleAccounts, true) // all on user0
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		idlers[i] = c
	}
	writer, err := login(srv.addr, "user0@example.org", imaptest.Password, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer writer.close()

	// seen[k] counts the idlers that read the EXISTS of delivery k;
	// arrivals[k] their times.
	total := b.N
	seen := make([]atomic.Int64, total)
	arrivals := make([][]time.Duration, total)
	for k := range arrivals {
		arrivals[k] = make([]time.Duration, fanOutConns)
	}
	starts := make([]atomic.Int64, total)
	complete := make([]chan struct{}, total)
	for k := range complete {
		complete[k] = make(chan struct{})
	}
	var readers sync.WaitGroup
	for i, c := range idlers {
		c.timeout = 10 * time.Minute
		readers.Go(func() {
			for {
				line, err := c.readLine()
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				var n int
				if _, err := fmt.Sscanf(string(line), "* %d EXISTS", &n); err != nil {
					continue
				}
				if k := n - idleMessages - 1; k >= 0 && k < total {
					arrivals[k][i] = time.Duration(now - starts[k].Load())
					if seen[k].Add(1) == fanOutConns {
						close(complete[k])
					}
				}
			}
		})
	}
	msg := fixtureMessage(1 << 20)
	cpuBefore := srv.cpu(b)
	b.ResetTimer()
	for k := range total {
		starts[k].Store(time.Now().UnixNano())
		if _, err := writer.appendMessage("INBOX", msg); err != nil {
			b.Fatal(err)
		}
		select {
		case <-complete[k]:
		case <-time.After(time.Minute):
			b.Fatalf("delivery %d reached %d of %d idlers in a minute", k, seen[k].Load(), fanOutConns)
		}
	}
	b.StopTimer()
	cpu := srv.cpu(b) - cpuBefore
	var last, p99 time.Duration
	for _, a := range arrivals {
		slices.Sort(a)
		last += a[len(a)-1]
		p99 += a[len(a)*99/100]
	}
	b.ReportMetric(float64(last.Microseconds())/float64(total)/1000, "last-ms")
	b.ReportMetric(float64(p99.Microseconds())/float64(total)/1000, "p99-ms")
	// The server's CPU per idler and delivery: on a shared machine, the
	// latencies depend on the other programs, this does not.
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(total*fanOutConns), "server-cpu-us/push")
	for _, c := range idlers {
		c.close()
	}
	readers.Wait()
}

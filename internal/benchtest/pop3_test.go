package benchtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
	"postfach/internal/server"
	"postfach/internal/store"
	"postfach/internal/store/match"
	"postfach/internal/store/sqlite"
)

// The POP3 benchmarks run against a server of their own, with fsync on as
// in production, or, when POSTFACH_POP3_BENCH_ADDR names an implicit-TLS
// POP3 server (host:port), against that one: bench/pop3/compare.sh runs
// them against Dovecot so, over the same maildrops (provisioned by
// bench/pop3/mkmaildir with the same messages), with the same client.
//
//   - BenchmarkPOP3Retr10k: one session RETRs the messages of a
//     10,000-message maildrop in turn (pop3test.BenchMessage, 18 KB on
//     average), each response read whole before the next command, as
//     fetchmail and getmail do; reports MB/s and msgs/s. Run it with
//     -benchtime 10000x for one pass over the maildrop.
//   - BenchmarkPOP3LoginStatQuit: parallel clients connect (implicit
//     TLS), log in with USER/PASS, STAT and QUIT; reports sessions/s.
//   - BenchmarkPOP3LoginStatQuit10k: the same, one session after
//     another, on the 10,000-message maildrop.
//
// The maildrops are built once and cached in os.TempDir() (see
// pop3FixtureDir). Accounts: pop3big@example.org holds the 10,000
// messages; pop3user1..pop3user32@example.org hold 20 each. All have the
// password POSTFACH_POP3_BENCH_PASSWORD (default imaptest.Password).
const (
	pop3BigUser    = "pop3big@example.org"
	pop3SmallUsers = 32
	pop3SmallMsgs  = 20
)

func pop3SmallUser(i int) string { return fmt.Sprintf("pop3user%d@example.org", i+1) }

// pop3Server is the benchmarks' own server, shared by the benchmarks of
// the test binary.
var pop3Server struct {
	once sync.Once
	srv  *server.Server
	addr string
	err  error
}

// pop3Target returns the address and password to benchmark.
func pop3Target(b *testing.B) (addr, password string) {
	b.Helper()
	password = imaptest.Password
	if p := os.Getenv("POSTFACH_POP3_BENCH_PASSWORD"); p != "" {
		password = p
	}
	if a := os.Getenv("POSTFACH_POP3_BENCH_ADDR"); a != "" {
		return a, password
	}
	ps := &pop3Server
	ps.once.Do(func() {
		start := time.Now()
		ps.srv, ps.addr, ps.err = startPOP3Bench(b)
		if ps.err == nil {
			b.Logf("POP3 maildrops ready in %v", time.Since(start).Round(time.Millisecond))
		}
	})
	if ps.err != nil {
		b.Fatal(ps.err)
	}
	return ps.addr, password
}

// pop3FixtureVersion names the maildrops' content; change it whenever
// pop3test.BenchMessage or the accounts change.
const pop3FixtureVersion = "v1"

// pop3FixtureDir returns the data directory of the POP3 maildrops,
// building it on first use and caching it across runs in os.TempDir()
// (or $POSTFACH_POP3_BENCH_FIXTURE), as fixtureDir does for the 100k
// mailbox: so that a comparison alternating between servers does not
// rebuild it each time.
func pop3FixtureDir() (string, error) {
	dir := os.Getenv("POSTFACH_POP3_BENCH_FIXTURE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "postfach-benchtest-pop3-"+pop3FixtureVersion+"-fold"+strconv.Itoa(match.FoldVersion))
	}
	return cachedFixture(dir, "the POP3 maildrops", checkPOP3Fixture, buildPOP3Fixture)
}

// checkPOP3Fixture reports whether dir holds the complete maildrops; an
// absent one is os.ErrNotExist.
func checkPOP3Fixture(dir string) error {
	return checkInboxes(dir, inboxSize{pop3BigUser, pop3test.BenchMessages}, inboxSize{pop3SmallUser(pop3SmallUsers - 1), pop3SmallMsgs})
}

// buildPOP3Fixture fills dir through the store, and waits until the
// full-text indexer has caught up, so that it does not run beside the
// benchmarks.
func buildPOP3Fixture(dir string) error {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	fill := func(user string, n int) error {
		return fillInbox(ctx, s, user, n, func(i int) store.NewMessage {
			return store.NewMessage{Body: bytes.NewReader(pop3test.BenchMessage(i))}
		})
	}
	if err := fill(pop3BigUser, pop3test.BenchMessages); err != nil {
		return err
	}
	for i := range pop3SmallUsers {
		if err := fill(pop3SmallUser(i), pop3SmallMsgs); err != nil {
			return err
		}
	}
	return s.WaitIndexed(ctx)
}

// startPOP3Bench starts a server, with fsync on, on the maildrops.
func startPOP3Bench(b *testing.B) (*server.Server, string, error) {
	dir, err := pop3FixtureDir()
	if err != nil {
		return nil, "", err
	}
	srv, err := startServer(context.Background(), dir, config.Listen{POP3S: "127.0.0.1:0"}, func(cfg *config.Config) {
		// The login guard slows concurrent logins from one address;
		// the benchmark's clients are all on loopback.
		cfg.Security.Allowlist = []string{"127.0.0.0/8"}
	})
	if err != nil {
		return nil, "", fmt.Errorf("server on the POP3 maildrops (is another benchmark run using them?): %w", err)
	}
	return srv, srv.Addr("pop3s").String(), nil
}

// pop3Client is a lean POP3 client for benchmarks: it counts what it
// reads and keeps nothing.
type pop3Client struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func dialPOP3(addr string) (*pop3Client, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, clientTLS())
	if err != nil {
		return nil, err
	}
	c := &pop3Client{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), bw: bufio.NewWriterSize(conn, 4096)}
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := c.status(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

func (c *pop3Client) close() { c.conn.Close() }

// status reads a status line and returns its text after "+OK".
func (c *pop3Client) status() ([]byte, error) {
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(l, []byte("+OK")) {
		return nil, fmt.Errorf("%q", bytes.TrimSpace(l))
	}
	return bytes.TrimSpace(l[3:]), nil
}

// cmd sends a command and reads its status line.
func (c *pop3Client) cmd(line string) ([]byte, error) {
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	text, err := c.status()
	if err != nil {
		if len(line) > 5 && line[:5] == "PASS " {
			line = "PASS"
		}
		return nil, fmt.Errorf("%s: %w", line, err)
	}
	return text, nil
}

// body reads a multi-line body and returns its octets, byte-stuffing
// undone, the final "." line left out.
func (c *pop3Client) body() (int64, error) {
	var n int64
	bol := true
	for {
		l, err := c.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return n, err
		}
		if bol && len(l) > 0 && l[0] == '.' {
			if len(l) == 3 && l[1] == '\r' && l[2] == '\n' {
				return n, nil
			}
			n--
		}
		n += int64(len(l))
		bol = err == nil
	}
}

func (c *pop3Client) login(user, password string) error {
	if _, err := c.cmd("USER " + user); err != nil {
		return err
	}
	_, err := c.cmd("PASS " + password)
	return err
}

// BenchmarkPOP3Retr10k: RETR throughput over one session on the
// 10,000-message maildrop. Each RETR's octets are checked against LIST.
func BenchmarkPOP3Retr10k(b *testing.B) {
	addr, password := pop3Target(b)
	var want int64
	for i := range pop3test.BenchMessages {
		want += int64(len(pop3test.BenchMessage(i)))
	}
	c, err := dialPOP3(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	if err := c.login(pop3BigUser, password); err != nil {
		b.Fatal(err)
	}
	text, err := c.cmd("STAT")
	if err != nil {
		b.Fatal(err)
	}
	if got := string(text); got != fmt.Sprintf("%d %d", pop3test.BenchMessages, want) {
		b.Fatalf("STAT %q, want %d %d", got, pop3test.BenchMessages, want)
	}
	if _, err := c.cmd("LIST"); err != nil {
		b.Fatal(err)
	}
	sizes := make([]int64, 0, pop3test.BenchMessages)
	for {
		l, err := c.br.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if string(l) == ".\r\n" {
			break
		}
		var num, size int64
		if _, err := fmt.Sscanf(string(l), "%d %d", &num, &size); err != nil {
			b.Fatalf("LIST line %q", l)
		}
		sizes = append(sizes, size)
	}
	var octets int64
	cpu := startCPU()
	start := time.Now()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		c.conn.SetDeadline(time.Now().Add(5 * time.Minute))
		if _, err := c.cmd("RETR " + strconv.Itoa(i+1)); err != nil {
			b.Fatal(err)
		}
		n, err := c.body()
		if err != nil {
			b.Fatal(err)
		}
		if n != sizes[i] {
			b.Fatalf("RETR %d: %d octets, LIST said %d", i+1, n, sizes[i])
		}
		octets += n
		i = (i + 1) % len(sizes)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(octets)/1e6/elapsed.Seconds(), "MB/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	cpu.report(b)
	c.cmd("QUIT")
}

// BenchmarkPOP3LoginStatQuit: sessions per second, each a TLS connection,
// USER/PASS, STAT and QUIT, from 4 clients per core, each on an account
// of its own (a second session on a maildrop would wait for the first).
func BenchmarkPOP3LoginStatQuit(b *testing.B) {
	addr, password := pop3Target(b)
	// Warm up: the first login of each account hashes its password and
	// reads its maildrop for the first time.
	for i := range pop3SmallUsers {
		if err := pop3Session(addr, pop3SmallUser(i), password); err != nil {
			b.Fatal(err)
		}
	}
	var next, inUse atomic.Int64
	b.SetParallelism(4)
	cpu := startCPU()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		user := pop3SmallUser(int(next.Add(1)-1) % pop3SmallUsers)
		for pb.Next() {
			for {
				err := pop3Session(addr, user, password)
				if err == nil {
					break
				}
				if !errors.Is(err, errInUse) {
					b.Error(err)
					return
				}
				inUse.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sessions/s")
	if n := inUse.Load(); n > 0 {
		b.ReportMetric(float64(n), "in-use-retries")
	}
	cpu.report(b)
}

// BenchmarkPOP3LoginStatQuit10k: sessions on the 10,000-message
// maildrop, one after another: what reading a large maildrop at login
// costs (the numbering, the sizes, the unique-ids).
func BenchmarkPOP3LoginStatQuit10k(b *testing.B) {
	addr, password := pop3Target(b)
	if err := pop3BigSession(addr, password); err != nil {
		b.Fatal(err)
	}
	cpu := startCPU()
	start := time.Now()
	b.ResetTimer()
	for b.Loop() {
		if err := pop3BigSession(addr, password); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sessions/s")
	cpu.report(b)
}

func pop3BigSession(addr, password string) error {
	c, err := dialPOP3(addr)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.login(pop3BigUser, password); err != nil {
		return err
	}
	text, err := c.cmd("STAT")
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(text, []byte(strconv.Itoa(pop3test.BenchMessages)+" ")) {
		return fmt.Errorf("STAT %q", text)
	}
	_, err = c.cmd("QUIT")
	return err
}

var errInUse = errors.New("maildrop in use")

func pop3Session(addr, user, password string) error {
	c, err := dialPOP3(addr)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.login(user, password); err != nil {
		if bytes.Contains([]byte(err.Error()), []byte("[IN-USE]")) {
			return errInUse
		}
		return err
	}
	text, err := c.cmd("STAT")
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(text, []byte(strconv.Itoa(pop3SmallMsgs)+" ")) {
		return fmt.Errorf("STAT %q for %s", text, user)
	}
	_, err = c.cmd("QUIT")
	return err
}

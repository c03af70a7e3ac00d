//go:build linux

package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/dns/dnstest"
	"postfach/internal/queue"
)

// The outbound queue's promise, tested like the store's:
//
//	Once Enqueue has returned, the message survives kill -9: after the
//	restart it is queued, complete, and gets delivered; nothing
//	half-written is ever visible; after a clean restart nothing is sent
//	twice.
//
// The child is this test binary run again (TestQueueChild), which opens
// the queue on a directory and enqueues from several goroutines,
// printing each queue ID once Enqueue returned; the parent kills it with
// SIGKILL right after reading an acknowledgement. In the "delivering"
// variant the child also delivers, to an MX in the parent, while it
// enqueues, so kills land in the middle of SMTP transactions and of the
// commits that record them.

const (
	queueChildEnv   = "POSTFACH_QUEUE_CHILD"
	queueDirEnv     = "POSTFACH_QUEUE_DIR"
	queuePortEnv    = "POSTFACH_QUEUE_MX_PORT"
	queueSeedEnv    = "POSTFACH_QUEUE_SEED"
	queueSenders    = 4
	queueChildConns = 4 // the child's delivery concurrency
)

// queueZone routes remote.test to the parent's MX.
const queueZone = `
remote.test.    MX 10 mx.remote.test.
mx.remote.test. A  127.0.0.1
`

// TestQueueSurvivesKill: kills right after acknowledgements while the
// child only enqueues; every acknowledged message must then be queued
// and be delivered exactly once.
func TestQueueSurvivesKill(t *testing.T) {
	runQueueCrash(t, false)
}

// TestQueueDeliveringSurvivesKill: kills while the child enqueues and
// delivers; every acknowledged message must be delivered at least once,
// and a duplicate only for a transaction the kill interrupted between
// the remote's reply and our record of it.
func TestQueueDeliveringSurvivesKill(t *testing.T) {
	runQueueCrash(t, true)
}

// queueMsg is the content of message seq: its size and bytes follow from
// seq, so that the receiver can check it whole.
func queueMsg(seq int) []byte {
	size := 200 + (seq*7919)%(96<<10)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <"+testUser+">\r\nTo: <bob@remote.test>\r\nSubject: crash %d\r\nMessage-ID: <%d@local.test>\r\n\r\n", seq, seq)
	line := fmt.Sprintf(".%d the quick brown fox jumps over the lazy dog\r\n", seq)
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

var subjectRE = regexp.MustCompile(`(?m)^Subject: crash (\d+)\r$`)

// queueMX is the remote MX of the parent: it counts each message by its
// sequence number and checks its content.
type queueMX struct {
	t    *testing.T
	port int
	srv  *gosmtp.Server

	mu      sync.Mutex
	got     map[int]int // seq -> copies
	corrupt []string
	// defer451 makes the MX answer 451 to every RCPT.
	defer451 bool
}

func startQueueMX(t *testing.T) *queueMX {
	t.Helper()
	mx := &queueMX{t: t, got: map[int]int{}}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &queueMXSession{mx: mx}, nil
	}))
	srv.Domain = "mx.remote.test"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx.port = ln.Addr().(*net.TCPAddr).Port
	mx.srv = srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mx
}

func (mx *queueMX) copies() map[int]int {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	out := make(map[int]int, len(mx.got))
	for k, v := range mx.got {
		out[k] = v
	}
	return out
}

type queueMXSession struct{ mx *queueMX }

func (s *queueMXSession) Reset()                                 {}
func (s *queueMXSession) Logout() error                          { return nil }
func (s *queueMXSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *queueMXSession) Rcpt(string, *gosmtp.RcptOptions) error {
	s.mx.mu.Lock()
	defer s.mx.mu.Unlock()
	if s.mx.defer451 {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "not yet"}
	}
	return nil
}
func (s *queueMXSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := subjectRE.FindSubmatch(b)
	s.mx.mu.Lock()
	defer s.mx.mu.Unlock()
	if m == nil {
		s.mx.corrupt = append(s.mx.corrupt, fmt.Sprintf("message without a sequence number (%d octets)", len(b)))
		return nil
	}
	seq, _ := strconv.Atoi(string(m[1]))
	// The message as sent, after whatever trace fields a submission
	// server prepended.
	if want := queueMsg(seq); len(b) < len(want) || sha256.Sum256(b[len(b)-len(want):]) != sha256.Sum256(want) {
		s.mx.corrupt = append(s.mx.corrupt, fmt.Sprintf("message %d: %d octets, not ending in the %d sent", seq, len(b), len(want)))
	}
	s.mx.got[seq]++
	return nil
}

func runQueueCrash(t *testing.T, delivering bool) {
	n, sd := cycles(t), seed(t)
	t.Logf("seed %d, %d cycles, delivering %t", sd, n, delivering)
	r := rand.New(rand.NewPCG(sd, 0x9e3779b97f4a7c15))
	mx := startQueueMX(t)
	dir := filepath.Join(t.TempDir(), "queue")

	acked := map[int]string{} // seq -> queue ID
	next := 1
	for cycle := 0; cycle < n; cycle++ {
		// Kill after 1 to 60 acknowledgements, at once.
		killAfter := 1 + r.IntN(60)
		got := runQueueChild(t, dir, mx.port, next, delivering, killAfter)
		for seq, id := range got {
			acked[seq] = id
		}
		next += 100000
		t.Logf("cycle %d: killed after %d acknowledgements", cycle, len(got))

		// Right after the kill, before anything delivers: every
		// acknowledged message not yet delivered is queued.
		q, err := queue.Open(dir, queue.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		list, err := q.List(context.Background())
		q.Close()
		if err != nil {
			t.Fatal(err)
		}
		queued := map[string]bool{}
		for _, m := range list {
			queued[m.ID] = true
		}
		delivered := mx.copies()
		for seq, id := range got {
			if !queued[id] && delivered[seq] == 0 {
				t.Errorf("cycle %d: message %d (%s) was acknowledged but is neither queued nor delivered", cycle, seq, id)
			}
		}
	}

	// Restart with delivery and let the queue drain.
	q := openDeliveringQueue(t, dir, mx.port)
	waitQueueEmpty(t, q)
	deliveredBeforeRestart := mx.copies()
	for seq, id := range acked {
		if deliveredBeforeRestart[seq] == 0 {
			t.Errorf("message %d (%s) was acknowledged but never delivered", seq, id)
		}
	}
	dups := 0
	for seq, c := range deliveredBeforeRestart {
		if c > 1 {
			dups += c - 1
			if !delivering {
				t.Errorf("message %d delivered %d times, although nothing delivered before the kills", seq, c)
			}
		}
	}
	// A duplicate needs a kill between a remote's reply and our commit:
	// at most the transactions in flight at each kill.
	if dups > n*queueChildConns {
		t.Errorf("%d duplicates over %d kills with %d deliveries in flight at most", dups, n, queueChildConns)
	}
	// What was not acknowledged was in flight at a kill: at most one
	// Enqueue per sender.
	unacked := 0
	for seq := range deliveredBeforeRestart {
		if _, ok := acked[seq]; !ok {
			unacked++
		}
	}
	if unacked > n*queueSenders {
		t.Errorf("%d messages delivered that were never acknowledged, more than %d kills of %d senders leave in flight", unacked, n, queueSenders)
	}
	t.Logf("%d messages acknowledged, %d received (%d in flight at a kill), %d duplicates", len(acked), len(deliveredBeforeRestart), unacked, dups)

	// A clean restart sends nothing again.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q = openDeliveringQueue(t, dir, mx.port)
	q.Kick()
	time.Sleep(500 * time.Millisecond)
	after := mx.copies()
	for seq, c := range after {
		if c != deliveredBeforeRestart[seq] {
			t.Errorf("message %d sent again after a clean restart (%d copies, %d before)", seq, c, deliveredBeforeRestart[seq])
		}
	}
	mx.mu.Lock()
	for _, c := range mx.corrupt {
		t.Error(c)
	}
	mx.mu.Unlock()
	// Nothing of a crash is left: no spool file without its message.
	spool := 0
	filepath.WalkDir(filepath.Join(dir, queue.SpoolDirName), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			spool++
		}
		return nil
	})
	if spool != 0 {
		t.Errorf("%d spool files left after the queue drained", spool)
	}
}

func openDeliveringQueue(t *testing.T, dir string, port int) *queue.Queue {
	t.Helper()
	q, err := queue.Open(dir, queue.Options{
		Resolver: dnstest.Resolver(t, queueZone),
		Hostname: "mail.local.test",
		SMTPPort: port,
		// Messages the kill left unacknowledged but complete are queued
		// too; deliver them all now.
		BackoffInitial: time.Second,
		BackoffMax:     time.Second,
		PollInterval:   50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func waitQueueEmpty(t *testing.T, q *queue.Queue) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		l, err := q.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued; first: %+v", len(l), l[0])
		}
		q.Kick()
		time.Sleep(50 * time.Millisecond)
	}
}

// runQueueChild runs the child on dir and kills it right after the
// killAfter-th acknowledgement; it returns what the child acknowledged.
func runQueueChild(t *testing.T, dir string, port, first int, delivering bool, killAfter int) map[int]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestQueueChild$", "-test.count=1")
	mode := "enqueue"
	if delivering {
		mode = "deliver"
	}
	cmd.Env = append(os.Environ(), queueChildEnv+"="+mode, queueDirEnv+"="+dir, queuePortEnv+"="+strconv.Itoa(port), queueSeedEnv+"="+strconv.Itoa(first))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	sc := bufio.NewScanner(out)
	timer := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	killed := false
	for sc.Scan() {
		var seq int
		var id string
		if _, err := fmt.Sscanf(sc.Text(), "queued %d %s", &seq, &id); err != nil {
			continue // the test framework's own lines
		}
		// Lines still in the pipe after the kill were acknowledged
		// before it: they count too.
		got[seq] = id
		if len(got) >= killAfter && !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended without the kill (%v) after %d acknowledgements:\n%s", err, len(got), stderr.String())
	}
	if strings.Contains(stderr.String(), "DATA RACE") || strings.Contains(stderr.String(), "panic:") {
		t.Fatalf("child failed:\n%s", stderr.String())
	}
	return got
}

// TestQueueChild is the child of the queue crash tests; it does nothing
// unless run by them.
func TestQueueChild(t *testing.T) {
	mode := os.Getenv(queueChildEnv)
	if mode == "" {
		t.Skip("the child process of TestQueueSurvivesKill")
	}
	dir := os.Getenv(queueDirEnv)
	port, _ := strconv.Atoi(os.Getenv(queuePortEnv))
	first, _ := strconv.Atoi(os.Getenv(queueSeedEnv))
	// fsync on, as in production: the kill must find the same state a
	// power cut after the acknowledgement would.
	q, err := queue.Open(dir, queue.Options{
		Resolver:       dnstest.Resolver(t, queueZone),
		Hostname:       "mail.local.test",
		SMTPPort:       port,
		Concurrency:    queueChildConns,
		PerDomain:      queueChildConns,
		BackoffInitial: time.Second,
		PollInterval:   50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if mode == "deliver" {
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	var seq = first
	for range queueSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				s := seq
				seq++
				mu.Unlock()
				msg := queueMsg(s)
				env := queue.Envelope{From: "alice@local.test", To: []queue.Recipient{{Addr: "bob@remote.test"}}}
				id, err := q.Enqueue(context.Background(), env, bytes.NewReader(msg), int64(len(msg)))
				if err != nil {
					fmt.Fprintln(os.Stderr, "enqueue:", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "queued %d %s\n", s, id)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Fatal("the senders stopped before the kill")
}

// TestQueueServeSurvivesKill runs the whole chain in `postfach serve`:
// eight clients submit over submission (STARTTLS, AUTH) as fast as the
// server answers 250; the server is killed right after an answer; after
// the restart every acknowledged message is delivered to the remote MX,
// and a clean restart after that sends nothing again. The MX defers
// everything until the kills are over, so that acknowledged messages
// must have been in the queue.
func TestQueueServeSurvivesKill(t *testing.T) {
	n, sd := cycles(t), seed(t)
	r := rand.New(rand.NewPCG(sd, 7))
	t.Logf("seed %d, %d cycles", sd, n)
	mx := startQueueMX(t)
	mx.mu.Lock()
	mx.defer451 = true
	mx.mu.Unlock()
	in := newQueueInstance(t, mx.port)

	acked := map[int]bool{}
	var mu sync.Mutex
	next := 1
	for cycle := 0; cycle < n; cycle++ {
		srv := in.start()
		sub := srv.log.addr("submission")
		if sub == "" {
			t.Fatalf("no submission listener\n%s", srv.log.tail(40))
		}
		killAfter := 1 + r.IntN(40)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var once sync.Once
		count := 0
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq := next
					next++
					mu.Unlock()
					if err := submitOne(sub, seq); err != nil {
						return // the kill
					}
					mu.Lock()
					acked[seq] = true
					count++
					kill := count >= killAfter
					mu.Unlock()
					if kill {
						once.Do(func() {
							srv.crash()
							close(stop)
						})
						return
					}
				}
			}()
		}
		wg.Wait()
		once.Do(func() { srv.crash(); close(stop) })
		t.Logf("cycle %d: killed after %d acknowledgements", cycle, count)
	}

	listing := in.admin("", "queue", "list")
	// Open the MX and restart: every acknowledged message arrives.
	mx.mu.Lock()
	mx.defer451 = false
	mx.mu.Unlock()
	srv := in.start()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got := mx.copies()
		missing := 0
		for seq := range acked {
			if got[seq] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never delivered\n%s", missing, len(acked), srv.log.tail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Unacknowledged ones in flight at a kill may arrive too; let the
	// queue drain, then stop cleanly and start again.
	waitFor := time.Now().Add(time.Minute)
	for !strings.Contains(in.admin("", "queue", "list"), "the queue is empty") {
		if time.Now().After(waitFor) {
			t.Fatalf("queue never drained:\n%s", in.admin("", "queue", "list"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.stop()
	before := mx.copies()
	for seq, c := range before {
		if c != 1 {
			t.Errorf("message %d (%d octets) delivered %d times; the queue after the kills:\n%s", seq, len(queueMsg(seq)), c, listing)
		}
	}
	srv = in.start()
	time.Sleep(2 * time.Second) // a backoff's worth
	srv.stop()
	for seq, c := range mx.copies() {
		if c != before[seq] {
			t.Errorf("message %d sent again after a clean restart", seq)
		}
	}
	mx.mu.Lock()
	for _, c := range mx.corrupt {
		t.Error(c)
	}
	mx.mu.Unlock()
	t.Logf("%d messages acknowledged, %d delivered", len(acked), len(before))
}

// newQueueInstance configures `postfach serve` with submission, a zone
// file routing remote.test to the MX's port, and quick retries.
func newQueueInstance(t *testing.T, mxPort int) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{t: t, bin: postfachBinary(t), dir: dir, config: filepath.Join(dir, "postfach.toml"), dataDir: filepath.Join(dir, "data")}
	if err := os.WriteFile(filepath.Join(dir, "zone.txt"), []byte(queueZone), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`hostname = "mail.example.org"
data_dir = "data"

[listen]
imaps = "127.0.0.1:0"
submission = "127.0.0.1:0"

[dns]
zone_file = "zone.txt"

[queue]
smtp_port = %d
backoff_initial = "1s"
backoff_max = "1s"

[auth]
time = 1
memory_kib = 64
threads = 1

[log]
level = "info"
format = "json"
`, mxPort)
	if err := os.WriteFile(in.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in.admin("", "domain", "add", "example.org")
	in.admin(testPassword+"\n", "user", "add", testUser)
	return in
}

// submitOne submits message seq as alice; nil means the server answered
// 250 to the end of data.
func submitOne(addr string, seq int) error {
	c, err := gosmtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout = time.Minute
	if err := c.Auth(sasl.NewPlainClient("", testUser, testPassword)); err != nil {
		return err
	}
	return c.SendMail(testUser, []string{"bob@remote.test"}, bytes.NewReader(queueMsg(seq)))
}

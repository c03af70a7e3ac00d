//go:build linux

package crashtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/queue"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// SMTP's promise, tested like the store's:
//
//	Once the server has sent 250 for a message (per recipient over LMTP),
//	the message survives kill -9: after the restart it is in each
//	recipient's mailbox, byte for byte, or (for a remote recipient) in
//	the outbound queue; and nothing else is there but complete messages
//	that were in flight, each at most once.
//
// The load: clients deliver over the MX to alice, over LMTP to alice and
// bob, and submit as alice (STARTTLS, AUTH) to bob and to a remote
// recipient, whose copy waits in the queue (its MX refuses connections,
// so the queue keeps it). Each submission has its own envelope sender,
// alice+TAG@, by which the queue names it.

const (
	smtpCrashUser2  = "bob@example.org"
	smtpCrashRemote = "carol@remote.test"
)

// smtpZone sends remote.test's mail to a port nothing listens on.
const smtpZone = `
remote.test.    MX 10 mx.remote.test.
mx.remote.test. A  127.0.0.1
`

// newSMTPInstance writes a configuration with the SMTP listeners.
func newSMTPInstance(t *testing.T) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{t: t, bin: postfachBinary(t), dir: dir, config: filepath.Join(dir, "postfach.toml"), dataDir: filepath.Join(dir, "data")}
	if err := os.WriteFile(filepath.Join(dir, "zone.txt"), []byte(smtpZone), 0o644); err != nil {
		t.Fatal(err)
	}
	// A port that was free a moment ago: the remote MX refuses.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := fmt.Sprintf(`hostname = "mail.example.org"
data_dir = "data"

[listen]
imaps = "127.0.0.1:0"
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
lmtp = "127.0.0.1:0"

[dns]
zone_file = "zone.txt"

[queue]
smtp_port = %d
backoff_initial = "1h"

[auth]
time = 1
memory_kib = 64
threads = 1

[log]
level = "info"
format = "json"
`, closedPort)
	if err := os.WriteFile(in.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in.admin("", "domain", "add", "example.org")
	in.admin(testPassword+"\n", "user", "add", testUser)
	in.admin(testPassword+"\n", "user", "add", smtpCrashUser2)
	return in
}

// smtpKind is how a message travels.
type smtpKind int

const (
	viaMX smtpKind = iota
	viaLMTP
	viaSubmission
)

// smtpSent is one message a client sent.
type smtpSent struct {
	tag  string
	kind smtpKind
	body string
	// acked holds the recipients the server acknowledged (250).
	acked map[string]bool
}

// smtpLedger records what was sent and acknowledged, over all cycles.
type smtpLedger struct {
	mu   sync.Mutex
	msgs map[string]*smtpSent
}

func (l *smtpLedger) sent(m *smtpSent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[m.tag] = m
}

func (l *smtpLedger) ack(tag string, rcpts ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rcpts {
		l.msgs[tag].acked[r] = true
	}
}

// TestSMTPSurvivesKill: clients deliver and submit as fast as the server
// acknowledges; the server is killed at a random moment and restarted;
// every acknowledged message is then where it belongs.
func TestSMTPSurvivesKill(t *testing.T) {
	in := newSMTPInstance(t)
	rng := rand.New(rand.NewPCG(seed(t), 0x5317))
	ledger := &smtpLedger{msgs: map[string]*smtpSent{}}
	n := cycles(t)
	for cycle := range n {
		c := in.start()
		smtpAddr, subAddr, lmtpAddr := c.log.addr("smtp"), c.log.addr("submission"), c.log.addr("lmtp")
		if cycle > 0 {
			checkSMTP(t, in, ledger)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w, kind := range []smtpKind{viaMX, viaMX, viaLMTP, viaLMTP, viaSubmission, viaSubmission} {
			wg.Add(1)
			wseed := rng.Uint64()
			go func() {
				defer wg.Done()
				smtpWorker(ledger, kind, fmt.Sprintf("c%dw%d", cycle, w), smtpAddr, subAddr, lmtpAddr, wseed, stop)
			}()
		}
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		c.crash()
		close(stop)
		wg.Wait()
	}
	c := in.start()
	checkSMTP(t, in, ledger)
	acked := 0
	for _, m := range ledger.msgs {
		if len(m.acked) > 0 {
			acked++
		}
	}
	t.Logf("%d cycles, %d messages sent, %d acknowledged", n, len(ledger.msgs), acked)
	if acked == 0 {
		t.Fatal("no message was acknowledged: the load did not run")
	}
	c.stop()
	// Spooled message data lives in unlinked files: nothing is left.
	if left, _ := os.ReadDir(filepath.Join(in.dataDir, "tmp")); len(left) > 0 {
		t.Errorf("spool directory holds %d files after the crashes", len(left))
	}
}

// smtpWorker sends messages of one kind until stop or until the server
// dies. Sizes run from 1 KB to 20 KB, with one message in 10 over the
// server's in-memory spool (64 KiB), so kills land in file spooling too.
func smtpWorker(ledger *smtpLedger, kind smtpKind, name, smtpAddr, subAddr, lmtpAddr string, seed uint64, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		tag := fmt.Sprintf("%s-%d", name, i)
		size := 1<<10 + rng.IntN(19<<10)
		if rng.IntN(10) == 0 {
			size = 100 << 10
		}
		var b strings.Builder
		fmt.Fprintf(&b, "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: %s\r\nMessage-ID: <%s@crash.test>\r\n\r\n", tag, tag)
		for b.Len() < size {
			fmt.Fprintf(&b, "%s line %d %x\r\n", tag, b.Len(), rng.Uint64())
		}
		m := &smtpSent{tag: tag, kind: kind, body: b.String(), acked: map[string]bool{}}
		ledger.sent(m)
		var err error
		switch kind {
		case viaMX:
			err = sendMX(ledger, m, smtpAddr)
		case viaLMTP:
			err = sendLMTP(ledger, m, lmtpAddr)
		case viaSubmission:
			err = submit(ledger, m, subAddr)
		}
		if err != nil {
			return // the server is gone
		}
	}
}

func sendMX(ledger *smtpLedger, m *smtpSent, addr string) error {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("bob@remote.test", []string{testUser}, strings.NewReader(m.body)); err != nil {
		return err
	}
	ledger.ack(m.tag, testUser)
	return nil
}

func sendLMTP(ledger *smtpLedger, m *smtpSent, addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c := gosmtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("mta.example"); err != nil {
		return err
	}
	if err := c.Mail("bob@remote.test", nil); err != nil {
		return err
	}
	for _, r := range []string{testUser, smtpCrashUser2} {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, m.body); err != nil {
		return err
	}
	// Only the recipients answered 250 are in resp.
	resp, err := w.CloseWithLMTPResponse()
	for rcpt := range resp {
		ledger.ack(m.tag, rcpt)
	}
	if err != nil {
		return err
	}
	return c.Quit()
}

func submit(ledger *smtpLedger, m *smtpSent, addr string) error {
	c, err := gosmtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", testUser, testPassword)); err != nil {
		return err
	}
	if err := c.SendMail("alice+"+m.tag+"@example.org", []string{smtpCrashUser2, smtpCrashRemote}, strings.NewReader(m.body)); err != nil {
		return err
	}
	ledger.ack(m.tag, smtpCrashUser2, smtpCrashRemote)
	return nil
}

// checkSMTP reads both mailboxes from the store and the queue, with the
// server running (as the admin commands do), and checks the ledger.
func checkSMTP(t *testing.T, in *instance, ledger *smtpLedger) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: in.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ledger.mu.Lock()
	defer ledger.mu.Unlock()

	found := map[string]map[string]int{} // recipient -> tag -> copies
	for _, user := range []string{testUser, smtpCrashUser2} {
		found[user] = map[string]int{}
		for _, body := range mailboxBodies(t, st, user) {
			tag := subjectOf(body)
			m := ledger.msgs[tag]
			switch {
			case m == nil:
				t.Errorf("%s holds a message nobody sent: %.200q", user, body)
				continue
			case !strings.HasSuffix(body, m.body):
				t.Errorf("%s holds %s incomplete or changed (%d octets, sent %d)", user, tag, len(body), len(m.body))
			}
			found[user][tag]++
		}
	}
	q, err := queue.Open(queue.DataDirQueue(in.dataDir), queue.Options{Hostname: "mail.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	list, err := q.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found[smtpCrashRemote] = map[string]int{}
	for _, qm := range list {
		tag, ok := strings.CutPrefix(strings.TrimSuffix(qm.From, "@example.org"), "alice+")
		m := ledger.msgs[tag]
		if !ok || m == nil || len(qm.Recipients) != 1 || qm.Recipients[0].Addr != smtpCrashRemote {
			t.Errorf("the queue holds a message nobody sent: %+v", qm)
			continue
		}
		if qm.Size < int64(len(m.body)) {
			t.Errorf("queued %s has %d octets, sent %d", tag, qm.Size, len(m.body))
		}
		found[smtpCrashRemote][tag]++
	}

	for tag, m := range ledger.msgs {
		for rcpt := range m.acked {
			if found[rcpt][tag] == 0 {
				t.Errorf("%s to %s was acknowledged and is lost", tag, rcpt)
			}
		}
		for rcpt, copies := range found {
			if copies[tag] > 1 {
				t.Errorf("%s is in %s's %s %d times", tag, rcpt, where(rcpt), copies[tag])
			}
		}
	}
}

func where(rcpt string) string {
	if rcpt == smtpCrashRemote {
		return "queue"
	}
	return "INBOX"
}

// mailboxBodies returns the bodies of an account's INBOX.
func mailboxBodies(t *testing.T, st *sqlite.Store, address string) []string {
	t.Helper()
	ctx := context.Background()
	acct, err := st.AccountByAddress(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	mail := st.Mail(acct.ID)
	mb, err := mail.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := mail.Snapshot(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.UIDs) == 0 {
		return nil
	}
	msgs, err := mail.Messages(ctx, mb.ID, store.UIDSetOf(snap.UIDs...), store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(msgs))
	for i := range msgs {
		b, err := mail.OpenBody(ctx, &msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

// subjectOf returns the Subject of a stored message: the tag.
func subjectOf(body string) string {
	for _, l := range strings.Split(body, "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			return s
		}
		if l == "" {
			break
		}
	}
	return ""
}

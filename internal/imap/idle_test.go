package imap_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
)

// startIdle selects (or examines) INBOX and enters IDLE.
func startIdle(t *testing.T, c *imaptest.Client, selectCmd string) {
	t.Helper()
	c.MustOK(selectCmd + " INBOX")
	if r := c.Do("IDLE"); r.Status != "+" {
		t.Fatalf("IDLE: %s", r)
	}
}

// readPush reads the lines one delivery pushes to an IMAP4rev1 idler:
// EXISTS, then RECENT.
func readPush(t *testing.T, c *imaptest.Client) (exists, recent string) {
	t.Helper()
	return readWithin(t, c, 10*time.Second), readWithin(t, c, 10*time.Second)
}

// Many sessions idle on one mailbox share the reads of what changed: each
// still gets its EXISTS, and each new message is \Recent in exactly one
// session that selected the mailbox (RFC 3501 section 2.3.2), never in one
// that examined it.
func TestIdleFanOutOneMailbox(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	const selecting, examining = 12, 3
	var idlers []*imaptest.Client
	for i := range selecting + examining {
		c := imaptest.Login(t, env, "alice@example.org")
		cmd := "SELECT"
		if i >= selecting {
			cmd = "EXAMINE"
		}
		startIdle(t, c, cmd)
		idlers = append(idlers, c)
	}
	writer := imaptest.Login(t, env, "alice@example.org")
	recents := make([]int, len(idlers)) // \Recent messages per session
	for n := 1; n <= 3; n++ {
		writer.Append("INBOX", "", imaptest.Message(fmt.Sprintf("fan-out %d", n), "x"))
		recentIn := 0
		for i, c := range idlers {
			exists, recent := readPush(t, c)
			if want := fmt.Sprintf("* %d EXISTS", n); exists != want {
				t.Errorf("idler %d, delivery %d: %q, want %q", i, n, exists, want)
			}
			var k int
			if _, err := fmt.Sscanf(recent, "* %d RECENT", &k); err != nil {
				t.Fatalf("idler %d, delivery %d: %q after EXISTS", i, n, recent)
			}
			switch {
			case k == recents[i]+1:
				if i >= selecting {
					t.Errorf("EXAMINE session %d got \\Recent", i)
				}
				recentIn++
			case k != recents[i]:
				t.Errorf("idler %d, delivery %d: RECENT from %d to %d", i, n, recents[i], k)
			}
			recents[i] = k
		}
		if recentIn != 1 {
			t.Fatalf("delivery %d is \\Recent in %d sessions", n, recentIn)
		}
	}
	for _, c := range idlers {
		c.Write("DONE\r\n")
		if r := c.Read("t3"); r.Status != "OK" {
			t.Fatalf("DONE: %s", r)
		}
		if r := c.MustOK("NOOP"); len(r.Untagged) != 0 {
			t.Errorf("after IDLE, NOOP reports %q again", r.Untagged)
		}
	}
}

// A push that must end the session (the selected mailbox is gone) says
// BYE and closes the connection while the session waits for DONE.
func TestIdleMailboxDeleted(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	a := imaptest.Login(t, env, "alice@example.org")
	b := imaptest.Login(t, env, "alice@example.org")
	a.MustOK("CREATE Doomed")
	b.MustOK("SELECT Doomed")
	if r := b.Do("IDLE"); r.Status != "+" {
		t.Fatalf("IDLE: %s", r)
	}
	a.MustOK("DELETE Doomed")
	if lines := b.ExpectClosed(); len(lines) == 0 || !strings.Contains(lines[0], "BYE") {
		t.Fatalf("idle session on a deleted mailbox: %q", lines)
	}
}

// IDLE and DONE in quick succession while messages arrive: every message
// is announced once, whether by a push during IDLE or by the command
// after it, and the session's numbering ends where the mailbox is.
func TestIdleDoneWhileDelivering(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	writer := imaptest.Login(t, env, "alice@example.org")
	c.MustOK("SELECT INBOX")
	const messages = 30
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range messages {
			writer.Append("INBOX", "", imaptest.Message(fmt.Sprintf("m%d", i), "x"))
		}
	}()
	highest, round := 0, 0
	note := func(lines []string) {
		for _, l := range lines {
			var n int
			if _, err := fmt.Sscanf(l, "%d EXISTS", &n); err == nil {
				if n <= highest {
					t.Fatalf("EXISTS went from %d to %d", highest, n)
				}
				highest = n
			}
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		round++
		tag := fmt.Sprintf("idle%d", round)
		c.Write(tag + " IDLE\r\n")
		r := c.Read(tag)
		if r.Status != "+" {
			t.Fatalf("IDLE: %s", r)
		}
		lines := r.Untagged
		time.Sleep(time.Millisecond)
		c.Write("DONE\r\n")
		r = c.Read(tag)
		if r.Status != "OK" {
			t.Fatalf("DONE: %s", r)
		}
		note(append(lines, r.Untagged...))
	}
	note(c.MustOK("NOOP").Untagged)
	if highest != messages {
		t.Fatalf("announced %d messages of %d", highest, messages)
	}
}

// batchConn holds back what is written to it while batching, and sends it
// in one write: TLS records written one by one then reach the server in
// one segment.
type batchConn struct {
	net.Conn
	batching bool
	held     []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	if b.batching {
		b.held = append(b.held, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

func (b *batchConn) flush() error {
	b.batching = false
	_, err := b.Conn.Write(b.held)
	b.held = nil
	return err
}

// Commands in TLS records of their own that arrive together: the TLS
// layer reads them at once and hands them out one record at a time, so
// the session must take the next one from it before it waits for the
// socket, between commands and during IDLE.
func TestPipelinedRecords(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	raw, err := net.DialTimeout("tcp", env.IMAPS, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	bc := &batchConn{Conn: raw}
	tc := tls.Client(bc, imaptest.ClientTLS())
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(tc)
	readUntil := func(prefix string) {
		t.Helper()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	send := func(lines ...string) {
		t.Helper()
		bc.batching = true
		for _, l := range lines {
			if _, err := tc.Write([]byte(l + "\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		if err := bc.flush(); err != nil {
			t.Fatal(err)
		}
	}
	readUntil("* OK")
	send("a LOGIN alice@example.org "+imaptest.Password, "b SELECT INBOX", "c NOOP")
	readUntil("a OK")
	readUntil("b OK")
	readUntil("c OK")
	send("d IDLE", "DONE", "e NOOP")
	readUntil("+ ")
	readUntil("d OK")
	readUntil("e OK")
}

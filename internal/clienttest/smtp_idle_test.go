package clienttest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	gosmtp "github.com/emersion/go-smtp"
)

// TestSMTPReachesIdle: a go-imap client idles on INBOX while mail arrives
// over the MX (go-smtp's client) and over LMTP. Each message is pushed as
// EXISTS right after the 250: delivery takes the path of APPEND, and
// publishes the change when it commits.
func TestSMTPReachesIdle(t *testing.T) {
	env := startSMTP(t, false, nil)
	h, ch := pushRecorder()
	idler := goLogin(t, env.Env, "alice@example.org", h)
	if _, err := idler.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := idler.Idle()
	if err != nil {
		t.Fatal(err)
	}

	send := func(addr string, lmtp bool, n int) time.Time {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := gosmtp.NewClient(conn)
		if lmtp {
			c = gosmtp.NewClientLMTP(conn)
		}
		defer c.Close()
		if err := c.Hello("client.example"); err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("bob@remote.test", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("alice@example.org", nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "From: bob@remote.test\r\nSubject: push %d\r\n\r\nhello\r\n", n)
		if lmtp {
			if _, err := w.CloseWithLMTPResponse(); err != nil {
				t.Fatal(err)
			}
		} else if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		c.Quit()
		return acked
	}

	for i, via := range []struct {
		addr string
		lmtp bool
	}{{env.SMTP, false}, {env.LMTP, true}, {env.SMTP, false}} {
		acked := send(via.addr, via.lmtp, i+1)
		p, delay := expectPush(t, ch, "EXISTS", acked)
		if p.num != uint32(i+1) {
			t.Fatalf("EXISTS %d after message %d", p.num, i+1)
		}
		// The push races the 250 to the clients; what matters is that it
		// is there at once.
		if delay > time.Second {
			t.Errorf("EXISTS came %v after the 250", delay)
		}
		t.Logf("message %d (lmtp %v): EXISTS %v after the 250", i+1, via.lmtp, delay)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := idler.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("push %d", i+1); m.Envelope == nil || !strings.EqualFold(m.Envelope.Subject, want) {
			t.Errorf("message %d: %+v", i+1, m.Envelope)
		}
	}
}

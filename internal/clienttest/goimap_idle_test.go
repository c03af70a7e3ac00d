package clienttest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/imaptest"
)

// pushed is one piece of unilateral data a client received.
type pushed struct {
	kind  string // EXISTS, EXPUNGE, FETCH
	num   uint32 // message count, or sequence number
	flags []imap.Flag
	at    time.Time
}

func (p pushed) String() string { return fmt.Sprintf("%s %d %v", p.kind, p.num, p.flags) }

// pushRecorder collects unilateral data through go-imap's handler. The
// handler runs on the client's reader goroutine, so the channel must never
// fill: it holds more than any test pushes.
func pushRecorder() (*imapclient.UnilateralDataHandler, <-chan pushed) {
	ch := make(chan pushed, 100000)
	h := &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { ch <- pushed{kind: "EXPUNGE", num: seq, at: time.Now()} },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				ch <- pushed{kind: "EXISTS", num: *d.NumMessages, at: time.Now()}
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil {
				return
			}
			ch <- pushed{kind: "FETCH", num: buf.SeqNum, flags: buf.Flags, at: time.Now()}
		},
	}
	return h, ch
}

// expectPush waits for the next unilateral data of kind, skipping others
// (a RECENT count, say), and returns it with its delay after since.
func expectPush(t *testing.T, ch <-chan pushed, kind string, since time.Time) (pushed, time.Duration) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-ch:
			if p.kind == kind {
				return p, p.at.Sub(since)
			}
			t.Logf("also pushed: %s", p)
		case <-timeout:
			t.Fatalf("no %s pushed within 5 s", kind)
		}
	}
}

// TestGoIMAPIdle keeps one go-imap client in IDLE while another appends,
// changes flags and expunges: each change must be pushed (EXISTS, FETCH,
// EXPUNGE) and the idling client's view must match the mailbox after DONE.
func TestGoIMAPIdle(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	h, ch := pushRecorder()
	idler := goLogin(t, env, "alice@example.org", h)
	other := goLogin(t, env, "alice@example.org", nil)
	msgs := corpus(3, 4)
	appendMessages(t, other, "INBOX", msgs[:2], nil)

	sel := must[*imap.SelectData](t, "SELECT")(idler.Select("INBOX", nil).Wait())
	if sel.NumMessages != 2 {
		t.Fatalf("SELECT: %d messages", sel.NumMessages)
	}
	idle, err := idler.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}

	start := time.Now()
	appendMessages(t, other, "INBOX", msgs[2:3], nil)
	p, d := expectPush(t, ch, "EXISTS", start)
	if p.num != 3 {
		t.Errorf("EXISTS %d, want 3", p.num)
	}
	t.Logf("EXISTS pushed %v after the APPEND was sent", d)

	must[*imap.SelectData](t, "SELECT (other)")(other.Select("INBOX", nil).Wait())
	start = time.Now()
	mustOK(t, "STORE (other)", other.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, "$Todo"}}, nil).Close())
	p, d = expectPush(t, ch, "FETCH", start)
	if p.num != 2 || !slices.Contains(p.flags, imap.FlagFlagged) || !slices.Contains(p.flags, "$Todo") {
		t.Errorf("FETCH pushed for %d with %v", p.num, p.flags)
	}
	t.Logf("FETCH FLAGS pushed %v after the STORE was sent", d)

	start = time.Now()
	mustOK(t, "STORE (other)", other.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	must[[]uint32](t, "EXPUNGE (other)")(other.Expunge().Collect())
	p, d = expectPush(t, ch, "EXPUNGE", start)
	if p.num != 1 {
		t.Errorf("EXPUNGE %d, want 1", p.num)
	}
	t.Logf("EXPUNGE pushed %v after the STORE was sent", d)

	// A message moved into the mailbox from elsewhere counts too.
	mustOK(t, "CREATE (other)", other.Create("Elsewhere", nil).Wait())
	appendMessages(t, other, "Elsewhere", msgs[3:], nil)
	must[*imap.SelectData](t, "SELECT (other)")(other.Select("Elsewhere", nil).Wait())
	start = time.Now()
	must[*imapclient.MoveData](t, "MOVE (other)")(other.Move(imap.SeqSetNum(1), "INBOX").Wait())
	p, _ = expectPush(t, ch, "EXISTS", start)
	if p.num != 3 {
		t.Errorf("EXISTS after MOVE %d, want 3", p.num)
	}

	mustOK(t, "DONE", idle.Close())
	mustOK(t, "IDLE", idle.Wait())

	// The idling client's numbering agrees with the server.
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "FETCH")(idler.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Envelope: true, Flags: true}).Collect())
	var got []string
	for _, b := range bufs {
		got = append(got, b.Envelope.MessageID)
	}
	want := []string{msgs[1].MessageID, msgs[2].MessageID, msgs[3].MessageID}
	if !slices.Equal(got, want) {
		t.Errorf("after IDLE the client sees %q, want %q", got, want)
	}
	if len(bufs) == 3 && (bufs[0].UID != 2 || bufs[1].UID != 3 || bufs[2].UID != 4) {
		t.Errorf("UIDs after IDLE: %d %d %d", bufs[0].UID, bufs[1].UID, bufs[2].UID)
	}
	if n := idler.Mailbox().NumMessages; n != 3 {
		t.Errorf("the idling client counts %d messages", n)
	}
	select {
	case p := <-ch:
		t.Errorf("unexpected unilateral data after IDLE: %s", p)
	default:
	}
}

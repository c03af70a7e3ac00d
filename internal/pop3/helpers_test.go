package pop3_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
	"postfach/internal/store"
)

// deliver appends raw messages to user's INBOX through the store, bytes
// as given, and returns their UIDs.
func deliver(t testing.TB, env *pop3test.Env, user string, raws ...string) []store.UID {
	t.Helper()
	m, inbox := inbox(t, env, user)
	var msgs []store.NewMessage
	for _, r := range raws {
		msgs = append(msgs, store.NewMessage{Body: strings.NewReader(r)})
	}
	res, err := m.Append(context.Background(), inbox.ID, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return res.UIDs
}

func inbox(t testing.TB, env *pop3test.Env, user string) (store.Mail, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	a, err := env.Server.Store.AccountByAddress(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	m := env.Server.Store.Mail(a.ID)
	mb, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return m, mb
}

// inboxUIDs lists the UIDs in user's INBOX, as IMAP sees them.
func inboxUIDs(t testing.TB, env *pop3test.Env, user string) []store.UID {
	t.Helper()
	m, mb := inbox(t, env, user)
	snap, err := m.Snapshot(context.Background(), mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return snap.UIDs
}

// stored returns the stored bytes of a message.
func stored(t testing.TB, env *pop3test.Env, user string, uid store.UID) []byte {
	t.Helper()
	m, mb := inbox(t, env, user)
	ctx := context.Background()
	msgs, err := m.Messages(ctx, mb.ID, store.UIDSetOf(uid), store.FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("message %d: %v (%d found)", uid, err, len(msgs))
	}
	b, err := m.OpenBody(ctx, &msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// message builds a small message with a subject.
func message(subject string) string {
	return imaptest.Message(subject, "Hello,\r\nthis is "+subject+".")
}

// parseStat reads "+OK n m" text.
func parseStat(t testing.TB, text string) (int, int64) {
	t.Helper()
	f := strings.Fields(text)
	if len(f) < 2 {
		t.Fatalf("STAT answer %q", text)
	}
	n, err1 := strconv.Atoi(f[0])
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("STAT answer %q", text)
	}
	return n, size
}

// loginRetry logs in, retrying while the maildrop lock of a session the
// server has not yet seen end is held.
func loginRetry(t testing.TB, env *pop3test.Env, user string) *pop3test.Client {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := pop3test.Dial(t, env.POP3S, true)
		c.OK("USER " + user)
		l := c.Cmd("PASS " + imaptest.Password)
		if strings.HasPrefix(l, "+OK") {
			return c
		}
		if !strings.HasPrefix(l, "-ERR [IN-USE]") || time.Now().After(deadline) {
			t.Fatalf("PASS: %q", l)
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

func subjectOf(i int) string { return fmt.Sprintf("message %d", i) }

func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

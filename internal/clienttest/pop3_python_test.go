package clienttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
	"postfach/internal/store"
)

// pop3Message is message i of the POP3 client tests: 1 to 12 KB of short
// lines (poplib refuses lines over 2048 octets), some of which begin
// with a dot, so that byte-stuffing is exercised; every 50th message
// lacks its final line ending, which the server must add and count.
func pop3Message(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <sender%d@example.net>\r\n", i%17)
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.net>\r\nTo: Alice <alice@example.org>\r\n", i%17, i%17)
	fmt.Fprintf(&b, "Subject: POP3 download %d\r\nDate: Mon, 23 Nov 2026 10:%02d:00 +0100\r\n", i, i%60)
	fmt.Fprintf(&b, "Message-ID: <pop3-%d@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", i)
	lines := 10 + (i*37)%150
	for l := range lines {
		switch l % 9 {
		case 3:
			b.WriteString(".a line that begins with a dot\r\n")
		case 6:
			b.WriteString(".\r\n")
		default:
			fmt.Fprintf(&b, "Line %d of message %d: the quick brown fox jumps over the lazy dog.\r\n", l, i)
		}
	}
	s := b.String()
	if i%50 == 49 {
		s = strings.TrimSuffix(s, "\r\n")
	}
	return s
}

// pop3Fill delivers messages first..first+n-1 to user's INBOX through the
// store, in batches.
func pop3Fill(t *testing.T, env *pop3test.Env, user string, first, n int) []store.UID {
	t.Helper()
	ctx := context.Background()
	a, err := env.Server.Store.AccountByAddress(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	m := env.Server.Store.Mail(a.ID)
	inbox, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var uids []store.UID
	for start := first; start < first+n; start += 250 {
		var msgs []store.NewMessage
		for i := start; i < min(start+250, first+n); i++ {
			msgs = append(msgs, store.NewMessage{Body: strings.NewReader(pop3Message(i))})
		}
		res, err := m.Append(ctx, inbox.ID, msgs)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UIDs...)
	}
	return uids
}

// pop3Inbox counts user's INBOX as IMAP sees it.
func pop3Inbox(t *testing.T, env *pop3test.Env, user string) int {
	t.Helper()
	c := imaptest.Login(t, env.Env, user)
	r := c.MustOK("STATUS INBOX (MESSAGES)")
	c.MustOK("LOGOUT")
	m := regexp.MustCompile(`MESSAGES (\d+)`).FindStringSubmatch(r.Find("STATUS"))
	if m == nil {
		t.Fatalf("STATUS: %s", r)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var poplibRE = regexp.MustCompile(`(?m)^message (\d+) (\d+) ([0-9a-f]{64})$`)

// runPoplib runs the poplib scenario and checks every message it
// reports against what was stored.
func runPoplib(t *testing.T, mode, port string, env *pop3test.Env, n int) {
	t.Helper()
	pop3Fill(t, env, "alice@example.org", 0, n)
	out := runPython(t, "pop3_poplib.py", mode, port, env.CertFile(), strconv.Itoa(n))
	got := poplibRE.FindAllStringSubmatch(out, -1)
	if len(got) != n || !strings.Contains(out, "\ndone\n") {
		t.Fatalf("poplib reported %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		want := []byte(pop3Message(i))
		if !bytes.HasSuffix(want, []byte("\r\n")) {
			want = append(want, "\r\n"...)
		}
		sum := sha256.Sum256(want)
		if m[1] != strconv.Itoa(i+1) || m[2] != strconv.Itoa(len(want)) || m[3] != hex.EncodeToString(sum[:]) {
			t.Errorf("message %d: poplib got %s octets, digest %s; want %d, %x", i+1, m[2], m[3], len(want), sum)
		}
	}
	if left := pop3Inbox(t, env, "alice@example.org"); left != 0 {
		t.Fatalf("%d messages left in INBOX after poplib deleted them all", left)
	}
}

// TestPOP3PythonImplicitTLS runs the poplib scenario on the
// implicit-TLS port: POP3_SSL, user, pass_, stat, retr and dele of every
// message, quit.
func TestPOP3PythonImplicitTLS(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	runPoplib(t, "implicit", port(t, env.POP3S), env, 120)
}

// TestPOP3PythonSTLS runs it on the plain port after stls(), once USER
// was refused before it.
func TestPOP3PythonSTLS(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	runPoplib(t, "stls", port(t, env.POP3), env, 60)
}

package pop3_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
	"postfach/internal/store"
)

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// Before STLS, CAPA offers no way to send a password, and USER, PASS and
// AUTH are refused with the reason; after it, everything works.
func TestPlaintextRefusedUntilSTLS(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	deliver(t, env, "alice@example.org", message("one"))
	c := pop3test.Dial(t, env.POP3, false)
	if c.Greeting != "+OK postfach POP3 server ready" {
		t.Fatalf("greeting %q", c.Greeting)
	}
	caps := c.Lines("CAPA")
	for _, want := range []string{"TOP", "UIDL", "STLS", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "LOGIN-DELAY 0", "UTF8", "IMPLEMENTATION postfach"} {
		if !slices.Contains(caps, want) {
			t.Errorf("CAPA before TLS lacks %q: %q", want, caps)
		}
	}
	for _, l := range caps {
		if l == "USER" || strings.HasPrefix(l, "SASL") || l == "UTF8 USER" {
			t.Errorf("CAPA before TLS offers %q", l)
		}
	}
	for _, cmd := range []string{"USER alice@example.org", "AUTH PLAIN " + plain("alice@example.org", imaptest.Password), "AUTH"} {
		if e := c.Err(cmd); !strings.HasPrefix(e, "[AUTH] Authentication is disabled until TLS is active; use STLS") {
			t.Errorf("%s before TLS: %q", cmd, e)
		}
	}
	if e := c.Err("PASS " + imaptest.Password); e != "Send USER first" {
		t.Errorf("PASS before TLS: %q", e)
	}
	if e := c.Err("STAT"); e != "STAT needs authentication first" {
		t.Errorf("STAT before login: %q", e)
	}
	c.STLS()
	caps = c.Lines("CAPA")
	for _, want := range []string{"USER", "UTF8 USER"} {
		if !slices.Contains(caps, want) {
			t.Errorf("CAPA after STLS lacks %q: %q", want, caps)
		}
	}
	if i := slices.IndexFunc(caps, func(s string) bool { return strings.HasPrefix(s, "SASL ") }); i < 0 ||
		!slices.Contains(strings.Fields(caps[i]), "PLAIN") || !slices.Contains(strings.Fields(caps[i]), "LOGIN") {
		t.Errorf("CAPA after STLS lacks SASL PLAIN LOGIN: %q", caps)
	}
	if slices.Contains(caps, "STLS") {
		t.Errorf("CAPA after STLS offers STLS: %q", caps)
	}
	if e := c.Err("STLS"); e != "STLS needs authentication first" && e != "TLS is already active" {
		t.Errorf("second STLS: %q", e)
	}
	c.OK("USER alice@example.org")
	if ok := c.OK("PASS " + imaptest.Password); !strings.HasPrefix(ok, "Logged in; 1 messages (") {
		t.Fatalf("PASS: %q", ok)
	}
	if e := c.Err("STLS"); e != "STLS is not allowed once authenticated" {
		t.Errorf("STLS after login: %q", e)
	}
	c.OK("QUIT")
	c.ExpectClosed()
}

// The whole of RFC 1939 over implicit TLS: STAT, LIST, UIDL, RETR, TOP,
// DELE, RSET, NOOP, QUIT; the deletion shows in the store.
func TestTransaction(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	raws := []string{message("first"), message("second"), message("third")}
	uids := deliver(t, env, "alice@example.org", raws...)
	_, mb := inbox(t, env, "alice@example.org")
	var total int
	for _, r := range raws {
		total += len(r)
	}

	c := pop3test.Login(t, env, "alice@example.org")
	if got := c.OK("STAT"); got != fmt.Sprintf("3 %d", total) {
		t.Fatalf("STAT %q, want 3 %d", got, total)
	}
	text, list := c.Multi("LIST")
	if text != fmt.Sprintf("3 messages (%d octets)", total) {
		t.Fatalf("LIST %q", text)
	}
	want := fmt.Sprintf("1 %d\r\n2 %d\r\n3 %d\r\n", len(raws[0]), len(raws[1]), len(raws[2]))
	if string(list) != want {
		t.Fatalf("LIST %q, want %q", list, want)
	}
	if got := c.OK("LIST 2"); got != fmt.Sprintf("2 %d", len(raws[1])) {
		t.Fatalf("LIST 2: %q", got)
	}
	uidl := c.Lines("UIDL")
	for i, l := range uidl {
		want := fmt.Sprintf("%d %08X%08X", i+1, uids[i], mb.UIDValidity)
		if l != want {
			t.Fatalf("UIDL line %q, want %q", l, want)
		}
	}
	if got := c.OK("UIDL 3"); got != uidl[2] {
		t.Fatalf("UIDL 3: %q, want %q", got, uidl[2])
	}
	for i, r := range raws {
		text, body := c.Multi("RETR " + strconv.Itoa(i+1))
		if text != fmt.Sprintf("%d octets", len(r)) || string(body) != r {
			t.Fatalf("RETR %d: %q\n%q\nwant %q", i+1, text, body, r)
		}
	}
	header := raws[0][:strings.Index(raws[0], "\r\n\r\n")+4]
	if _, body := c.Multi("TOP 1 0"); string(body) != header {
		t.Fatalf("TOP 1 0: %q, want %q", body, header)
	}
	if _, body := c.Multi("TOP 1 1"); string(body) != header+"Hello,\r\n" {
		t.Fatalf("TOP 1 1: %q", body)
	}
	c.OK("DELE 1")
	if got := c.OK("STAT"); got != fmt.Sprintf("2 %d", total-len(raws[0])) {
		t.Fatalf("STAT after DELE: %q", got)
	}
	if e := c.Err("RETR 1"); e != "Message 1 is marked deleted" {
		t.Fatalf("RETR of a deleted message: %q", e)
	}
	if e := c.Err("DELE 1"); e != "Message 1 is marked deleted" {
		t.Fatalf("DELE twice: %q", e)
	}
	if lines := c.Lines("LIST"); len(lines) != 2 || !strings.HasPrefix(lines[0], "2 ") {
		t.Fatalf("LIST after DELE: %q", lines)
	}
	if got := c.OK("RSET"); got != fmt.Sprintf("Maildrop has 3 messages (%d octets)", total) {
		t.Fatalf("RSET: %q", got)
	}
	c.OK("DELE 2")
	c.OK("NOOP")
	if got := c.OK("QUIT"); got != "postfach POP3 server signing off (2 messages left)" {
		t.Fatalf("QUIT: %q", got)
	}
	c.ExpectClosed()
	if got := inboxUIDs(t, env, "alice@example.org"); !slices.Equal(got, []store.UID{uids[0], uids[2]}) {
		t.Fatalf("INBOX after QUIT: %v, want %v", got, []store.UID{uids[0], uids[2]})
	}
	// The next session numbers the rest 1..2 and keeps their unique-ids.
	c = pop3test.Login(t, env, "alice@example.org")
	if got := c.Lines("UIDL"); !slices.Equal(got, []string{"1 " + uidl[0][2:], "2 " + uidl[2][2:]}) {
		t.Fatalf("UIDL in the next session: %q", got)
	}
	c.OK("QUIT")
}

// Sizes are exact, and RETR byte-stuffs: lines that begin with ".", a
// message without a final CRLF, one with bare LF line endings, an empty
// body and a large one.
func TestSizesAndDotStuffing(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	big := "Subject: big\r\n\r\n" + strings.Repeat(".dot at the start of a long line "+strings.Repeat("x", 900)+"\r\n", 3000)
	raws := []string{
		"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nmiddle.\r\n. \r\n",
		"Subject: no final newline\r\n\r\nlast line",
		"Subject: bare LF\n\nline one\n.line two\n",
		"Subject: empty body\r\n\r\n",
		"Subject: ends with a dot line\r\n\r\n.",
		big,
	}
	uids := deliver(t, env, "alice@example.org", raws...)
	c := pop3test.Login(t, env, "alice@example.org")
	lines := c.Lines("LIST")
	var total int64
	for i, uid := range uids {
		want := stored(t, env, "alice@example.org", uid)
		if !bytes.HasSuffix(want, []byte("\r\n")) {
			want = append(want, "\r\n"...)
		}
		text, body := c.Multi("RETR " + strconv.Itoa(i+1))
		if !bytes.Equal(body, want) {
			t.Errorf("RETR %d: %.200q, want %.200q", i+1, body, want)
		}
		size := strconv.Itoa(len(body))
		if text != size+" octets" || lines[i] != strconv.Itoa(i+1)+" "+size {
			t.Errorf("message %d: RETR says %q, LIST %q; %s octets were sent", i+1, text, lines[i], size)
		}
		total += int64(len(body))
	}
	if _, size := parseStat(t, c.OK("STAT")); size != total {
		t.Errorf("STAT size %d, RETR sent %d", size, total)
	}
	// On the wire, every line that begins with a dot got one more.
	c.Write("RETR 1\r\n")
	var wire []string
	for l := c.ReadLine(); l != "."; l = c.ReadLine() {
		wire = append(wire, l)
	}
	if want := []string{"+OK " + strconv.Itoa(len(raws[0])) + " octets", "Subject: dots", "", "..", "...", "..leading", "middle.", ".. "}; !slices.Equal(wire, want) {
		t.Errorf("RETR 1 on the wire: %q, want %q", wire, want)
	}
	c.OK("QUIT")
}

// UIDL is the same in every session and after a restart on the same data.
func TestUIDLStableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	env := pop3test.Start(t, imaptest.Options{DataDir: dir})
	deliver(t, env, "alice@example.org", message("a"), message("b"), message("c"))
	c := pop3test.Login(t, env, "alice@example.org")
	before := c.Lines("UIDL")
	c.OK("DELE 2")
	c.OK("QUIT")
	c = pop3test.Login(t, env, "alice@example.org")
	again := c.Lines("UIDL")
	c.OK("QUIT")
	if len(again) != 2 || again[0] != before[0] || again[1][2:] != before[2][2:] {
		t.Fatalf("UIDL after deleting 2: %q, before %q", again, before)
	}
	ctx, cancel := contextWithTimeout()
	defer cancel()
	if err := env.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	env2 := pop3test.Start(t, imaptest.Options{DataDir: dir, Users: []string{}})
	c = pop3test.Login(t, env2, "alice@example.org")
	if after := c.Lines("UIDL"); !slices.Equal(after, again) {
		t.Fatalf("UIDL after restart: %q, before %q", after, again)
	}
	c.OK("QUIT")
}

// Only QUIT applies deletions: a dropped connection, RSET, or QUIT in the
// AUTHORIZATION state change nothing.
func TestOnlyQuitApplies(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	uids := deliver(t, env, "alice@example.org", message("a"), message("b"))
	c := pop3test.Login(t, env, "alice@example.org")
	c.OK("DELE 1")
	c.OK("DELE 2")
	c.Close()
	c = loginRetry(t, env, "alice@example.org")
	if n, _ := parseStat(t, c.OK("STAT")); n != 2 {
		t.Fatalf("%d messages after a dropped session", n)
	}
	c.OK("DELE 1")
	c.OK("RSET")
	if got := c.OK("QUIT"); got != "postfach POP3 server signing off (2 messages left)" {
		t.Fatalf("QUIT after RSET: %q", got)
	}
	c = pop3test.Dial(t, env.POP3S, true)
	c.OK("USER alice@example.org")
	c.OK("QUIT")
	if got := inboxUIDs(t, env, "alice@example.org"); !slices.Equal(got, uids) {
		t.Fatalf("INBOX %v, want %v", got, uids)
	}
}

// The maildrop is a snapshot: mail that arrives during a session waits
// for the next, and the numbering never moves.
func TestMaildropIsSnapshot(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	deliver(t, env, "alice@example.org", message("a"))
	c := pop3test.Login(t, env, "alice@example.org")
	deliver(t, env, "alice@example.org", message("b"))
	if n, _ := parseStat(t, c.OK("STAT")); n != 1 {
		t.Fatalf("STAT counts %d messages; new mail showed up in the session", n)
	}
	c.Err("RETR 2")
	c.OK("DELE 1")
	c.OK("QUIT")
	c = pop3test.Login(t, env, "alice@example.org")
	if lines := c.Lines("LIST"); len(lines) != 1 {
		t.Fatalf("LIST in the next session: %q", lines)
	}
	c.OK("QUIT")
}

// Pipelined commands are answered in order (RFC 2449 section 6.6).
func TestPipelining(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	raws := []string{message("a"), message("b")}
	deliver(t, env, "alice@example.org", raws...)
	c := pop3test.Dial(t, env.POP3S, true)
	c.Write("CAPA\r\nUSER alice@example.org\r\nPASS " + imaptest.Password + "\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nNOOP\r\nQUIT\r\n")
	c.ReadLine()
	if _, err := c.ReadBody(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+OK Send PASS", "+OK Logged in; 2 messages", "+OK 2 ", "+OK 2 messages"} {
		if l := c.ReadLine(); !strings.HasPrefix(l, want) {
			t.Fatalf("got %q, want %q...", l, want)
		}
	}
	if _, err := c.ReadBody(); err != nil {
		t.Fatal(err)
	}
	for i, r := range []string{raws[0], "", raws[1]} {
		l := c.ReadLine()
		if r == "" {
			if l != "+OK Message 1 marked deleted" {
				t.Fatalf("DELE: %q", l)
			}
			continue
		}
		body, err := c.ReadBody()
		if err != nil || string(body) != r || !strings.HasPrefix(l, "+OK ") {
			t.Fatalf("response %d: %q %q (%v)", i, l, body, err)
		}
	}
	if l := c.ReadLine(); l != "+OK" {
		t.Fatalf("NOOP: %q", l)
	}
	if l := c.ReadLine(); !strings.HasPrefix(l, "+OK postfach POP3 server signing off") {
		t.Fatalf("QUIT: %q", l)
	}
	c.ExpectClosed()
	if n := len(inboxUIDs(t, env, "alice@example.org")); n != 1 {
		t.Fatalf("%d messages left", n)
	}
}

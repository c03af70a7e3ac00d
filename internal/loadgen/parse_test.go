package loadgen

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		proto Protocol
		in    string
		want  string // "" for an error
	}{
		{IMAP, "imaps://127.0.0.1:993", "imaps://127.0.0.1:993"},
		{IMAP, "imap+starttls://[::1]:143/", "imap+starttls://[::1]:143"},
		{IMAP, "127.0.0.5:143", "imap://127.0.0.5:143"},
		{IMAP, "localhost:143", "imap://127.0.0.1:143"},
		{IMAP, "IMAPS://127.0.0.1:993", "imaps://127.0.0.1:993"},
		{POP3, "pop3s://127.0.0.1:995", "pop3s://127.0.0.1:995"},
		{LMTP, "lmtp://127.0.0.1:24", "lmtp://127.0.0.1:24"},
		{SMTP, "smtp+starttls://127.0.0.1:25", "smtp+starttls://127.0.0.1:25"},
		// Refused: not loopback, names, wrong protocol, junk.
		{IMAP, "imaps://192.0.2.1:993", ""},
		{IMAP, "imaps://[2001:db8::1]:993", ""},
		{IMAP, "imaps://0.0.0.0:993", ""},
		{IMAP, "imaps://mail.example.org:993", ""},
		{IMAP, "pop3s://127.0.0.1:995", ""},
		{IMAP, "lmtps://127.0.0.1:995", ""},
		{IMAP, "127.0.0.1", ""},
		{IMAP, "127.0.0.1:0", ""},
		{IMAP, "127.0.0.1:70000", ""},
		{IMAP, "[::ffff:10.0.0.1]:143", ""},
	} {
		got, err := ParseTarget(tc.proto, tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseTarget(%s, %q) = %v, want an error", tc.proto, tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseTarget(%s, %q) = %v, %v; want %s", tc.proto, tc.in, got, err, tc.want)
		}
	}
}

func TestParseWorkloads(t *testing.T) {
	got, err := ParseWorkloads("imap-mixed:3, idle=1,pop3")
	if err != nil {
		t.Fatal(err)
	}
	want := []WorkloadSpec{{"imap-mixed", 3}, {"idle", 1}, {"pop3", 1}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"", "nope", "imap-mixed:0", "imap-mixed:x", "pop3,pop3", "imap-mixed:2000"} {
		if _, err := ParseWorkloads(bad); err == nil {
			t.Errorf("ParseWorkloads(%q) accepted", bad)
		}
	}
}

func TestShares(t *testing.T) {
	for _, tc := range []struct {
		n       int
		weights []int
		want    []int
	}{
		{10, []int{1}, []int{10}},
		{10, []int{1, 1}, []int{5, 5}},
		{10, []int{3, 1}, []int{8, 2}},
		{2, []int{1, 1, 1}, []int{1, 1, 1}},
		{7, []int{1, 1, 1}, []int{3, 2, 2}},
	} {
		var specs []WorkloadSpec
		for _, w := range tc.weights {
			specs = append(specs, WorkloadSpec{"x", w})
		}
		got := shares(tc.n, specs)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("shares(%d, %v) = %v, want %v", tc.n, tc.weights, got, tc.want)
				break
			}
		}
	}
}

func TestUsers(t *testing.T) {
	u := Users{Pattern: "user%d@example.org", First: 10, Count: 3, Password: "pw"}
	if err := u.Check(); err != nil {
		t.Fatal(err)
	}
	if u.Name(0) != "user10@example.org" || u.Name(4) != "user11@example.org" {
		t.Fatalf("names %s %s", u.Name(0), u.Name(4))
	}
	for _, bad := range []Users{
		{Pattern: "user@example.org", Count: 1, Password: "x"},
		{Pattern: "user%d%d@example.org", Count: 1, Password: "x"},
		{Pattern: "user%s@example.org", Count: 1, Password: "x"},
		{Pattern: "user%d@example.org", Count: 0, Password: "x"},
		{Pattern: "user%d@example.org", Count: 1},
		{Pattern: "user%d@example.org", Count: 1, Password: "a\r\nb"},
	} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestResponseParsers(t *testing.T) {
	if n, ok := parseExists([]byte("17 EXISTS")); !ok || n != 17 {
		t.Error("EXISTS")
	}
	for _, bad := range []string{"17 RECENT", "EXISTS", "x EXISTS", "-1 EXISTS"} {
		if _, ok := parseExists([]byte(bad)); ok {
			t.Errorf("parseExists(%q) accepted", bad)
		}
	}
	for _, tc := range []struct {
		line string
		uid  uint32
		ok   bool
	}{
		{"3 FETCH (UID 42 FLAGS (\\Seen))", 42, true},
		{"3 FETCH (FLAGS (\\Seen) UID 7)", 7, true},
		{"3 FETCH (RFC822.SIZE 10 BODY[HEADER.FIELDS (MESSAGE-UID)] {5}hello UID 9)", 9, true},
		{"3 FETCH (FLAGS ())", 0, false},
		{"3 EXPUNGE", 0, false},
		{"3 FETCH (XUID 5)", 0, false},
	} {
		uid, ok := parseFetchUID([]byte(tc.line))
		if uid != tc.uid || ok != tc.ok {
			t.Errorf("parseFetchUID(%q) = %d, %v", tc.line, uid, ok)
		}
	}
	if v, ok := respCode([]byte("OK [UIDNEXT 31] Predicted next UID"), "UIDNEXT"); !ok || string(v) != "31" {
		t.Errorf("UIDNEXT: %q %v", v, ok)
	}
	if v, ok := respCode([]byte("OK [APPENDUID 1700000000 12] done"), "APPENDUID"); !ok || string(v) != "1700000000 12" {
		t.Errorf("APPENDUID: %q %v", v, ok)
	}
	if _, ok := respCode([]byte("OK [UIDNEXTX 31] x"), "UIDNEXT"); ok {
		t.Error("respCode matched a longer name")
	}
	if n, ok := literalSize([]byte("* 1 FETCH (BODY[] {123}")); !ok || n != 123 {
		t.Error("literal")
	}
	if n, ok := literalSize([]byte("* 1 FETCH (BINARY[] ~{5}")); !ok || n != 5 {
		t.Error("literal8")
	}
	if _, ok := literalSize([]byte("* OK {x}")); ok {
		t.Error("bad literal accepted")
	}
	if cmdName("UID fetch 1:* FLAGS") != "UID FETCH" || cmdName("select INBOX") != "SELECT" {
		t.Error("cmdName")
	}
	if quote(`a"b\c`) != `"a\"b\\c"` {
		t.Error("quote")
	}
}

func TestReplyParser(t *testing.T) {
	for _, tc := range []struct {
		line string
		code int
		last bool
		text string
		ok   bool
	}{
		{"250-PIPELINING\r\n", 250, false, "PIPELINING", true},
		{"250 OK\r\n", 250, true, "OK", true},
		{"354\r\n", 354, true, "", true},
		{"452 4.2.2 Mailbox full\r\n", 452, true, "4.2.2 Mailbox full", true},
		{"25 x\r\n", 0, false, "", false},
		{"2500 x\r\n", 0, false, "", false},
		{"999 x\r\n", 0, false, "", false},
		{"abc x\r\n", 0, false, "", false},
	} {
		code, last, text, ok := parseReplyLine([]byte(tc.line))
		if code != tc.code || last != tc.last || text != tc.text || ok != tc.ok {
			t.Errorf("parseReplyLine(%q) = %d %v %q %v", tc.line, code, last, text, ok)
		}
	}
}

func TestDotStuffing(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	writeDotStuffed(w, []byte(".a\r\nb\r\n..c\r\n.\r\nd"))
	w.Flush()
	if got, want := b.String(), "..a\r\nb\r\n...c\r\n..\r\nd\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMessageIsRepeatable(t *testing.T) {
	a := Message(7, 3, "user1@example.org", 10_000)
	b := Message(7, 3, "user1@example.org", 10_000)
	c := Message(8, 3, "user1@example.org", 10_000)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("messages do not follow the seed")
	}
	if len(a) < 10_000 || len(a) > 10_100 {
		t.Fatalf("size %d", len(a))
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(a), "\r\n"), "\r\n") {
		if len(line) > 78 || strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %q", line)
		}
	}
	m := newStampedMessage(a)
	s1 := string(m.stamp(1))
	s2 := string(m.stamp(12345))
	if s1 == s2 || len(s1) != len(a) || !strings.Contains(s2, "0000000000012345@loadgen.invalid") {
		t.Fatalf("stamping: %q", s2[:300])
	}
}

// TestReadLine feeds the IMAP reader lines with literals, long lines and
// split reads.
func TestReadLine(t *testing.T) {
	long := strings.Repeat("9 ", 5000)
	input := "* 1 FETCH (UID 5 BODY[] {5}\r\nhello FLAGS ())\r\n" +
		"* SEARCH " + long + "\r\n" +
		"* 2 FETCH (BODY[HEADER] {3}\r\nabc BODY[TEXT] {2}\r\nxy)\r\n" +
		"L1 OK done\r\n"
	client, server := net.Pipe()
	go func() {
		for i := 0; i < len(input); i += 7 {
			server.Write([]byte(input[i:min(i+7, len(input))]))
		}
		server.Close()
	}()
	c := newIMAPClient(client, 5*time.Second)
	want := []string{
		"* 1 FETCH (UID 5 BODY[] {5} FLAGS ())",
		"* SEARCH " + long,
		"* 2 FETCH (BODY[HEADER] {3} BODY[TEXT] {2})",
		"L1 OK done",
	}
	for _, w := range want {
		line, err := c.readLine()
		if err != nil {
			t.Fatal(err)
		}
		if string(line) != w {
			t.Fatalf("got %q, want %q", clip(line), clip([]byte(w)))
		}
	}
	if c.literalBytes != 10 {
		t.Errorf("literal bytes %d", c.literalBytes)
	}
}

func TestListeningInodes(t *testing.T) {
	procNetTCP := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2AF8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2AF8 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 100 0 0 10 0
   2: 0100007F:2AF9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31339 1 0000000000000000 100 0 0 10 0
`
	got := listeningInodes([]byte(procNetTCP), 11000)
	if len(got) != 1 || got[0] != "31337" {
		t.Fatalf("got %v", got)
	}
	if pp, ok := parentOf([]byte("123 (a (b) c) S 77 123 123 0")); !ok || pp != 77 {
		t.Fatalf("parentOf: %d %v", pp, ok)
	}
}

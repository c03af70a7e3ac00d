package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"postfach/internal/deliver"
)

// FuzzSession runs whole sessions, on each kind of listener, from
// arbitrary client bytes: the server must answer with well-formed replies
// only, never hang, never panic, and end the session when the input ends.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		"LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nBDAT 5 LAST\r\nab\r\n.QUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\n.\nMAIL FROM:<x@y.z>\r\n.\r\nNOOP\r\n",
		"EHLO x\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nRSET\r\n",
		"EHLO x\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\nMAIL FROM:<alice@example.org>\r\n",
		"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@b.c>\r\n",
		strings.Repeat("NOOP ", 2000) + "\r\nNOOP\r\n",
		"HELO\r\nEHLO [127.0.0.1]\r\nMAIL FROM:<a@b.c> SIZE=99999999999 SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=x\r\nRCPT TO:<alice@example.org> NOTIFY=SUCCESS ORCPT=rfc822;x@y\r\n",
	} {
		for kind := range 4 {
			f.Add([]byte(s), uint8(kind))
		}
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, input []byte, kind uint8) {
		k := Listener(kind % 4)
		if k == Submissions {
			k = Submission // implicit TLS would need a TLS client
		}
		client, server := e.pair(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.srv.ServeConn(context.Background(), server, k)
		}()
		go func() {
			// The input is all the client says: then it half-closes,
			// and reads the replies until the server closes.
			client.Write(input)
			client.CloseWrite()
		}()
		client.SetReadDeadline(time.Now().Add(20 * time.Second))
		out, _ := io.ReadAll(client)
		client.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("session did not end; input %q", input)
		}
		checkReplies(t, out, input)
	})
}

// checkReplies checks that everything the server sent is reply lines:
// three digits, a space or a dash, text, CRLF; until a TLS handshake,
// after which the stream is not ours to read.
func checkReplies(t *testing.T, out, input []byte) {
	t.Helper()
	for len(out) > 0 {
		i := bytes.Index(out, []byte("\r\n"))
		if i < 0 {
			t.Fatalf("reply without CRLF %q; input %q", out, input)
		}
		line := out[:i]
		if len(line) < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' || line[3] != ' ' && line[3] != '-' {
			t.Fatalf("malformed reply %q; input %q", line, input)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("reply with a bare CR or LF %q", line)
		}
		out = out[i+2:]
		if bytes.HasPrefix(line, []byte("220 2.0.0 Ready to start TLS")) {
			return
		}
	}
}

// fuzzEnv is a server over a real store, shared by every fuzz input,
// and a listener that makes loopback TCP connection pairs: TCP, unlike
// net.Pipe, lets the client half-close, so a session ends with its input.
type fuzzEnv struct {
	srv *Server
	ln  *net.TCPListener
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := newEnv(f, envOptions{limits: Limits{MaxCommandLength: 512, MaxMessageSize: 64 << 10, Timeout: 10 * time.Second}})
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	return &fuzzEnv{srv: e.srv, ln: ln}
}

// pair returns the two ends of a new loopback connection.
func (e *fuzzEnv) pair(t *testing.T) (client *net.TCPConn, server net.Conn) {
	client, err := net.DialTCP("tcp", nil, e.ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	server, err = e.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// FuzzCommandLines feeds arbitrary bytes to conn as command lines: every
// line fits the limit and is handed to go-smtp as sent, a longer one is
// replaced, and a BDAT chunk passes through whole.
func FuzzCommandLines(f *testing.F) {
	for _, s := range []string{"NOOP\r\nRSET\r\n", "BDAT 4\r\nab\r\nNOOP\r\n", "x\ny\r\n" + strings.Repeat("z", 600) + "\r\nend", "BDAT 999 LAST\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		const limit = 512
		c := &conn{limit: limit, srv: &Server{limits: Limits{Timeout: time.Minute}.withDefaults()}, kind: LMTP, log: slog.New(slog.DiscardHandler)}
		c.raw = nopConn{}
		c.cur = readConn{bytes.NewReader(input)}
		c.br = newTestReader(c)
		var got []byte
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		// The reference: lines through LF; over the limit, replaced;
		// after a BDAT line, its chunk raw.
		var want []byte
		rest := input
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			line := rest
			if i >= 0 {
				line = rest[:i+1]
			} else if len(line) >= limit {
				break // an overlong last line without LF: the end
			}
			rest = rest[len(line):]
			if len(line) > limit {
				want = append(want, tooLongLine...)
				continue
			}
			want = append(want, line...)
			if commandVerb(line) == "BDAT" {
				if n, ok := bdatChunk(line); ok {
					n = min(n, int64(len(rest)))
					want = append(want, rest[:n]...)
					rest = rest[n:]
				}
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("conn handed up %q, want %q", got, want)
		}
	})
}

// FuzzDotState checks the fast end-of-data scanner against the plain
// state machine go-smtp's data reader runs, over arbitrary splits.
func FuzzDotState(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", ".\r\n", "x\n.\r\n..\r\n.\r\n", "\r\r\n.\r\n", "abc"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		ref := dotBeginLine
		end := -1
		for i, c := range data {
			ref = stepDot(ref, c)
			if ref == dotEOF {
				end = i + 1
				break
			}
		}
		var d dotState
		pos := 0
		chunk := int(split%16) + 1
		got := -1
		for pos < len(data) {
			b := data[pos:min(pos+chunk, len(data))]
			n := d.scan(b)
			pos += n
			if d == dotEOF {
				got = pos
				break
			}
			if n != len(b) {
				t.Fatalf("scan stopped at %d of %d without the end", n, len(b))
			}
		}
		if got != end {
			t.Fatalf("end of data at %d, want %d, in %q", got, end, data)
		}
	})
}

// stepDot is go-smtp's data reader state machine, one octet at a time.
func stepDot(d dotState, c byte) dotState {
	switch d {
	case dotBeginLine:
		switch c {
		case '.':
			return dotDot
		case '\r':
			return dotCR
		}
		return dotData
	case dotDot:
		if c == '\r' {
			return dotDotCR
		}
		return dotData
	case dotDotCR:
		if c == '\n' {
			return dotEOF
		}
		return dotData
	case dotCR:
		if c == '\n' {
			return dotBeginLine
		}
		return dotData
	case dotData:
		if c == '\r' {
			return dotCR
		}
		return dotData
	}
	return d
}

// FuzzLineCheck checks the spool's line-end checks over arbitrary splits
// against whole-message rules.
func FuzzLineCheck(f *testing.F) {
	for _, s := range []string{"a: b\r\n\r\nbody\r\n", "\r\nbody", "a\nb", "a\rb", "x\r\n\r\n", "a: b\r\n", "\r"} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		var lc lineCheck
		headerLen := int64(-1)
		var err error
		chunk := int(split%16) + 1
		for off := 0; off < len(data) && err == nil; off += chunk {
			err = lc.check(data[off:min(off+chunk, len(data))], int64(off), &headerLen)
		}
		if err == nil && lc.prevCR {
			err = errBareCR
		}
		bad := false
		for i, c := range data {
			if c == '\n' && (i == 0 || data[i-1] != '\r') || c == '\r' && (i == len(data)-1 || data[i+1] != '\n') {
				bad = true
			}
		}
		if bad != (err != nil) {
			t.Fatalf("check(%q) = %v; bare CR or LF: %v", data, err, bad)
		}
		if bad {
			return
		}
		want := int64(-1)
		if bytes.HasPrefix(data, []byte("\r\n")) {
			want = 2
		} else if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
			want = int64(i + 4)
		}
		if headerLen != want {
			t.Fatalf("header of %q ends at %d, want %d", data, headerLen, want)
		}
	})
}

// FuzzHeader checks the header splitter and the Authentication-Results
// reading on arbitrary header sections.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"Authentication-Results: mail.example.org; dkim=pass\r\nFrom: a@b\r\n\r\n",
		"Authentication-Results: (c) \"mail.example.org\" 1; spf=fail\r\n x\r\nX: y\r\n",
		" cont\r\nbad line\r\nA: b\r\n",
		"A : b\r\n\tc\r\n\r\nB: d\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := parseHeader(b)
		prev := 0
		for _, fl := range h.fields {
			if fl.start < prev || fl.end <= fl.start || fl.end > len(b) {
				t.Fatalf("field %+v out of order or bounds (prev end %d, len %d)", fl, prev, len(b))
			}
			if fl.start > 0 && b[fl.start-1] != '\n' {
				t.Fatalf("field %+v does not start a line", fl)
			}
			if !strings.HasPrefix(string(b[fl.start:fl.end]), fl.name) || strings.ContainsAny(fl.name, ": \t\r\n") {
				t.Fatalf("field name %q of %q", fl.name, b[fl.start:fl.end])
			}
			if v := h.value(fl); strings.Contains(v, "\r\n") {
				t.Fatalf("value %q keeps a line break", v)
			}
			prev = fl.end
		}
		for _, fl := range h.forgedResults(testHost) {
			if !strings.EqualFold(fl.name, "Authentication-Results") || !strings.EqualFold(authservID(h.value(fl)), testHost) {
				t.Fatalf("forged %+v", fl)
			}
		}
	})
}

// FuzzReceived checks that a Received field stays one well-formed field
// whatever the client said in HELO, and what HELO is shown as.
func FuzzReceived(f *testing.F) {
	for _, s := range []string{"client.example", "[192.0.2.1]", "x)\r\nInjected: y", "(", "bücher.example", ""} {
		f.Add(s, "alice@example.org")
	}
	f.Fuzz(func(t *testing.T, helo, rcpt string) {
		a, err := deliver.ParseAddress(rcpt, true)
		if err != nil {
			return
		}
		tr := trace{helo: helo, remote: netip.MustParseAddr("192.0.2.7"), by: testHost, with: "ESMTPS", id: "ID",
			rcpt: a.String(), tls: &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}, at: time.Unix(0, 0)}
		r := tr.received()
		if !strings.HasPrefix(r, "Received: from ") || !strings.HasSuffix(r, "\r\n") || !utf8.ValidString(r) && utf8.ValidString(helo) {
			t.Fatalf("received %q", r)
		}
		lines := strings.Split(strings.TrimSuffix(r, "\r\n"), "\r\n")
		for i, l := range lines {
			if strings.ContainsAny(l, "\r\n\x00") || i > 0 && !strings.HasPrefix(l, "\t") {
				t.Fatalf("line %d of %q", i, r)
			}
		}
		if shown, ok := cleanHELO(helo); !ok && strings.ContainsAny(shown, "()\\ \t\r\n") {
			t.Fatalf("HELO %q shown as %q", helo, shown)
		}
		if !strings.Contains(r, " tls TLS_AES_128_GCM_SHA256;") {
			t.Fatalf("no tls clause in %q", r)
		}
	})
}

// FuzzAuthorAddresses checks the From/Sender parsing of the submission
// check: whatever it accepts is a valid address.
func FuzzAuthorAddresses(f *testing.F) {
	for _, s := range []string{"Alice <alice@example.org>", `"a@b" <c@d.e>, f@g.h`, "=?utf-8?q?J=C3=B6rg?= <jörg@example.org>", "undisclosed:;", "<a@b", `"x\"y"@z.w`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		addrs, err := authorAddresses(v)
		if err != nil {
			return
		}
		if len(addrs) == 0 {
			t.Fatal("no error and no address")
		}
		for _, a := range addrs {
			if b, err := deliver.ParseAddress(a.Local+"@"+a.Domain, true); err != nil || b != a {
				t.Fatalf("%q gave %+v, which does not parse again (%v)", v, a, err)
			}
		}
	})
}

package check

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzIMAPResponse(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready",
		"* CAPABILITY IMAP4rev2 IDLE AUTH=PLAIN AUTH=SCRAM-SHA-256",
		"c1 OK [CAPABILITY IMAP4rev2] done",
		"* BYE [ALERT] going down",
		"+ ",
		"* OK [unterminated",
		"c2 NO [] empty code",
		"* OK {5}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseIMAPResponse(line)
		if err != nil {
			return
		}
		if r.Tag == "" || strings.ContainsAny(r.Tag, " ") {
			t.Fatalf("tag %q of %q", r.Tag, line)
		}
		if r.Tag != "+" && (r.Kind == "" || r.Kind != strings.ToUpper(r.Kind)) {
			t.Fatalf("kind %q of %q", r.Kind, line)
		}
		for _, c := range parseCapabilities(r.CodeArgs + " " + r.Text) {
			if !isAtom(c) || c != strings.ToUpper(c) {
				t.Fatalf("capability %q of %q", c, line)
			}
		}
		literalSize(line)
	})
}

func FuzzPOP3(f *testing.F) {
	f.Add("+OK\r\nUIDL\r\nSASL PLAIN LOGIN\r\n..dot-stuffed\r\nSTLS\r\n.\r\n")
	f.Add("-ERR no\r\n")
	f.Add("+OK\r\nno end")
	f.Fuzz(func(t *testing.T, data string) {
		br := bufio.NewReaderSize(strings.NewReader(data), maxLine)
		line, err := readLine(br)
		if err != nil {
			return
		}
		ok, _, err := parsePOP3Status(line)
		if err != nil || !ok {
			return
		}
		lines, err := readPOP3Multi(br)
		if err != nil {
			return
		}
		if len(lines) > maxMultiLines {
			t.Fatalf("%d lines", len(lines))
		}
		names, args := parsePOP3Capa(lines)
		for _, n := range names {
			if n == "" || n != strings.ToUpper(n) {
				t.Fatalf("name %q", n)
			}
			if _, ok := args[n]; !ok {
				t.Fatalf("no args entry for %q", n)
			}
		}
	})
}

func FuzzSMTPReply(f *testing.F) {
	f.Add("250-mx.example.org\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250 SIZE 1000\r\n")
	f.Add("220 ready\r\n")
	f.Add("250-a\r\n251 b\r\n")
	f.Add("25\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		br := bufio.NewReaderSize(strings.NewReader(data), maxLine)
		reply, err := readSMTPReply(br)
		if err != nil {
			return
		}
		if reply.Code < 200 || reply.Code > 599 || len(reply.Lines) == 0 || len(reply.Lines) > maxMultiLines {
			t.Fatalf("reply %+v", reply)
		}
		names, params := parseEHLO(reply.Lines)
		for _, n := range names {
			if !isEHLOKeyword(n) {
				t.Fatalf("keyword %q", n)
			}
			if _, ok := params[n]; !ok {
				t.Fatalf("no params for %q", n)
			}
		}
		if s := clip(reply.String()); !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\x1b\r\n") {
			t.Fatalf("unsafe text %q", s)
		}
	})
}

// scriptConn is a connection whose peer says data and ignores what it
// is told.
type scriptConn struct {
	r io.Reader
}

func (c *scriptConn) Read(b []byte) (int, error)         { return c.r.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)        { return len(b), nil }
func (c *scriptConn) Close() error                       { return nil }
func (c *scriptConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *scriptConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzProbe runs the STARTTLS probes of the three protocols against a
// server that says anything at all: every path ends (the data runs
// out), and every finding is safe to print.
func FuzzProbe(f *testing.F) {
	f.Add(uint8(0), "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\nc1 OK\r\n* BYE\r\nc2 OK\r\n")
	f.Add(uint8(0), "* OK hi\r\n* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nc1 OK\r\nc2 OK begin\r\n\x16\x03\x01")
	f.Add(uint8(1), "+OK hi\r\n+OK\r\nUSER\r\nSTLS\r\n.\r\n+OK go\r\n")
	f.Add(uint8(1), "+OK hi\r\n-ERR\r\n-ERR\r\n")
	f.Add(uint8(2), "220 hi\r\n250-x\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n220 go\r\n")
	f.Add(uint8(2), "220 hi\r\n500 no\r\n250 ok\r\n221 bye\r\n")
	f.Fuzz(func(t *testing.T, which uint8, data string) {
		s := []service{{"imap", "imap", 143, false}, {"pop3", "pop3", 110, false}, {"submission", "smtp", 587, false}}[which%3]
		r := &runner{opts: Options{Timeout: time.Second, Now: time.Now}, serverName: "127.0.0.1"}
		p := &Probe{Service: s.name, Port: s.port}
		c := newConn(&scriptConn{r: bytes.NewReader([]byte(data))})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var err error
		switch s.protocol {
		case "imap":
			err = r.probeIMAP(ctx, s, p, c)
		case "pop3":
			err = r.probePOP3(ctx, s, p, c)
		case "smtp":
			err = r.probeSMTP(ctx, s, p, c)
		}
		if err != nil {
			p.add(Fail, "protocol", "%s", protocolFailure(err, time.Second))
		}
		var out strings.Builder
		(&Report{Probes: []*Probe{p}}).WriteText(&out)
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if strings.ContainsAny(line, "\x00\x1b\r") || !utf8.ValidString(line) {
				t.Fatalf("unsafe report line %q", line)
			}
		}
	})
}

package smtpclient

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in       string
		code     int
		enhanced string
		lines    []string
		err      bool
	}{
		{in: "250 OK\r\n", code: 250, lines: []string{"OK"}},
		{in: "250\r\n", code: 250, lines: []string{""}},
		{in: "220 mx.example.org ESMTP ready\n", code: 220, lines: []string{"mx.example.org ESMTP ready"}},
		{in: "550 5.1.1 no such user\r\n", code: 550, enhanced: "5.1.1", lines: []string{"no such user"}},
		{in: "451 4.7.1 greylisted\r\n", code: 451, enhanced: "4.7.1", lines: []string{"greylisted"}},
		// RFC 2034: the code on every line, taken off each.
		{in: "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", code: 550, enhanced: "5.7.1", lines: []string{"first", "second", "third"}},
		// A class that does not match the reply code is text.
		{in: "550 2.0.0 odd\r\n", code: 550, lines: []string{"2.0.0 odd"}},
		{in: "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", code: 250, lines: []string{"mx.example.org", "PIPELINING", "SIZE 1000"}},
		{in: "250 5.1.1000 x\r\n", code: 250, lines: []string{"5.1.1000 x"}},
		{in: "25\r\n", err: true},
		{in: "abc hello\r\n", err: true},
		{in: "650 no such class\r\n", err: true},
		{in: "255 x\r\n", code: 255, lines: []string{"x"}},
		{in: "260 x\r\n", err: true}, // RFC 5321 4.2: second digit 0-5
		{in: "250x\r\n", err: true},
		{in: "250-a\r\n251 b\r\n", err: true},
		{in: "250-a\r\n", err: true},                                 // EOF in the middle
		{in: "250 " + strings.Repeat("a", 5000) + "\r\n", err: true}, // too long
		{in: strings.Repeat("250-a\r\n", 200) + "250 b\r\n", err: true},
	}
	for _, tt := range tests {
		r, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
		if tt.err {
			if err == nil {
				t.Errorf("%q: want an error, got %+v", tt.in, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if r.Code != tt.code || r.Enhanced != tt.enhanced || !reflect.DeepEqual(r.Lines, tt.lines) {
			t.Errorf("%q: got %d %q %q, want %d %q %q", tt.in, r.Code, r.Enhanced, r.Lines, tt.code, tt.enhanced, tt.lines)
		}
	}
}

func TestReplyString(t *testing.T) {
	r := &Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no", "such user"}}
	if got := r.String(); got != "550 5.1.1 no such user" {
		t.Errorf("String() = %q", got)
	}
	if !r.Permanent() || r.Temporary() || r.Positive() {
		t.Error("classification of 550")
	}
	var err error = r
	var rr *Reply
	if !errors.As(err, &rr) {
		t.Error("a Reply is an error")
	}
}

func TestXtext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"a+b=c", "a+2Bb+3Dc"},
		{"a b", "a+20b"},
		{"\x01\xff", "+01+FF"},
		{"~!", "~!"},
	}
	for _, tt := range tests {
		if got := EncodeXtext(tt.in); got != tt.want {
			t.Errorf("EncodeXtext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := encodeUTF8Addr("jö+x@é.de", false); got != `j\x{F6}\x{2B}x@\x{E9}.de` {
		t.Errorf("utf-8-addr-xtext: %q", got)
	}
	if got := encodeUTF8Addr("jö+x@é.de", true); got != `jö\x{2B}x@é.de` {
		t.Errorf("utf-8-addr-unitext: %q", got)
	}
}

func TestDotWriter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a", "a\r\n.\r\n"},
		{".a\r\n", "..a\r\n.\r\n"},
		{"a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
		// Bare LF and bare CR become CRLF: no smuggling sequences leave.
		{"a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
		{"a\r.\rb", "a\r\n..\r\nb\r\n.\r\n"},
		{"a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
		{"a\r", "a\r\n.\r\n"},
		{"..\r\n", "...\r\n.\r\n"},
	}
	for _, tt := range tests {
		// Byte by byte too: state carries across writes.
		for _, split := range []bool{false, true} {
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			d := newDotWriter(bw)
			if split {
				for i := 0; i < len(tt.in); i++ {
					d.Write([]byte{tt.in[i]})
				}
			} else {
				d.Write([]byte(tt.in))
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("%q (split %v): got %q, want %q", tt.in, split, buf.String(), tt.want)
			}
		}
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 OK\r\n", "550-5.7.1 a\r\n550 5.7.1 b\r\n", "250-x\r\n250 y\r\n", "4", "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 559 || len(r.Lines) == 0 {
			t.Fatalf("accepted %q as %+v", in, r)
		}
		if r.Enhanced != "" && (!validEnhanced(r.Enhanced) || int(r.Enhanced[0]-'0') != r.Code/100) {
			t.Fatalf("enhanced code %q with %d", r.Enhanced, r.Code)
		}
		for _, l := range r.Lines {
			if strings.ContainsAny(l, "\n") {
				t.Fatalf("line with LF: %q", l)
			}
		}
	})
}

// FuzzDotWriter checks that whatever the spool holds, the DATA stream
// has CRLF line endings only and ends at our terminator alone.
func FuzzDotWriter(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "\n.\n", "\r.\r", ".", "a\r\r\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		d := newDotWriter(bw)
		d.Write(in)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if !bytes.HasSuffix(out, []byte("\r\n.\r\n")) && !bytes.Equal(out, []byte(".\r\n")) {
			t.Fatalf("no terminator: %q", out)
		}
		body := out[:len(out)-3]
		if i := bytes.Index(body, []byte("\r\n.\r\n")); i >= 0 || bytes.HasPrefix(body, []byte(".\r\n")) {
			t.Fatalf("early terminator in %q", out)
		}
		for i, c := range out {
			if c == '\n' && (i == 0 || out[i-1] != '\r') {
				t.Fatalf("bare LF at %d in %q", i, out)
			}
			if c == '\r' && (i+1 >= len(out) || out[i+1] != '\n') {
				t.Fatalf("bare CR at %d in %q", i, out)
			}
		}
		// Un-stuffing gives back the input with normalized endings.
		lines := strings.Split(string(body), "\r\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, ".")
		}
		got := strings.Join(lines, "\r\n")
		want := strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(string(in), "\r\n", "\n"), "\r", "\n"), "\n", "\r\n")
		if want != "" && !strings.HasSuffix(want, "\r\n") {
			want += "\r\n"
		}
		if got != want {
			t.Fatalf("round trip: got %q, want %q", got, want)
		}
	})
}

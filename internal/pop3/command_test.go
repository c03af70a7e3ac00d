package pop3

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		name string
		args []string
		rest string
		err  string
	}{
		{line: "STAT", name: "STAT"},
		{line: "stat", name: "STAT"},
		{line: "Retr 1", name: "RETR", args: []string{"1"}, rest: "1"},
		{line: "TOP 1 10", name: "TOP", args: []string{"1", "10"}, rest: "1 10"},
		{line: "TOP  1   10  ", name: "TOP", args: []string{"1", "10"}, rest: " 1   10  "},
		{line: "LIST ", name: "LIST", rest: ""},
		{line: "PASS secret with spaces ", name: "PASS", args: []string{"secret", "with", "spaces"}, rest: "secret with spaces "},
		{line: "USER jörg@example.org", name: "USER", args: []string{"jörg@example.org"}, rest: "jörg@example.org"},
		{line: "UTF8", name: "UTF8"},
		{line: "AUTH PLAIN =", name: "AUTH", args: []string{"PLAIN", "="}, rest: "PLAIN ="},
		{line: "X-SOMETHING-LONG", name: "X-SOMETHING-LONG"},
		{line: "", err: "Empty command line"},
		{line: " STAT", err: "Command line begins with a space"},
		{line: "ST\x00T", err: "Malformed command name"},
		{line: "STAT\t1", err: "Malformed command name"},
		{line: "RETR 1\x002", err: "Control character in command line"},
		{line: "PASS a\tb", err: "Control character in command line"},
		{line: "PASS \x7f", err: "Control character in command line"},
		{line: "USER \xff\xfe", err: "Command line is not valid UTF-8"},
		{line: "ABCDEFGHIJKLMNOPQ", err: "Unknown command"},
		{line: "RÉTR 1", err: "Malformed command name"},
	} {
		cmd, err := parseCommand([]byte(tc.line))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("parseCommand(%q) error %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCommand(%q): %v", tc.line, err)
			continue
		}
		if cmd.name != tc.name || !slices.Equal(cmd.args, tc.args) || cmd.rest != tc.rest {
			t.Errorf("parseCommand(%q) = %q %q %q, want %q %q %q", tc.line, cmd.name, cmd.args, cmd.rest, tc.name, tc.args, tc.rest)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		s  string
		n  int64
		ok bool
	}{
		{"1", 1, true},
		{"0", 0, true},
		{"007", 7, true},
		{"4294967295", 4294967295, true},
		{"9999999999", 9999999999, true},
		{"10000000000", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1a", 0, false},
		{" 1", 0, false},
		{"١", 0, false}, // an Arabic-Indic digit
	} {
		n, ok := parseNumber(tc.s)
		if n != tc.n || ok != tc.ok {
			t.Errorf("parseNumber(%q) = %d, %v; want %d, %v", tc.s, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzParseCommand: whatever the line, parsing never panics, and what it
// accepts is a well-formed command: an upper-case name of letters,
// digits, '-' or '_', and arguments without spaces or control characters
// that the line holds in order.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "RETR 1", "TOP 1 0", "PASS a b c", "AUTH PLAIN AGFAYg==", "USER jörg", " ", "\x00", "LIST  2 ", "uidl", "CAPA\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := parseCommand(line)
		if err != nil {
			return
		}
		if cmd.name == "" || len(cmd.name) > maxKeyword || cmd.name != strings.ToUpper(cmd.name) {
			t.Fatalf("name %q from %q", cmd.name, line)
		}
		for _, r := range cmd.name {
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Fatalf("name %q from %q", cmd.name, line)
			}
		}
		if !utf8.ValidString(cmd.rest) || !strings.HasSuffix(string(line), cmd.rest) {
			t.Fatalf("rest %q from %q", cmd.rest, line)
		}
		var want []string
		for _, a := range strings.Split(cmd.rest, " ") {
			if a != "" {
				want = append(want, a)
			}
		}
		if !slices.Equal(cmd.args, want) {
			t.Fatalf("args %q from rest %q", cmd.args, cmd.rest)
		}
		for _, a := range cmd.args {
			if a == "" || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				t.Fatalf("argument %q from %q", a, line)
			}
		}
	})
}

func TestDotWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   string
	}{
		{"empty", nil, ".\r\n"},
		{"plain", []string{"a\r\nb\r\n"}, "a\r\nb\r\n.\r\n"},
		{"no final CRLF", []string{"a\r\nb"}, "a\r\nb\r\n.\r\n"},
		{"ends with CR", []string{"a\r"}, "a\r\r\n.\r\n"},
		{"leading dot", []string{".x\r\n"}, "..x\r\n.\r\n"},
		{"dot line", []string{"a\r\n.\r\nb\r\n"}, "a\r\n..\r\nb\r\n.\r\n"},
		{"dots", []string{"..\r\n...\r\n"}, "...\r\n....\r\n.\r\n"},
		{"dot mid-line", []string{"a.b\r\n x.\r\n"}, "a.b\r\n x.\r\n.\r\n"},
		{"split before dot", []string{"a\r\n", ".b\r\n"}, "a\r\n..b\r\n.\r\n"},
		{"split CRLF", []string{"a\r", "\n.", "b\r", "\n"}, "a\r\n..b\r\n.\r\n"},
		{"one-octet chunks", []string{"x", "\r", "\n", ".", "\r", "\n"}, "x\r\n..\r\n.\r\n"},
		{"one-octet end", []string{"x\r\ny", "\r", "\n"}, "x\r\ny\r\n.\r\n"},
		{"last dot no CRLF", []string{"a\r\n."}, "a\r\n..\r\n.\r\n"},
	} {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		d := newDotWriter(bw)
		for _, c := range tc.chunks {
			if n, err := d.Write([]byte(c)); err != nil || n != len(c) {
				t.Fatalf("%s: Write = %d, %v", tc.name, n, err)
			}
		}
		if err := d.end(); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		if buf.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, buf.String(), tc.want)
		}
	}
}

func TestCopyTop(t *testing.T) {
	msg := "Subject: x\r\nFrom: a\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n"
	for _, tc := range []struct {
		msg   string
		lines int64
		want  string
	}{
		{msg, 0, "Subject: x\r\nFrom: a\r\n\r\n.\r\n"},
		{msg, 1, "Subject: x\r\nFrom: a\r\n\r\nline 1\r\n.\r\n"},
		{msg, 2, "Subject: x\r\nFrom: a\r\n\r\nline 1\r\n..line 2\r\n.\r\n"},
		{msg, 3, "Subject: x\r\nFrom: a\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n"},
		{msg, 100, "Subject: x\r\nFrom: a\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n"},
		{"Subject: no body\r\n", 5, "Subject: no body\r\n.\r\n"},
		{"Subject: no end", 5, "Subject: no end\r\n.\r\n"},
		{"\r\nbody first\r\nsecond\r\n", 1, "\r\nbody first\r\n.\r\n"},
		{"Subject: x\r\n\r\nlast line without end", 3, "Subject: x\r\n\r\nlast line without end\r\n.\r\n"},
		{"Subject: x\r\n\r\n" + strings.Repeat("y", 20000) + "\r\nz\r\n", 1, "Subject: x\r\n\r\n" + strings.Repeat("y", 20000) + "\r\n.\r\n"},
		{"Subject: " + strings.Repeat("h", 20000) + "\r\n\r\nb\r\nc\r\n", 1, "Subject: " + strings.Repeat("h", 20000) + "\r\n\r\nb\r\n.\r\n"},
	} {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		d := newDotWriter(bw)
		if err := copyTop(d, strings.NewReader(tc.msg), tc.lines); err != nil {
			t.Fatal(err)
		}
		d.end()
		bw.Flush()
		if buf.String() != tc.want {
			t.Errorf("TOP %d of %.40q: got %.80q, want %.80q", tc.lines, tc.msg, buf.String(), tc.want)
		}
	}
}

func TestUIDL(t *testing.T) {
	if got := string(appendUIDL(nil, 0x6543ABCD, 42)); got != "0000002A6543ABCD" {
		t.Fatalf("UIDL %q", got)
	}
	if got := string(appendUIDL([]byte("x "), 1, 0xFFFFFFFF)); got != "x FFFFFFFF00000001" {
		t.Fatalf("UIDL %q", got)
	}
}

func TestSanitizeText(t *testing.T) {
	for in, want := range map[string]string{
		"fine":       "fine",
		"a\r\nb":     "a  b",
		"[IN-USE] x": " [IN-USE] x",
		"tab\there":  "tab here",
		"\x7fdelete": " delete",
		"über":       "über",
	} {
		if got := sanitizeText(in); got != want {
			t.Errorf("sanitizeText(%q) = %q, want %q", in, got, want)
		}
	}
	if n := len(sanitizeText(strings.Repeat("x", 2000))); n != maxText {
		t.Errorf("long text kept %d octets", n)
	}
}

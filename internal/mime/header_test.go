package mime

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	in := "From: a@b\r\n" +
		"Subject: one\r\n two\r\n\tthree  \r\n" +
		"no colon here\r\n continuation of garbage\r\n" +
		"Bad Name: x\r\n" +
		"X-Obs   : obsolete space before colon\r\n" +
		": empty name\r\n" +
		"X-Empty:\r\n" +
		"X-8bit: caf\xe9\r\n" +
		"\r\n" +
		"Body: not a header\r\n"
	fields := ParseHeader([]byte(in))
	var got []string
	for _, f := range fields {
		got = append(got, fmt.Sprintf("%s=%q raw=%q", f.Name, f.Value(), f.Raw))
	}
	want := []string{
		`From="a@b" raw="From: a@b\r\n"`,
		`Subject="one two\tthree" raw="Subject: one\r\n two\r\n\tthree  \r\n"`,
		`X-Obs="obsolete space before colon" raw="X-Obs   : obsolete space before colon\r\n"`,
		`X-Empty="" raw="X-Empty:\r\n"`,
		"X-8bit=\"caf\\xe9\" raw=\"X-8bit: caf\\xe9\\r\\n\"",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseHeaderEdges(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", ""},
		{"\r\n", ""},
		{"A: 1", "A=1;"},                   // last field without CRLF
		{"A: 1\nB: 2\n\nC: 3", "A=1;B=2;"}, // bare LF
		{" leading continuation\r\nA: 1\r\n", "A=1;"},
		{"A: 1\r\n \r\n", "A=1;"}, // white-space-only line is a continuation
	}
	for _, tt := range tests {
		s := ""
		for _, f := range ParseHeader([]byte(tt.in)) {
			s += f.Name + "=" + f.Value() + ";"
		}
		if s != tt.want {
			t.Errorf("ParseHeader(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestReadHeader(t *testing.T) {
	raw := crlf(`Subject: outer
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain
X-Part: one

body
--b
Content-Type: text/plain
--b--
`)
	root, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReader(raw)
	for _, tt := range []struct {
		p    *Part
		want string
	}{
		{root, "Subject=outer;Content-Type=multipart/mixed; boundary=b;"},
		{root.Parts[0], "Content-Type=text/plain;X-Part=one;"},
		{root.Parts[1], "Content-Type=text/plain;"}, // header ended by the delimiter
	} {
		fields, err := ReadHeader(r, tt.p)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, f := range fields {
			s += f.Name + "=" + f.Value() + ";"
		}
		if s != tt.want {
			t.Errorf("got %q, want %q", s, tt.want)
		}
	}
	if _, err := ReadHeader(bytes.NewReader([]byte("short")), root); err == nil {
		t.Errorf("ReadHeader beyond the data: no error")
	}
}

// crlf turns the LF line ends of a test literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestHeaderEnd(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // -1: not found in the input
	}{
		{"", -1},
		{"\r\n", 2},
		{"\n", 1},
		{"\r\nbody", 2},
		{"\r", -1},
		{"A: b\r\n\r\nbody", 8},
		{"A: b\n\nbody", 6},
		{"A: b\r\n\nbody", 7},
		{"A: b\r\n \r\nbody", -1}, // a line of white space is a continuation, not empty
		{"A: b\r\n\r\r\n\r\n", 11},
		{"A: b\r\n", -1},
		{"A: b\r\n\r", -1}, // the empty line may be under way
		{"A: b", -1},
		{"A: b\r\nC: d\r\n\r\n", 14},
	}
	for _, tc := range tests {
		got, ok := HeaderEnd([]byte(tc.in))
		if !ok {
			got = -1
		}
		if got != tc.want {
			t.Errorf("HeaderEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestHeaderFieldsStops(t *testing.T) {
	n := 0
	for range HeaderFields([]byte("A: 1\r\nB: 2\r\nC: 3\r\n\r\n")) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("iterated %d fields after a break at 2", n)
	}
}

package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// written returns what f writes through a Writer.
func written(utf8 bool, f func(w *Writer)) string {
	var buf bytes.Buffer
	w := NewWriter(bufio.NewWriter(&buf))
	w.SetUTF8(utf8)
	f(w)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.String()
}

func TestWriterStrings(t *testing.T) {
	long := strings.Repeat("a", maxQuoted)
	tests := []struct {
		kind string // String, AString, NString, Mailbox
		in   string
		utf8 bool
		want string
	}{
		{"String", "", false, `""`},
		{"String", "hello world", false, `"hello world"`},
		{"String", `a"b\c`, false, `"a\"b\\c"`},
		{"String", "tab\there\x01\x7f", false, "\"tab\there\x01\x7f\""},
		{"String", "line\r\nbreak", false, "{11}\r\nline\r\nbreak"},
		{"String", "nul\x00", false, "{4}\r\nnul\x00"},
		{"String", "lf\n", false, "{3}\r\nlf\n"},
		{"String", "jörg", false, "{5}\r\njörg"},
		{"String", "jörg", true, "\"jörg\""},
		{"String", "bad\xff", true, "{4}\r\nbad\xff"},
		{"String", long, false, `"` + long + `"`},
		{"String", long + "b", false, "{4097}\r\n" + long + "b"},

		{"AString", "INBOX", false, "INBOX"},
		{"AString", "a]b~c/d.e", false, "a]b~c/d.e"},
		{"AString", "", false, `""`},
		{"AString", "NIL", false, `"NIL"`},
		{"AString", "nil", false, `"nil"`},
		{"AString", "NILS", false, "NILS"},
		{"AString", "a b", false, `"a b"`},
		{"AString", "a%", false, `"a%"`},
		{"AString", "a*", false, `"a*"`},
		{"AString", "(x)", false, `"(x)"`},
		{"AString", "{1}", false, `"{1}"`},
		{"AString", `a\b`, false, `"a\\b"`},
		{"AString", "jörg", true, `"jörg"`},
		{"AString", "jörg", false, "{5}\r\njörg"},

		{"NString", "", false, "NIL"},
		{"NString", "x", false, `"x"`},
		{"NString", "NIL", false, `"NIL"`},

		{"Mailbox", "INBOX", false, "INBOX"},
		{"Mailbox", "~peter/mail/台北/日本語", false, "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"Mailbox", "~peter/mail/台北/日本語", true, `"~peter/mail/台北/日本語"`},
		{"Mailbox", "Tom & Jerry", false, `"Tom &- Jerry"`},
		{"Mailbox", "Entwürfe", false, "Entw&APw-rfe"},
	}
	for _, tc := range tests {
		got := written(tc.utf8, func(w *Writer) {
			switch tc.kind {
			case "String":
				w.String(tc.in)
			case "AString":
				w.AString(tc.in)
			case "NString":
				w.NString(tc.in)
			case "Mailbox":
				w.Mailbox(tc.in, tc.utf8)
			}
		})
		if got != tc.want {
			t.Errorf("%s(%.20q, utf8 %v) = %.40q, want %.40q", tc.kind, tc.in, tc.utf8, got, tc.want)
		}
	}
}

func TestWriterPrimitives(t *testing.T) {
	got := written(false, func(w *Writer) {
		w.Raw("* ")
		w.Number(0)
		w.SP()
		w.Number(9)
		w.SP()
		w.Number(10)
		w.SP()
		w.Number(18446744073709551615)
		w.SP()
		w.Atom(`\Seen`)
		w.Byte(')')
		w.CRLF()
		w.Literal(5, strings.NewReader("hello"), false)
		w.Literal(2, strings.NewReader("\x00\x01"), true)
		w.Literal(0, strings.NewReader(""), false)
	})
	want := "* 0 9 10 18446744073709551615 \\Seen)\r\n{5}\r\nhello~{2}\r\n\x00\x01{0}\r\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriterDateTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(1994, 2, 7, 21, 52, 25, 0, time.FixedZone("", -8*3600)), `"07-Feb-1994 21:52:25 -0800"`},
		{time.Date(2024, 12, 31, 0, 0, 9, 999, time.UTC), `"31-Dec-2024 00:00:09 +0000"`},
		{time.Date(2020, 6, 1, 1, 2, 3, 0, time.FixedZone("", 5*3600+30*60)), `"01-Jun-2020 01:02:03 +0530"`},
		{time.Date(2020, 6, 1, 1, 2, 3, 0, time.FixedZone("", -(9*3600+30*60))), `"01-Jun-2020 01:02:03 -0930"`},
	}
	for _, tc := range tests {
		got := written(false, func(w *Writer) { w.DateTime(tc.t) })
		if got != tc.want {
			t.Errorf("DateTime(%v) = %s, want %s", tc.t, got, tc.want)
		}
		// What the writer sends, the reader reads back (APPEND date-time).
		r, _ := newTestReader(got+"\r\n", Options{})
		if err := r.readLine(1000); err != nil {
			t.Fatal(err)
		}
		back := r.dateTime()
		_, off1 := back.Zone()
		_, off2 := tc.t.Zone()
		if !back.Equal(tc.t.Truncate(time.Second)) || off1 != off2 {
			t.Errorf("read back %v, want %v", back, tc.t)
		}
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct {
	n   int
	err error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, f.err
}

func TestWriterStickyError(t *testing.T) {
	boom := errors.New("boom")
	w := NewWriter(bufio.NewWriterSize(&failWriter{n: 20, err: boom}, 16))
	for range 10 {
		w.Raw("* OK something long enough to flush\r\n")
		w.Number(12345)
		w.String("x")
	}
	if err := w.Err(); err != boom {
		t.Errorf("Err = %v, want boom", err)
	}
	if err := w.Flush(); err != boom {
		t.Errorf("Flush = %v, want boom", err)
	}

	// A literal reader that ends early breaks the stream.
	var buf bytes.Buffer
	w = NewWriter(bufio.NewWriter(&buf))
	w.Literal(10, strings.NewReader("short"), false)
	if err := w.Flush(); err != io.ErrUnexpectedEOF {
		t.Errorf("short literal: %v, want ErrUnexpectedEOF", err)
	}
	w.Raw("more")
	if err := w.Err(); err != io.ErrUnexpectedEOF {
		t.Errorf("after error: %v", err)
	}
}

func TestWriterReset(t *testing.T) {
	var a, b bytes.Buffer
	w := NewWriter(bufio.NewWriter(&a))
	w.Raw("one")
	w.Flush()
	w.Reset(bufio.NewWriter(&b))
	w.Raw("two")
	w.Flush()
	if a.String() != "one" || b.String() != "two" {
		t.Errorf("got %q, %q", a.String(), b.String())
	}
}

// TestWriterStringRoundTrip checks that the reader's string parser gives
// back what String and AString wrote.
func TestWriterStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "x", `"\`, "a\r\nb", "a}\r\n", "ü", "NIL", "\xff\xfe", strings.Repeat("ä", 3000), "]", "{5}", "a b"} {
		for _, utf8 := range []bool{false, true} {
			checkStringRoundTrip(t, s, utf8)
		}
	}
}

// checkStringRoundTrip writes s with String and AString and parses it back.
func checkStringRoundTrip(t *testing.T, s string, utf8 bool) {
	t.Helper()
	for _, kind := range []string{"String", "AString"} {
		out := written(utf8, func(w *Writer) {
			if kind == "String" {
				w.String(s)
			} else {
				w.AString(s)
			}
			w.CRLF()
		})
		r, conts := newTestReader(out, Options{MaxLineLength: 1 << 20, MaxLiteralSize: 1 << 20})
		r.begin()
		if err := r.readLine(r.opts.MaxLineLength); err != nil {
			t.Fatalf("%s(%q): %v", kind, s, err)
		}
		var got string
		err := catch(func() {
			if kind == "String" {
				got = r.str()
			} else {
				got = r.astring()
			}
			if r.more() {
				r.fail("trailing data")
			}
		})
		if err != nil || got != s {
			t.Fatalf("%s(%q) wrote %q, read back %q, %v", kind, s, out, got, err)
		}
		if wantConts := strings.Count(out[:1], "{"); len(*conts) != wantConts {
			t.Fatalf("%s(%q): %d continuations", kind, s, len(*conts))
		}
	}
}

// catch runs a parser function and returns the error it panics with.
func catch(f func()) (err error) {
	defer func() {
		switch x := recover().(type) {
		case nil:
		case *Error:
			err = x
		case ioError:
			err = x.err
		default:
			panic(x)
		}
	}()
	f()
	return nil
}

func TestWriterLiteralFromMemoryAndReaderAt(t *testing.T) {
	data := strings.Repeat("0123456789", 1000)
	for _, bufSize := range []int{0, 1, 7, 4096, 64 << 10} {
		got := written(false, func(w *Writer) {
			w.Raw("a ")
			w.LiteralBytes([]byte("hello"), false)
			w.LiteralBytes(nil, true)
			w.LiteralAt(5000, strings.NewReader(data), 3, false, make([]byte, bufSize))
			w.LiteralAt(0, strings.NewReader(data), 0, true, make([]byte, bufSize))
		})
		want := "a {5}\r\nhello~{0}\r\n{5000}\r\n" + data[3:5003] + "~{0}\r\n"
		if got != want {
			t.Errorf("buffer of %d: got %d octets, want %d", bufSize, len(got), len(want))
		}
	}
	// A reader that ends early breaks the stream.
	var buf bytes.Buffer
	w := NewWriter(bufio.NewWriter(&buf))
	w.LiteralAt(10, strings.NewReader("short"), 0, false, make([]byte, 4))
	if err := w.Flush(); err != io.ErrUnexpectedEOF {
		t.Errorf("short literal: %v, want ErrUnexpectedEOF", err)
	}
}

// TestWriterDateTimeAtBufferEnd: a date-time that does not fit in what is
// left of the buffer is written whole after a flush.
func TestWriterDateTimeAtBufferEnd(t *testing.T) {
	d := time.Date(2024, 12, 31, 0, 0, 9, 0, time.UTC)
	for pad := 4096 - 40; pad < 4096; pad++ {
		var buf bytes.Buffer
		w := NewWriter(bufio.NewWriterSize(&buf, 4096))
		w.Raw(strings.Repeat("x", pad))
		w.DateTime(d)
		w.Flush()
		if got := buf.String()[pad:]; got != `"31-Dec-2024 00:00:09 +0000"` {
			t.Fatalf("after %d octets: %q", pad, got)
		}
	}
}

func BenchmarkWriterDateTime(b *testing.B) {
	w := NewWriter(bufio.NewWriter(io.Discard))
	d := time.Date(2024, 12, 31, 0, 0, 9, 0, time.FixedZone("", 3600))
	b.ReportAllocs()
	for b.Loop() {
		w.DateTime(d)
	}
}

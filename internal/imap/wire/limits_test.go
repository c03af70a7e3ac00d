package wire

import (
	"errors"
	"strings"
	"testing"
)

// TestLimits covers refused literals and lines: each case is followed by
// "next NOOP", which must be read next unless the error is fatal.
func TestLimits(t *testing.T) {
	opts := Options{
		MaxLineLength:     100,
		MaxLiteralSize:    10,
		MaxMessageSize:    20,
		MaxDiscard:        50,
		MaxAppendMessages: 2,
		MaxAppendTotal:    30,
	}
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name  string
		in    string
		tag   string
		no    bool
		code  string
		fatal bool
		conts int
	}{
		// A synchronizing literal over a limit gets no continuation: the
		// client sends nothing more of the command.
		{name: "sync message over MaxMessageSize", in: "t APPEND INBOX {21}", tag: "t", no: true, code: "TOOBIG"},
		{name: "sync literal8 message over MaxMessageSize", in: "t APPEND INBOX ~{21}", tag: "t", no: true, code: "TOOBIG"},
		{name: "sync string literal over MaxLiteralSize", in: "t LOGIN {11}", tag: "t"},
		{name: "sync second literal over the command's budget", in: "t LOGIN {6}\r\nabcdef {5}", tag: "t", conts: 1},
		{name: "sync literal in unknown command", in: "t FOO {5}", tag: "t"},
		{name: "sync literal after a syntax error", in: "t LOGIN (x {5}", tag: "t"},
		{name: "sync huge count", in: "t APPEND x {99999999999999999999999}", tag: "t"},

		// A non-synchronizing literal over a limit is skipped.
		{name: "non-sync message over MaxMessageSize", in: "t APPEND INBOX {21+}\r\n" + x(21), tag: "t", no: true, code: "TOOBIG"},
		{name: "non-sync message at MaxDiscard", in: "t APPEND INBOX {50+}\r\n" + x(50), tag: "t", no: true, code: "TOOBIG"},
		{name: "non-sync string literal over MaxLiteralSize", in: "t LOGIN {11+}\r\n" + x(11) + " pass", tag: "t"},
		{name: "non-sync literals chained", in: "t FOO {3+}\r\nabc {4+}\r\nabcd {2}", tag: "t"},
		{name: "non-sync literal after syntax error", in: "t LOGIN ( {3+}\r\nabc {3+}\r\nabc", tag: "t"},
		{name: "non-sync literal over MaxDiscard", in: "t APPEND INBOX {51+}\r\n" + x(51), tag: "t", no: true, code: "TOOBIG", fatal: true},
		{name: "non-sync literal with overflowing count", in: "t FOO {99999999999999999999999+}", tag: "t", fatal: true},
		{name: "literal8 where a string is expected", in: "t LOGIN ~{3+}\r\nabc x", tag: "t"},

		// APPEND limits on the whole command.
		{name: "too many messages", in: "t APPEND x {1+}\r\na {1+}\r\nb {1}", tag: "t", no: true, code: "LIMIT"},
		{name: "too many messages non-sync", in: "t APPEND x {1+}\r\na {1+}\r\nb {1+}\r\nc", tag: "t", no: true, code: "LIMIT"},
		{name: "messages too large together", in: "t APPEND x {20+}\r\n" + x(20) + " {11}", tag: "t", no: true, code: "LIMIT"},

		// Overlong lines are skipped with the literals they announce.
		{name: "overlong line", in: "t NOOP " + x(200), tag: "t"},
		{name: "overlong line, exactly one over", in: "t LOGIN " + x(90) + " xx", tag: "t"},
		{name: "overlong line with sync literal", in: "t LOGIN " + x(200) + " {5}", tag: "t"},
		{name: "overlong line with non-sync literal", in: "t LOGIN " + x(200) + " {5+}\r\nabcde " + x(300) + " {3+}\r\nabc", tag: "t"},
		{name: "overlong line with non-sync literal over MaxDiscard", in: "t LOGIN " + x(200) + " {51+}\r\n" + x(51), tag: "t", fatal: true},
		{name: "overlong line with zero-padded count", in: "t LOGIN " + x(200) + " {" + strings.Repeat("0", 80) + "5+}\r\nabcde", tag: "t", fatal: true},
		{name: "overlong tag", in: x(300) + " NOOP", tag: ""},
		{name: "overlong continuation line", in: "t LOGIN {3+}\r\nabc " + x(200), tag: "t"},
		{name: "overlong continuation line with literal", in: "t LOGIN {3+}\r\nabc " + x(200) + " {2+}\r\nab", tag: "t"},
		{name: "lines of one command share the budget", in: "t SEARCH TEXT {3+}\r\nabc TEXT " + x(50) + " TEXT {0+}\r\n TEXT " + x(20), tag: "t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, conts := newTestReader(tc.in+"\r\nnext NOOP\r\n", opts)
			cmd, err := r.ReadCommand()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %s, %v; want *Error", dump(cmd), err)
			}
			if e.Tag != tc.tag || e.No != tc.no || e.Code != tc.code || e.Fatal != tc.fatal {
				t.Errorf("got %s, want tag %q no %v code %q fatal %v", dump(e), tc.tag, tc.no, tc.code, tc.fatal)
			}
			if len(*conts) != tc.conts {
				t.Errorf("continuations: got %d, want %d", len(*conts), tc.conts)
			}
			if !tc.fatal {
				checkNext(t, r)
			}
		})
	}
}

// TestLimitsAccepted checks the limits' boundaries from the accepting side.
func TestLimitsAccepted(t *testing.T) {
	opts := Options{MaxLineLength: 100, MaxLiteralSize: 10, MaxMessageSize: 20, MaxAppendMessages: 2, MaxAppendTotal: 30}
	x := func(n int) string { return strings.Repeat("x", n) }
	for _, in := range []string{
		"t LOGIN " + x(89) + " xx",                                                 // exactly 100 octets
		"t LOGIN {5+}\r\n" + x(5) + " {5+}\r\n" + x(5),                             // two literals filling MaxLiteralSize
		"t APPEND x {20+}\r\n" + x(20) + " {10+}\r\n" + x(10),                      // MaxMessageSize, MaxAppendTotal, MaxAppendMessages
		"t APPEND x {1+}\r\nx (" + x(90) + ") {1+}\r\nx",                           // each APPEND message has its own line budget
		"t SEARCH TEXT {3+}\r\nabc TEXT " + x(50) + " TEXT {0+}\r\n TEXT " + x(10), // shared budget, filled exactly
	} {
		r, _ := newTestReader(in+"\r\nnext NOOP\r\n", opts)
		cmd, err := r.ReadCommand()
		if err != nil {
			t.Errorf("%.40q: %v (%s)", in, err, dump(err))
			continue
		}
		if a, ok := cmd.Args.(*AppendArgs); ok {
			for _, m := range a.Messages {
				m.Data.Close()
			}
		}
		checkNext(t, r)
	}
}

// TestPipelinedStream reads a stream of commands, valid and invalid, sent
// without waiting (as with LITERAL+), and checks that every command is
// found where it starts.
func TestPipelinedStream(t *testing.T) {
	opts := Options{MaxLineLength: 200, MaxLiteralSize: 50, MaxMessageSize: 100, MaxDiscard: 1000}
	x := func(n int) string { return strings.Repeat("x", n) }
	steps := []struct {
		in  string
		tag string
		ok  bool
	}{
		{"a1 NOOP\r\n", "a1", true},
		{"a2 BOGUS {5+}\r\nhello {3+}\r\nabc\r\n", "a2", false},
		{"a3 LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n", "a3", true},
		{"a4 APPEND INBOX {500+}\r\n" + x(500) + "\r\n", "a4", false},
		{"a5 SELECT INBOX\r\n", "a5", true},
		{"a6 FETCH 1:* (FLAGS\r\n", "a6", false},
		{"a7 UID FETCH 1:* (UID FLAGS)\r\n", "a7", true},
		{"a8 NOOP " + x(1000) + " {10+}\r\n0123456789\r\n", "a8", false},
		{"a9 APPEND INBOX (\\Seen) {10+}\r\n0123456789 {10+}\r\n0123456789\r\n", "a9", true},
		{"b1 LOGIN {51}\r\n", "b1", false},
		{"b2 SEARCH TEXT {3+}\r\na\x00c\r\n", "b2", false},
		{"\r\n", "", true}, // skipped
		{"b3 APPEND INBOX {5+}\r\nhello extra\r\n", "b3", false},
		{"b4 IDLE\r\n", "b4", true},
		{"b5 LOGIN \"a\r\n", "b5", false},
		{"b6 LOGOUT\r\n", "b6", true},
	}
	var in strings.Builder
	for _, s := range steps {
		in.WriteString(s.in)
	}
	r, conts := newTestReader(in.String(), opts)
	for _, s := range steps {
		if s.tag == "" {
			continue
		}
		cmd, err := r.ReadCommand()
		var e *Error
		switch {
		case s.ok && err != nil:
			t.Fatalf("%s: %v (%s)", s.tag, err, dump(err))
		case s.ok && cmd.Tag != s.tag:
			t.Fatalf("got command %s, want %s", cmd.Tag, s.tag)
		case !s.ok && !errors.As(err, &e):
			t.Fatalf("%s: got %s, %v; want *Error", s.tag, dump(cmd), err)
		case !s.ok && (e.Tag != s.tag || e.Fatal):
			t.Fatalf("%s: got %s", s.tag, dump(e))
		}
		if cmd != nil {
			if a, ok := cmd.Args.(*AppendArgs); ok {
				for _, m := range a.Messages {
					m.Data.Close()
				}
			}
		}
	}
	if len(*conts) != 0 {
		t.Errorf("continuations sent: %q", *conts)
	}
}

// TestSpoolFailure checks that a message that cannot be spooled is refused
// with NO after its data was consumed, keeping the stream in sync.
func TestSpoolFailure(t *testing.T) {
	missing := t.TempDir() + "/missing"
	for _, in := range []string{
		"t APPEND INBOX {100}\r\n" + strings.Repeat("x", 100),
		"t APPEND INBOX {100+}\r\n" + strings.Repeat("x", 100) + " {100+}\r\n" + strings.Repeat("y", 100),
	} {
		r, conts := newTestReader(in+"\r\nnext NOOP\r\n", Options{SpoolDir: missing, SpoolThreshold: 10})
		_, err := r.ReadCommand()
		var e *Error
		if !errors.As(err, &e) || !e.No || e.Code != "UNAVAILABLE" || e.Tag != "t" || e.Fatal {
			t.Fatalf("got %v (%s)", err, dump(err))
		}
		if want := strings.Count(in, "}\r\n") - strings.Count(in, "+}\r\n"); len(*conts) != want {
			t.Errorf("continuations: %d, want %d", len(*conts), want)
		}
		checkNext(t, r)
	}
}

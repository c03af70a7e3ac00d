package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are command streams for FuzzReadCommand's corpus.
var fuzzSeeds = []string{
	"a NOOP\r\n",
	"a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>) (CHANGEDSINCE 5 VANISHED)\r\n",
	"a LOGIN {3}\r\nbob {6+}\r\nsecret\r\n",
	"a APPEND INBOX (\\Seen $x) \" 1-Jan-2020 10:00:00 +0100\" {20+}\r\n01234567890123456789 ~{3+}\r\na\x00c\r\n",
	"a APPEND INBOX UTF8 (~{2}\r\nab)\r\n",
	"a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM x SINCE 1-Feb-2020) NOT UID 1:*,$ TEXT {3+}\r\nabc\r\n",
	"a SEARCH MODSEQ \"/flags/\\\\seen\" all 5 HEADER X {0}\r\n OLDER 5\r\n",
	"a SELECT INBOX (QRESYNC (1 2 1:5 (1,2 3,4)) CONDSTORE)\r\n",
	"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% INBOX) RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
	"a STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Deleted)\r\nb UID EXPUNGE 1:3\r\n",
	"a ID (\"name\" NIL)\r\nb ENABLE QRESYNC\r\nc AUTHENTICATE PLAIN AGJvYgBz\r\n",
	"a CREATE x (USE (\\Sent))\r\nb RENAME a b\r\nc STATUS x (UNSEEN)\r\nd LSUB \"\" *\r\n",
	"a BOGUS {5+}\r\nhello {3}\r\nb NOOP\r\n",
	"a NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {5+}\r\nabcde\r\nb NOOP\r\n",
	"a APPEND x {1000+}\r\n",
	"a FETCH 1 (PREVIEW (LAZY) BINARY.PEEK[1.2]<0.5> BODY[1.MIME])\r\n",
	"\r\n\na NOOP\n",
	"t LOGIN {65}\r\nn NOOP\r\n",
	"t APPEND x {129+}\r\n" + strings.Repeat("x", 129) + "\r\nn NOOP\r\n",
	"t APPEND x {257+}\r\n" + strings.Repeat("x", 257) + "\r\nn NOOP\r\n",
	"t APPEND x {40+}\r\n" + strings.Repeat("x", 40) + " {40}\r\n" + strings.Repeat("y", 40) + "\r\n",
	"t NOOP " + strings.Repeat("x", 300) + " {5+}\r\nabcde " + strings.Repeat("y", 300) + "\r\nn NOOP\r\n",
	// CATENATE (RFC 4469), also in a MULTIAPPEND and a REPLACE.
	"a APPEND Drafts (\\Seen) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {4+}\r\n\r\nab URL {8+}\r\n;UID=7/; TEXT ~{1+}\r\n\x00) {2+}\r\nhi\r\n",
	"a APPEND x CATENATE (UTF8 (~{2+}\r\nab) URL \"/INBOX/;UID=1/;PARTIAL=0.10\") CATENATE (TEXT {3}\r\nabc)\r\n",
	"a UID REPLACE 3002 Drafts CATENATE (TEXT {5+}\r\nTo: x URL \"/Drafts/;UID=3002\")\r\nb APPEND x CATENATE ()\r\n",
	// ESEARCH (RFC 7377) and LIST-METADATA (RFC 9590).
	"a ESEARCH IN (mailboxes \"folder1\" subtree-one (a {1+}\r\nb) personal) RETURN (MIN COUNT) UNSEEN\r\nb ESEARCH ALL\r\n",
	"a LIST \"\" % RETURN (METADATA (/shared/comment MAXSIZE 10) CHILDREN)\r\nb LIST \"\" % RETURN (METADATA (DEPTH 1) (/private/x))\r\n",
	"t LOGIN {3+}\r\nabc " + strings.Repeat("x", 300) + "\r\nn NOOP\r\n",
}

// fuzzOptions are small limits, so that the fuzzer reaches them.
func fuzzOptions(dir string) Options {
	return Options{
		MaxLineLength:     256,
		MaxLiteralSize:    64,
		MaxMessageSize:    128,
		MaxDiscard:        256,
		MaxAppendMessages: 3,
		MaxAppendTotal:    200,
		SpoolThreshold:    16,
		SpoolDir:          dir,
	}
}

// FuzzReadCommand feeds arbitrary streams to the reader: it must never
// panic or hang, each ReadCommand must consume input (or end the stream),
// and it reads on after every non-fatal error until the stream ends.
func FuzzReadCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, tc := range validCommandTests {
		f.Add([]byte("t " + tc.in + "\r\n"))
	}
	for _, tc := range invalidCommandTests {
		f.Add([]byte(tc.in + "\r\nnext NOOP\r\n"))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		br := bufio.NewReaderSize(src, 16) // small: lines span buffer refills
		conts := 0
		r := NewReader(br, fuzzOptions(dir), func(string) error { conts++; return nil })
		remaining := func() int { return src.Len() + br.Buffered() }
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("more commands than input octets")
			}
			before := remaining()
			cmd, err := r.ReadCommand()
			if remaining() >= before && err != io.EOF {
				t.Fatalf("no progress: %v", err)
			}
			if cmd != nil {
				checkCommand(t, cmd)
				checkReencode(t, cmd)
				closeCommand(cmd)
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Fatal) {
				break
			}
			if e != nil && e.Tag != "" && overlongTag([]byte(e.Tag+" ")) != e.Tag {
				t.Fatalf("invalid tag in error: %q", e.Tag)
			}
		}
		assertEmptyDir(t, dir)
	})
}

// checkCommand checks invariants of a parsed command.
func checkCommand(t *testing.T, cmd *Command) {
	t.Helper()
	if cmd.Name == "" || overlongTag([]byte(cmd.Tag+" ")) != cmd.Tag {
		t.Fatalf("bad command %s", dump(cmd))
	}
	checkSet := func(s SeqSet) {
		if s.SearchRes != (len(s.Ranges) == 0) {
			t.Fatalf("bad set %+v", s)
		}
		for _, r := range s.Ranges {
			if r.Start == 0 && r.Stop != 0 || r.Stop != 0 && r.Start > r.Stop {
				t.Fatalf("range not normalized: %+v", r)
			}
		}
	}
	var checkKey func(k SearchKey)
	checkKey = func(k SearchKey) {
		if k.Name == "UID" || k.Name == "SEQSET" {
			checkSet(k.Set)
		}
		for _, c := range k.Children {
			checkKey(c)
		}
	}
	switch a := cmd.Args.(type) {
	case *FetchArgs:
		checkSet(a.Set)
		if len(a.Items) == 0 {
			t.Fatal("FETCH without items")
		}
		for _, it := range a.Items {
			if it.Section != nil {
				for _, p := range it.Section.Part {
					if p <= 0 {
						t.Fatalf("part %d", p)
					}
				}
				if strings.HasPrefix(it.Section.Specifier, "HEADER.FIELDS") && len(it.Section.Fields) == 0 {
					t.Fatal("HEADER.FIELDS without fields")
				}
			}
		}
	case *StoreArgs:
		checkSet(a.Set)
	case *CopyArgs:
		checkSet(a.Set)
	case *SearchArgs:
		if len(a.Criteria) == 0 {
			t.Fatal("SEARCH without criteria")
		}
		for _, k := range a.Criteria {
			checkKey(k)
		}
	case *AppendArgs:
		if len(a.Messages) == 0 {
			t.Fatal("APPEND without message")
		}
		for _, m := range a.Messages {
			if (m.Data == nil) == (m.Catenate == nil) {
				t.Fatalf("message with data %v and %d CATENATE parts", m.Data != nil, len(m.Catenate))
			}
			checkLiteral := func(l *Literal, binary bool) {
				b, err := io.ReadAll(l.Open())
				if err != nil || int64(len(b)) != l.Size() {
					t.Fatalf("message data: %d octets, %v; size %d", len(b), err, l.Size())
				}
				if !binary && bytes.IndexByte(b, 0) >= 0 {
					t.Fatal("NUL in non-binary message")
				}
			}
			if m.Data != nil {
				checkLiteral(m.Data, m.Binary)
			}
			for _, p := range m.Catenate {
				switch {
				case (p.Text == nil) == (p.URL == ""):
					t.Fatalf("CATENATE part with text %v and URL %q", p.Text != nil, p.URL)
				case p.Text != nil:
					checkLiteral(p.Text, p.Binary)
				case len(p.URL) > maxURLLength:
					t.Fatalf("URL of %d octets", len(p.URL))
				}
			}
		}
	case *ESearchArgs:
		if a.Search == nil || len(a.Search.Criteria) == 0 {
			t.Fatal("ESEARCH without criteria")
		}
		for _, f := range a.Sources {
			if (f.Mailboxes == nil) != (f.Filter != "SUBTREE" && f.Filter != "SUBTREE-ONE" && f.Filter != "MAILBOXES") {
				t.Fatalf("filter %s with mailboxes %q", f.Filter, f.Mailboxes)
			}
		}
		for _, k := range a.Search.Criteria {
			checkKey(k)
		}
	case *ListArgs:
		if m := a.ReturnMetadata; m != nil && len(m.Entries) == 0 {
			t.Fatal("LIST RETURN (METADATA) without entries")
		}
	}
}

// closeCommand releases a command's literals.
func closeCommand(cmd *Command) {
	if a, ok := cmd.Args.(*ReplaceArgs); ok {
		a.Message.Close()
	}
	if a, ok := cmd.Args.(*AppendArgs); ok {
		for _, m := range a.Messages {
			m.Close()
		}
	}
}

// FuzzUTF7 checks that modified UTF-7 decoding accepts only canonical
// input (encoding a decoded name gives it back), and that encoding round
// trips every valid UTF-8 name.
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"", "INBOX", "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "&-", "&AGE-&AGI-", "&2D3eAA-", "&APw-&-", "Entwürfe", "a\x00", "&ACY-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := DecodeMailboxUTF7(s); err == nil {
			if !utf8.ValidString(dec) {
				t.Fatalf("Decode(%q) = invalid UTF-8 %q", s, dec)
			}
			if enc := EncodeMailboxUTF7(dec); enc != s {
				t.Fatalf("Decode(%q) = %q, which encodes to %q", s, dec, enc)
			}
		}
		if utf8.ValidString(s) {
			enc := EncodeMailboxUTF7(s)
			dec, err := DecodeMailboxUTF7(enc)
			if err != nil || dec != s {
				t.Fatalf("Encode(%q) = %q, which decodes to %q, %v", s, enc, dec, err)
			}
			for i := 0; i < len(enc); i++ {
				if enc[i] < 0x20 || enc[i] > 0x7e {
					t.Fatalf("Encode(%q) = %q: not printable ASCII", s, enc)
				}
			}
		}
	})
}

// FuzzWriterString checks that what String and AString write parses back
// to the same string through the reader's string parsers, and that Mailbox
// names survive their encoding in both modes.
func FuzzWriterString(f *testing.F) {
	for _, s := range []string{"", "x", `"\`, "a\r\nb", "ü", "NIL", "\xff", "a b", "]", "{5}", "~peter/台北", "Tom & Jerry"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			// IMAP strings cannot hold NUL (RFC 9051 section 4.3.1).
			return
		}
		for _, u := range []bool{false, true} {
			checkStringRoundTrip(t, s, u)
			if !utf8.ValidString(s) {
				continue
			}
			out := written(u, func(w *Writer) { w.Mailbox(s, u); w.CRLF() })
			r, _ := newTestReader(out, Options{MaxLineLength: 1 << 20, MaxLiteralSize: 1 << 20})
			r.begin()
			if err := r.readLine(r.opts.MaxLineLength); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := catch(func() { got = r.astring() }); err != nil {
				t.Fatalf("Mailbox(%q, %v) wrote %q: %v", s, u, out, err)
			}
			dec, err := DecodeMailbox(got, u)
			if err != nil || dec != s {
				t.Fatalf("Mailbox(%q, %v) wrote %q, decoded %q, %v", s, u, out, dec, err)
			}
		}
	})
}

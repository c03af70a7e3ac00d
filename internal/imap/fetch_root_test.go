package imap_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"postfach/internal/imaptest"
	"postfach/internal/mime"
)

// rootSectionMessages are messages whose header ends in odd places: the
// sections of a whole message are served without its MIME tree, from
// where the body shows its header to end.
func rootSectionMessages() []string {
	long := strings.Repeat("X-Long: "+strings.Repeat("y", 90)+"\r\n", 300) // 30 KB of header
	// The empty line straddles the first read of the body (8 KB).
	pad := "X-Pad: " + strings.Repeat("p", 8192-len("X-Pad: ")-len("\r\n")-1) + "\r\n"
	return []string{
		"Subject: plain\r\nX-Other: 1\r\n\r\nbody\r\n",
		"Subject: no empty line\r\nX-Other: 2\r\n",
		"Subject: no final line break",
		"\r\nthe header is empty\r\n",
		"Subject: long\r\n" + long + "\r\nbody after a long header\r\n",
		pad[1:] + "\r\nstraddling\r\n",
		"Subject: folded\r\n \r\n\tcontinued\r\nX-Other: 3\r\n\r\n\r\nbody with an empty first line\r\n",
		"Subject: only\r\n\r\n",
	}
}

// rootItems are the sections of a whole message that TestFetchRootSections
// and FuzzFetchRootSections fetch.
const rootItems = "BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT x-other)] BODY.PEEK[HEADER.FIELDS.NOT (Subject X-LONG X-Pad)] RFC822.HEADER RFC822.TEXT BODY.PEEK[HEADER]<3.10> BODY.PEEK[]<1.4>"

// wantRootSections is the FETCH response to rootItems for message seq,
// whose stored octets are m, as mime.Parse splits it.
func wantRootSections(t *testing.T, seq int, m string) string {
	t.Helper()
	root, err := mime.Parse(strings.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	header, text := m[:root.BodyStart], m[root.BodyStart:]
	lit := func(s string) string { return fmt.Sprintf("{%d}%s", len(s), s) }
	return fmt.Sprintf("%d FETCH (BODY[HEADER] %s BODY[TEXT] %s BODY[HEADER.FIELDS (SUBJECT x-other)] %s BODY[HEADER.FIELDS.NOT (Subject X-LONG X-Pad)] %s RFC822.HEADER %s RFC822.TEXT %s BODY[HEADER]<3> %s BODY[]<1> %s)",
		seq, lit(header), lit(text), lit(fields(header, true, "subject", "x-other")), lit(fields(header, false, "subject", "x-long", "x-pad")),
		lit(header), lit(text), lit(header[min(3, len(header)):min(13, len(header))]), lit(m[min(1, len(m)):min(5, len(m))]))
}

// TestFetchRootSections: BODY[HEADER], BODY[TEXT], HEADER.FIELDS(.NOT),
// RFC822.HEADER and RFC822.TEXT of a whole message are what mime.Parse
// says, and the same whether the FETCH loads the MIME tree (ENVELOPE
// asks for it) or finds the header's end in the body.
func TestFetchRootSections(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	msgs := rootSectionMessages()
	for _, m := range msgs {
		c.Append("INBOX", "", m)
	}
	c.MustOK("EXAMINE INBOX") // read-only: RFC822.TEXT sets no \Seen
	// Many messages in one FETCH, and each on its own.
	all := c.MustOK("FETCH 1:* (" + rootItems + ")")
	withTree := c.MustOK("FETCH 1:* (" + rootItems + " ENVELOPE)")
	if len(all.Untagged) != len(msgs) || len(withTree.Untagged) != len(msgs) {
		t.Fatalf("%d and %d responses for %d messages", len(all.Untagged), len(withTree.Untagged), len(msgs))
	}
	for i, m := range msgs {
		want := wantRootSections(t, i+1, m)
		if got := all.Untagged[i]; got != want {
			t.Errorf("message %d: %s", i+1, difference(got, want))
		}
		checkRootSections(t, c, i+1, want)
		want = strings.TrimSuffix(want, ")") + " ENVELOPE ("
		if got := withTree.Untagged[i]; !strings.HasPrefix(got, want) {
			t.Errorf("message %d with its tree: %s", i+1, difference(got[:min(len(got), len(want))], want))
		}
	}
}

// checkRootSections fetches rootItems of message seq alone, without and
// with its MIME tree, and compares them with want.
func checkRootSections(t *testing.T, c *imaptest.Client, seq int, want string) {
	t.Helper()
	one := c.MustOK(fmt.Sprintf("FETCH %d (%s)", seq, rootItems))
	if len(one.Untagged) != 1 || one.Untagged[0] != want {
		t.Errorf("message %d: %d responses, %s", seq, len(one.Untagged), difference(strings.Join(one.Untagged, "\n"), want))
	}
	tree := c.MustOK(fmt.Sprintf("FETCH %d (%s BODYSTRUCTURE)", seq, rootItems))
	want = strings.TrimSuffix(want, ")") + " BODYSTRUCTURE ("
	if len(tree.Untagged) != 1 || !strings.HasPrefix(tree.Untagged[0], want) {
		got := strings.Join(tree.Untagged, "\n")
		t.Errorf("message %d with its tree: %s", seq, difference(got[:min(len(got), len(want))], want))
	}
}

// FuzzFetchRootSections stores any message and checks its sections as
// TestFetchRootSections does.
func FuzzFetchRootSections(f *testing.F) {
	for _, m := range rootSectionMessages() {
		f.Add([]byte(m))
	}
	f.Add([]byte("A: b\n\nbare line feeds\n"))
	f.Add([]byte("\r\r\n\r\n"))
	env := imaptest.Start(f, imaptest.Options{})
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) == 0 || len(msg) > 64<<10 || bytes.IndexByte(msg, 0) >= 0 {
			t.Skip("APPEND takes no empty message, and NUL only in a literal8")
		}
		mu.Lock()
		defer mu.Unlock()
		c := imaptest.Login(t, env, "alice@example.org")
		defer c.Close()
		c.MustOK("SELECT INBOX")
		c.Append("INBOX", "", string(msg))
		defer c.MustOK("UID EXPUNGE 1:*")
		c.MustOK(`STORE 1:* +FLAGS.SILENT (\Deleted \Seen)`)
		// The message as stored: line ends become CRLF.
		r := c.MustOK("FETCH 1 BODY.PEEK[]")
		if len(r.Untagged) != 1 {
			t.Fatalf("FETCH BODY[]: %s", r)
		}
		const prefix = "1 FETCH (BODY[] {"
		line := r.Untagged[0]
		end := strings.IndexByte(line, '}')
		if !strings.HasPrefix(line, prefix) || end < 0 {
			t.Fatalf("FETCH BODY[]: %q", line)
		}
		n, err := strconv.Atoi(line[len(prefix):end])
		stored := line[end+1:]
		if err != nil || len(stored) != n+1 || stored[n] != ')' {
			t.Fatalf("FETCH BODY[]: %q", line)
		}
		stored = stored[:n]
		checkRootSections(t, c, 1, wantRootSections(t, 1, stored))
	})
}

// difference describes where got and want part, briefly.
func difference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-40)
	return fmt.Sprintf("%d and %d octets, differing at %d: got %q, want %q", len(got), len(want), i, got[from:min(len(got), i+40)], want[from:min(len(want), i+40)])
}

// fields keeps (or drops) the named fields of header, and its empty line.
func fields(header string, keep bool, names ...string) string {
	var out bytes.Buffer
	for _, f := range mime.ParseHeader([]byte(header)) {
		in := false
		for _, n := range names {
			in = in || strings.EqualFold(f.Name, n)
		}
		if in == keep {
			out.Write(f.Raw)
		}
	}
	if strings.HasSuffix(header, "\r\n\r\n") || header == "\r\n" {
		out.WriteString("\r\n")
	}
	return out.String()
}

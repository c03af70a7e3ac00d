package imap_test

import (
	"bufio"
	"compress/flate"
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
)

func TestCompressRefusals(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Dial(t, env.IMAPS, true)
	// Not before authentication.
	c.Expect("COMPRESS DEFLATE", "BAD")
	c = imaptest.Login(t, env, "alice@example.org")
	c.Expect("COMPRESS LZ4", "BAD")
	c.Expect("COMPRESS", "BAD")
	c.MustOK("NOOP")
}

// TestCompressGoFlate speaks DEFLATE with Go's compress/flate on both
// ends of the client, after the tagged OK, and checks that responses
// arrive flushed (each response is decodable on arrival).
func TestCompressGoFlate(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	c.MustOK("COMPRESS DEFLATE")
	conn := c.Conn()
	fw, _ := flate.NewWriter(conn, flate.DefaultCompression)
	br := bufio.NewReader(flate.NewReader(conn))
	send := func(s string) {
		fmt.Fprintf(fw, "%s\r\n", s)
		fw.Flush()
	}
	expect := func(tag string) []string {
		var lines []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading: %v after %q", err, lines)
			}
			lines = append(lines, l)
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %q", tag, lines)
				}
				return lines
			}
		}
	}
	send("b SELECT INBOX")
	expect("b")
	msg := "Subject: squeezed\r\n\r\nhello\r\n"
	send(fmt.Sprintf("c APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	expect("c")
	send("d FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
	lines := expect("d")
	if !strings.Contains(strings.Join(lines, ""), "Subject: squeezed") {
		t.Errorf("fetch: %q", lines)
	}
	send("e LOGOUT")
	expect("e")
}

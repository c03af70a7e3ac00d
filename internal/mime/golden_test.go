package mime

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

// TestParseGolden runs the cases in testdata/parse. A case file is:
//
//	# comment lines; "# lf" keeps bare LF line ends (else LF becomes CRLF),
//	# "# nofinalnewline" drops the line end after the last message line
//	message lines
//	----
//	expected dump (see dumpTree)
//
// go test -run TestParseGolden -update rewrites the expected dumps, which
// must then be reviewed by eye.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			sep := strings.Index(text, "\n----\n")
			if sep < 0 {
				t.Fatalf("no ---- separator")
			}
			head, want := text[:sep+1], text[sep+len("\n----\n"):]
			var lf, noFinal bool
			var msgLines []string
			inComments := true
			for _, line := range strings.SplitAfter(head, "\n") {
				if line == "" {
					continue
				}
				if inComments && strings.HasPrefix(line, "#") {
					lf = lf || strings.TrimSpace(line) == "# lf"
					noFinal = noFinal || strings.TrimSpace(line) == "# nofinalnewline"
					continue
				}
				inComments = false
				msgLines = append(msgLines, line)
			}
			msg := strings.Join(msgLines, "")
			if noFinal {
				msg = strings.TrimSuffix(msg, "\n")
			}
			if !lf {
				msg = strings.ReplaceAll(msg, "\n", "\r\n")
			}
			raw := []byte(msg)
			root := parseChecked(t, raw)
			exercise(t, raw, root)
			got := dumpTree(raw, root)
			if *update {
				out := text[:sep] + "\n----\n" + got
				if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("dump differs\n--- got:\n%s--- want:\n%s", got, want)
			}
		})
	}
}

// dumpTree renders a parsed message for golden files: one block per part
// in Walk order, with the exact header and body bytes the offsets select.
func dumpTree(raw []byte, root *Part) string {
	var b bytes.Buffer
	var dump func(p *Part, path string)
	dump = func(p *Part, path string) {
		fmt.Fprintf(&b, "%s %s/%s", path, p.Type, p.Subtype)
		for _, pr := range p.Params {
			fmt.Fprintf(&b, " %s=%q", pr.Name, pr.Value)
		}
		fmt.Fprintf(&b, " lines=%d\n", p.Lines)
		if p.Encoding != "" {
			fmt.Fprintf(&b, "  enc: %s\n", p.Encoding)
		}
		if p.ID != "" || p.Description != "" || p.MD5 != "" || p.Location != "" {
			fmt.Fprintf(&b, "  id=%q desc=%q md5=%q loc=%q\n", p.ID, p.Description, p.MD5, p.Location)
		}
		if p.Disposition != "" {
			fmt.Fprintf(&b, "  disp: %s", p.Disposition)
			for _, pr := range p.DispParams {
				fmt.Fprintf(&b, " %s=%q", pr.Name, pr.Value)
			}
			b.WriteString("\n")
		}
		if len(p.Language) > 0 {
			fmt.Fprintf(&b, "  lang: %q\n", p.Language)
		}
		fmt.Fprintf(&b, "  header: %q\n", raw[p.HeaderStart:p.BodyStart])
		if p.Type != "multipart" && p.Message == nil {
			fmt.Fprintf(&b, "  body: %q\n", raw[p.BodyStart:p.BodyEnd])
		} else {
			fmt.Fprintf(&b, "  body: %d bytes\n", p.BodyEnd-p.BodyStart)
		}
		if e := p.Envelope; e != nil {
			fmt.Fprintf(&b, "  env: date=%q subject=%q mid=%q irt=%q\n", e.Date, e.Subject, e.MessageID, e.InReplyTo)
			fmt.Fprintf(&b, "       from=%s sender=%s reply-to=%s\n", fmtAddrs(e.From), fmtAddrs(e.Sender), fmtAddrs(e.ReplyTo))
			fmt.Fprintf(&b, "       to=%s cc=%s bcc=%s\n", fmtAddrs(e.To), fmtAddrs(e.Cc), fmtAddrs(e.Bcc))
		}
		for i, c := range p.Parts {
			dump(c, fmt.Sprintf("%s.%d", path, i+1))
		}
		if p.Message != nil {
			dump(p.Message, path+".msg")
		}
	}
	dump(root, "root")
	return b.String()
}

// fmtAddrs renders addresses compactly: ("name" adl mailbox@host), groups
// as group("name": ... ;).
func fmtAddrs(as []Address) string {
	if as == nil {
		return "nil"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, a := range as {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fmtAddr(a))
	}
	b.WriteByte(']')
	return b.String()
}

func fmtAddr(a Address) string {
	switch {
	case a.Group && a.Mailbox != "":
		return fmt.Sprintf("group(%q:", a.Mailbox)
	case a.Group:
		return ";)"
	}
	s := "("
	if a.Name != "" {
		s += fmt.Sprintf("%q ", a.Name)
	}
	if a.Adl != "" {
		s += a.Adl + " "
	}
	return s + a.Mailbox + "@" + a.Host + ")"
}

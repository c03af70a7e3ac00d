package clienttest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-smtp"

	"postfach/internal/imaptest"
	"postfach/internal/pop3/pop3test"
)

// Paths of the POP3 downloaders: the Debian packages fetchmail and
// getmail6, which CI installs.
const (
	fetchmailPath = "/usr/bin/fetchmail"
	getmailPath   = "/usr/bin/getmail"
)

// downloadTimeout bounds one run of a downloader over 1,000 messages,
// with the server under the race detector.
const downloadTimeout = 5 * time.Minute

// pop3Count is how many messages the download tests start with.
const pop3Count = 1000

// downloader is a real POP3 client set up in a directory of its own,
// which delivers what it fetches into files.
type downloader struct {
	t    *testing.T
	name string
	dir  string
	// run runs the client once.
	run func() string
	// outDir holds one file per delivered message.
	outDir string
	// seen maps Message-ID numbers to how often they were delivered.
	seen map[int]int
}

func writeTemplate(t *testing.T, tmpl, path string, vars map[string]any, mode os.FileMode) {
	t.Helper()
	tp, err := template.ParseFiles(filepath.Join("testdata", tmpl))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tp.Execute(&b, vars); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), mode); err != nil {
		t.Fatal(err)
	}
}

// newFetchmail sets up fetchmail with keep or not, over implicit TLS or
// STLS.
func newFetchmail(t *testing.T, env *pop3test.Env, keep, implicit bool) *downloader {
	bin := requireClient(t, fetchmailPath, "fetchmail")
	d := &downloader{t: t, name: "fetchmail", dir: t.TempDir(), seen: map[int]int{}}
	d.outDir = filepath.Join(d.dir, "out")
	if err := os.Mkdir(d.outDir, 0o700); err != nil {
		t.Fatal(err)
	}
	local := "root"
	if u, err := user.Current(); err == nil {
		local = u.Username
	}
	addr := env.POP3
	if implicit {
		addr = env.POP3S
	}
	rc := filepath.Join(d.dir, "fetchmailrc")
	writeTemplate(t, "pop3_fetchmailrc.tmpl", rc, map[string]any{
		"Port": port(t, addr), "User": "alice@example.org", "Pass": imaptest.Password, "Local": local,
		"Implicit": implicit, "CertFile": env.CertFile(), "Keep": keep, "Dir": d.dir,
	}, 0o600)
	d.run = func() string {
		out, err := execClient(downloadTimeout, d.dir, bin, "-f", rc, "-i", filepath.Join(d.dir, "fetchids"), "--nosyslog", "-v")
		// Exit status 1 is fetchmail's "no mail".
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
			t.Fatalf("fetchmail: %v\n%s", err, tail(out))
		}
		if !implicit && !strings.Contains(out, "POP3> STLS") {
			t.Fatalf("fetchmail did not use STLS:\n%s", tail(out))
		}
		return out
	}
	return d
}

// newGetmail sets up getmail6 with read_all = false, deleting or not.
func newGetmail(t *testing.T, env *pop3test.Env, keep bool) *downloader {
	bin := requireClient(t, getmailPath, "getmail6")
	d := &downloader{t: t, name: "getmail", dir: t.TempDir(), seen: map[int]int{}}
	d.outDir = filepath.Join(d.dir, "out")
	if err := os.Mkdir(d.outDir, 0o700); err != nil {
		t.Fatal(err)
	}
	gdir := filepath.Join(d.dir, "getmail")
	if err := os.Mkdir(gdir, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(gdir, "getmailrc")
	writeTemplate(t, "pop3_getmailrc.tmpl", rc, map[string]any{
		"Port": port(t, env.POP3S), "User": "alice@example.org", "Pass": imaptest.Password,
		"CertFile": env.CertFile(), "Keep": keep, "LMTP": startLMTPSink(t, d.dir, d.outDir),
	}, 0o600)
	d.run = func() string {
		return runClient(t, downloadTimeout, d.dir, bin, "--rcfile", rc, "--getmaildir", gdir)
	}
	return d
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

var messageIDRE = regexp.MustCompile(`(?m)^Message-ID: <pop3-(\d+)@example\.net>\r?$`)

// fetch runs the client once and returns the numbers of the messages it
// delivered, after checking each against what was stored.
func (d *downloader) fetch() []int {
	t := d.t
	t.Helper()
	before := map[string]bool{}
	entries, err := os.ReadDir(d.outDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		before[e.Name()] = true
	}
	start := time.Now()
	out := d.run()
	elapsed := time.Since(start)
	entries, err = os.ReadDir(d.outDir)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, e := range entries {
		if before[e.Name()] {
			continue
		}
		data, err := os.ReadFile(filepath.Join(d.outDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m := messageIDRE.FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s delivered a message without our Message-ID: %.300q", d.name, data)
		}
		n, _ := strconv.Atoi(string(m[1]))
		// The clients store LF line endings and may add header fields
		// on top; the message itself must be there whole.
		want := bytes.TrimRight(bytes.ReplaceAll([]byte(pop3Message(n)), []byte("\r\n"), []byte("\n")), "\n")
		have := bytes.TrimRight(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), "\n")
		if !bytes.HasSuffix(have, want) {
			t.Fatalf("%s: message %d arrived altered:\n%.400q\nwant the end to be\n%.400q", d.name, n, have[max(0, len(have)-400):], want[max(0, len(want)-400):])
		}
		d.seen[n]++
		if d.seen[n] > 1 {
			t.Fatalf("%s downloaded message %d twice", d.name, n)
		}
		got = append(got, n)
	}
	t.Logf("%s: %d messages in %v", d.name, len(got), elapsed.Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("%s output:\n%s", d.name, tail(out))
	}
	return got
}

// runKeep: a first run fetches every message and leaves them on the
// server; a second fetches nothing; after three new messages arrive, a
// third fetches exactly those.
func runKeep(t *testing.T, env *pop3test.Env, d *downloader) {
	pop3Fill(t, env, "alice@example.org", 0, pop3Count)
	if got := d.fetch(); len(got) != pop3Count {
		t.Fatalf("first run fetched %d messages, want %d", len(got), pop3Count)
	}
	if n := pop3Inbox(t, env, "alice@example.org"); n != pop3Count {
		t.Fatalf("INBOX holds %d messages after a keep run, want %d", n, pop3Count)
	}
	if got := d.fetch(); len(got) != 0 {
		t.Fatalf("second run fetched %d messages again: %v", len(got), got[:min(len(got), 10)])
	}
	pop3Fill(t, env, "alice@example.org", pop3Count, 3)
	got := d.fetch()
	if len(got) != 3 {
		t.Fatalf("third run fetched %d messages, want the 3 new ones", len(got))
	}
	for _, n := range got {
		if n < pop3Count {
			t.Fatalf("third run fetched old message %d", n)
		}
	}
}

// runDelete: a first run fetches and deletes every message; INBOX is
// empty for IMAP too; a second run fetches nothing.
func runDelete(t *testing.T, env *pop3test.Env, d *downloader) {
	pop3Fill(t, env, "alice@example.org", 0, pop3Count)
	if got := d.fetch(); len(got) != pop3Count {
		t.Fatalf("first run fetched %d messages, want %d", len(got), pop3Count)
	}
	if n := pop3Inbox(t, env, "alice@example.org"); n != 0 {
		t.Fatalf("INBOX holds %d messages after a delete run", n)
	}
	if got := d.fetch(); len(got) != 0 {
		t.Fatalf("second run fetched %d messages", len(got))
	}
}

// TestPOP3FetchmailKeep: fetchmail with keep and uidl, over STLS.
func TestPOP3FetchmailKeep(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	runKeep(t, env, newFetchmail(t, env, true, false))
}

// TestPOP3FetchmailDelete: fetchmail deleting what it fetched, over
// implicit TLS.
func TestPOP3FetchmailDelete(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	runDelete(t, env, newFetchmail(t, env, false, true))
}

// TestPOP3GetmailKeep: getmail6 with read_all = false, leaving mail on
// the server.
func TestPOP3GetmailKeep(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	runKeep(t, env, newGetmail(t, env, true))
}

// TestPOP3GetmailDelete: getmail6 with read_all = false and delete.
func TestPOP3GetmailDelete(t *testing.T) {
	env := pop3test.Start(t, imaptest.Options{})
	runDelete(t, env, newGetmail(t, env, false))
}

// startLMTPSink serves LMTP on a unix socket in dir and writes every
// message delivered to it to a file of its own in out; it returns the
// socket's path. It is getmail's local delivery agent here.
func startLMTPSink(t *testing.T, dir, out string) string {
	t.Helper()
	path := filepath.Join(dir, "lmtp.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &lmtpSession{write: func(r io.Reader) error {
			data, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(out, fmt.Sprintf("msg.%d", n.Add(1))), data, 0o600)
		}}, nil
	}))
	s.LMTP = true
	s.Domain = "localhost"
	s.MaxMessageBytes = 64 << 20
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return path
}

// lmtpSession accepts any sender and recipient.
type lmtpSession struct {
	write func(io.Reader) error
}

func (s *lmtpSession) Reset()                                         {}
func (s *lmtpSession) Logout() error                                  { return nil }
func (s *lmtpSession) Mail(from string, opts *smtp.MailOptions) error { return nil }
func (s *lmtpSession) Rcpt(to string, opts *smtp.RcptOptions) error   { return nil }
func (s *lmtpSession) Data(r io.Reader) error                         { return s.write(r) }

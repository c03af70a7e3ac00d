package clienttest

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/imaptest"
)

// mbsyncTimeout bounds one mbsync run; the 1,000-message sync takes a few
// seconds even with the server under the race detector.
const mbsyncTimeout = 5 * time.Minute

// mbsyncStats is mbsync's closing progress line: "C: 1/1  B: 9/9  F: +400/400
// *0/0 #0/0  N: +600/600 *0/0 #0/0". F counts what it did on the far side
// (the server), N on the near side (the Maildir): + new messages, *
// flag changes (propagated deletions among them), # messages trashed.
type mbsyncStats struct {
	Channels, Boxes int
	Far, Near       mbsyncCounts
}

type mbsyncCounts struct{ New, Flags, Trashed int }

var statsRE = regexp.MustCompile(`C: (\d+)/(\d+)  B: (\d+)/(\d+)  F: \+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)  N: \+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)`)

// parseStats reads the last progress line, and checks that every counter
// reached its total (mbsync did all it set out to do).
func parseStats(out string) (mbsyncStats, error) {
	all := statsRE.FindAllStringSubmatch(out, -1)
	if all == nil {
		return mbsyncStats{}, fmt.Errorf("no progress counters in mbsync's output")
	}
	m := all[len(all)-1]
	n := make([]int, len(m)-1)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	for i := 0; i < len(n); i += 2 {
		if n[i] != n[i+1] {
			return mbsyncStats{}, fmt.Errorf("mbsync stopped before finishing: %q", m[0])
		}
	}
	return mbsyncStats{
		Channels: n[0], Boxes: n[2],
		Far:  mbsyncCounts{New: n[4], Flags: n[6], Trashed: n[8]},
		Near: mbsyncCounts{New: n[10], Flags: n[12], Trashed: n[14]},
	}, nil
}

func TestParseStats(t *testing.T) {
	out := "C: 0/1  B: 0/0  F: +0/0 *0/0 #0/0  N: +0/0 *0/0 #0/0\r" +
		"C: 0/1  B: 3/9  F: +12/400 *0/0 #0/0  N: +0/600 *0/0 #0/0\r" +
		"C: 1/1  B: 9/9  F: +403/403 *2/2 #1/1  N: +605/605 *3/3 #4/4\r\n"
	got, err := parseStats(out)
	want := mbsyncStats{1, 9, mbsyncCounts{403, 2, 1}, mbsyncCounts{605, 3, 4}}
	if err != nil || got != want {
		t.Errorf("parseStats = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStats("C: 0/1  B: 3/9  F: +12/400 *0/0 #0/0  N: +0/600 *0/0 #0/0\r\n"); err == nil {
		t.Error("an unfinished run parsed without error")
	}
	if _, err := parseStats("Error: cannot connect\n"); err == nil {
		t.Error("output without counters parsed without error")
	}
}

// mbsyncSetup is a server account and a local Maildir tree, with an
// mbsyncrc joining them.
type mbsyncSetup struct {
	t      *testing.T
	env    *imaptest.Env
	dir    string // HOME; mbsyncrc and the Maildirs live here
	rc     string
	inbox  string // the local INBOX
	mail   string // the local root of the other folders
	mbsync string
}

// mbsyncOptions vary the connection; the zero value is implicit TLS with
// the server's own certificate pinned.
type mbsyncOptions struct {
	StartTLS bool
	CertFile string
}

func newMbsyncSetup(t *testing.T, env *imaptest.Env, opts mbsyncOptions) *mbsyncSetup {
	t.Helper()
	s := &mbsyncSetup{t: t, env: env, dir: t.TempDir(), mbsync: requireClient(t, mbsyncPath, "isync")}
	s.inbox = filepath.Join(s.dir, "inbox")
	s.mail = filepath.Join(s.dir, "mail")
	s.rc = filepath.Join(s.dir, "mbsyncrc")
	makeMaildir(t, s.inbox)
	if err := os.MkdirAll(s.mail, 0o700); err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "mbsyncrc.tmpl")))
	var b bytes.Buffer
	vars := map[string]string{
		"SSLType": "IMAPS", "Port": port(t, env.IMAPS), "CertFile": env.CertFile(),
		"User": "alice@example.org", "Pass": imaptest.Password, "Dir": s.dir,
	}
	if opts.StartTLS {
		vars["SSLType"], vars["Port"] = "STARTTLS", port(t, env.IMAP)
	}
	if opts.CertFile != "" {
		vars["CertFile"] = opts.CertFile
	}
	err := tmpl.Execute(&b, vars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.rc, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs "mbsync -a" on a terminal.
func (s *mbsyncSetup) run() (tty, stderr string, err error) {
	return execOnPTY(mbsyncTimeout, s.dir, s.mbsync, "-c", s.rc, "-a")
}

// sync runs mbsync and returns its counters; it must succeed.
func (s *mbsyncSetup) sync(what string) mbsyncStats {
	s.t.Helper()
	start := time.Now()
	tty, stderr, err := s.run()
	took := time.Since(start)
	if err != nil {
		s.t.Fatalf("mbsync (%s): %v\nstdout: %s\nstderr: %s", what, err, tty, stderr)
	}
	stats, err := parseStats(tty)
	if err != nil {
		s.t.Fatalf("mbsync (%s): %v\nstdout: %q\nstderr: %s", what, err, tty, stderr)
	}
	if stderr != "" {
		s.t.Logf("mbsync (%s) warned: %s", what, stderr)
	}
	s.t.Logf("mbsync (%s): %v; far side %+v, near side %+v, %d boxes", what, took.Round(time.Millisecond), stats.Far, stats.Near, stats.Boxes)
	return stats
}

// serverMessage is what the server holds for one message.
type serverMessage struct {
	UID   imap.UID
	Flags []imap.Flag
	Date  time.Time
	Size  int64
}

// serverMailbox lists a mailbox's messages by Message-ID, with its status.
func serverMailbox(t testing.TB, c *imapclient.Client, name string) (map[string]serverMessage, *imap.StatusData) {
	t.Helper()
	st := must[*imap.StatusData](t, "STATUS "+name)(c.Status(name, &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true}).Wait())
	out := map[string]serverMessage{}
	if *st.NumMessages == 0 {
		return out, st
	}
	must[*imap.SelectData](t, "EXAMINE "+name)(c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait())
	idField := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "UID FETCH "+name)(c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{idField},
	}).Collect())
	for _, b := range bufs {
		id := msgIDRE.FindSubmatch(b.FindBodySection(idField))
		if id == nil {
			t.Fatalf("%s UID %d: no Message-ID", name, b.UID)
		}
		if _, dup := out[string(id[1])]; dup {
			t.Fatalf("%s: Message-ID %s twice", name, id[1])
		}
		var flags []imap.Flag
		for _, f := range b.Flags {
			if f != "\\Recent" {
				flags = append(flags, f)
			}
		}
		out[string(id[1])] = serverMessage{UID: b.UID, Flags: flags, Date: b.InternalDate, Size: b.RFC822Size}
	}
	mustOK(t, "UNSELECT", c.Unselect().Wait())
	return out, st
}

// serverState is everything a sync could change on the server: each
// mailbox's status and each message's UID and flags. It is read with the
// raw transcript client, which passes names back exactly as LIST gave
// them (modified UTF-7), whatever they contain.
func serverState(t testing.TB, env *imaptest.Env) map[string]string {
	t.Helper()
	c := imaptest.Login(t, env, "alice@example.org")
	defer c.Close()
	out := map[string]string{}
	for _, line := range c.MustOK(`LIST "" "*"`).Untagged {
		m := listLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("LIST line %q", line)
		}
		name := m[1]
		st := c.MustOK("STATUS " + name + " (MESSAGES UIDNEXT UIDVALIDITY)")
		out[name] = st.Find("STATUS ")
		c.MustOK("EXAMINE " + name)
		if strings.Contains(out[name], "MESSAGES 0 ") {
			continue
		}
		for _, f := range c.MustOK("UID FETCH 1:* (UID FLAGS)").Untagged {
			if !strings.Contains(f, " FETCH ") {
				continue
			}
			// Drop the sequence number and \Recent, which are this
			// session's view, not the mailbox's state.
			_, rest, _ := strings.Cut(f, " ")
			out[name+" "+strings.ReplaceAll(strings.ReplaceAll(rest, ` \Recent`, ""), `\Recent`, "")] = ""
		}
	}
	return out
}

// listLineRE takes the name out of a LIST response line; the name is the
// last item, an atom or a quoted string, kept as sent.
var listLineRE = regexp.MustCompile(`^LIST \([^)]*\) (?:"/"|NIL) ("(?:[^"\\]|\\.)*"|[^ "]+)$`)

// maildirFlags maps IMAP flags to Maildir letters, as mbsync does.
func maildirFlags(flags []imap.Flag) string {
	var b []byte
	for _, f := range flags {
		switch strings.ToLower(string(f)) {
		case `\draft`:
			b = append(b, 'D')
		case `\flagged`:
			b = append(b, 'F')
		case `\answered`:
			b = append(b, 'R')
		case `\seen`:
			b = append(b, 'S')
		case `\deleted`:
			b = append(b, 'T')
		}
	}
	return sortFlags(string(b))
}

// The scenario's sizes: the issue asks for 1,000 messages in two-way sync.
const (
	serverCount = 600
	localCount  = 400
)

func serverFlags(i int) []imap.Flag {
	var f []imap.Flag
	if i%3 == 0 {
		f = append(f, imap.FlagSeen)
	}
	if i%7 == 0 {
		f = append(f, imap.FlagFlagged)
	}
	if i%11 == 0 {
		f = append(f, imap.FlagAnswered)
	}
	return f
}

// localFlags gives local message j its Maildir place and flags: unread
// mail waits in new/, read mail is in cur/.
func localFlags(j int) (cur bool, flags string) {
	switch {
	case j%4 == 0:
		return true, "S"
	case j%4 == 1 && j%3 == 0:
		return true, "FS"
	case j%4 == 2:
		return true, "" // seen by a client, not read: ":2,"
	}
	return false, ""
}

func arrival(i int) time.Time {
	return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 17 * time.Minute)
}

// TestMbsyncTwoWay is the proof: mbsync from Debian's isync keeps
// a Maildir and the server in two-way sync. 600 messages start on the
// server and 400 in the Maildir; one run brings both sides to all 1,000,
// byte for byte, flags and arrival dates included. Then a flag changes on
// each side, and the next run carries each change over; the run after it
// transfers nothing, by mbsync's own count and by the state of both
// sides. Folders made on either side appear on the other, and deletions
// (a file removed, a message expunged on the server, a message marked
// trashed) propagate, with Expunge Both.
func TestMbsyncTwoWay(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	s := newMbsyncSetup(t, env, mbsyncOptions{})
	c := goLogin(t, env, "alice@example.org", nil)

	// The server side: 600 messages in INBOX, over IMAP with LITERAL+,
	// and a folder with an inferior.
	start := time.Now()
	far := corpus(1001, serverCount)
	appendMessages(t, c, "INBOX", far, func(i int) *imap.AppendOptions {
		return &imap.AppendOptions{Flags: serverFlags(i), Time: arrival(i)}
	})
	farFolder := corpus(3003, 5)
	mustOK(t, "CREATE", c.Create("Projects/Alpha", nil).Wait())
	appendMessages(t, c, "Projects/Alpha", farFolder, nil)
	t.Logf("appended %d messages over IMAP in %v", serverCount+len(farFolder), time.Since(start).Round(time.Millisecond))

	// The local side: 400 messages delivered into the Maildir INBOX, and
	// a folder below a plain directory.
	near := corpus(2002, localCount)
	for j, m := range near {
		cur, flags := localFlags(j)
		deliverMaildir(t, s.inbox, j, m.Raw, cur, flags, arrival(1000+j))
	}
	nearFolder := corpus(4004, 3)
	listDir := filepath.Join(s.mail, "Lists", "golang-nuts")
	makeMaildir(t, listDir)
	for j, m := range nearFolder {
		deliverMaildir(t, listDir, 5000+j, m.Raw, true, "S", arrival(2000+j))
	}

	// First run: everything, both ways.
	start = time.Now()
	st := s.sync("first, 1,000 messages")
	t.Logf("TIMING: the first two-way sync of %d messages took %v", serverCount+localCount, time.Since(start).Round(time.Millisecond))
	wantFar := mbsyncCounts{New: localCount + len(nearFolder)}
	wantNear := mbsyncCounts{New: serverCount + len(farFolder)}
	if st.Far != wantFar || st.Near != wantNear {
		t.Errorf("first run: far %+v near %+v, want %+v and %+v", st.Far, st.Near, wantFar, wantNear)
	}

	// Both INBOXes hold all 1,000 messages.
	srv, status := serverMailbox(t, c, "INBOX")
	local := readMaildir(t, s.inbox)
	if len(srv) != serverCount+localCount || *status.NumMessages != serverCount+localCount || len(local) != serverCount+localCount {
		t.Fatalf("after the first run: server %d (STATUS %d), Maildir %d; want %d each", len(srv), *status.NumMessages, len(local), serverCount+localCount)
	}
	if status.UIDNext != imap.UID(serverCount+localCount+1) {
		t.Errorf("UIDNEXT %d after %d appends", status.UIDNext, serverCount+localCount)
	}
	// Server messages arrived in the Maildir byte for byte (with LF line
	// ends and mbsync's X-TUID), flags as Maildir letters, the internal
	// date as mtime.
	for i, m := range far {
		l := local[m.MessageID]
		if l == nil {
			t.Fatalf("server message %d (%s) is not in the Maildir", i, m.MessageID)
		}
		if got := withoutTUID(l.Content); !bytes.Equal(got, toLF(m.Raw)) {
			t.Fatalf("server message %d arrived changed in %s:\n%q\nwant\n%q", i, l.Path, head(got), head(toLF(m.Raw)))
		}
		if want := maildirFlags(serverFlags(i)); l.Flags != want || l.UID == 0 {
			t.Errorf("server message %d: %s has flags %q, want %q, and a UID", i, l.Path, l.Flags, want)
		}
		if !l.ModTime.Equal(arrival(i)) {
			t.Errorf("server message %d: mtime %v, want the internal date %v", i, l.ModTime, arrival(i))
		}
	}
	// Local messages arrived on the server byte for byte (CRLF, and
	// X-TUID), flags as IMAP flags, the mtime as internal date.
	var nearUIDs imap.UIDSet
	for j, m := range near {
		sm, ok := srv[m.MessageID]
		if !ok {
			t.Fatalf("local message %d (%s) is not on the server", j, m.MessageID)
		}
		nearUIDs.AddNum(sm.UID)
		_, flags := localFlags(j)
		if got := maildirFlags(sm.Flags); got != sortFlags(flags) {
			t.Errorf("local message %d: server flags %v, want %q", j, sm.Flags, flags)
		}
		if !sm.Date.Equal(arrival(1000 + j)) {
			t.Errorf("local message %d: INTERNALDATE %v, want the mtime %v", j, sm.Date, arrival(1000+j))
		}
	}
	checkServerBodies(t, c, "INBOX", nearUIDs, near)

	// Folders made on one side exist on the other.
	if got := readMaildir(t, filepath.Join(s.mail, "Projects", "Alpha")); len(got) != len(farFolder) {
		t.Errorf("local Projects/Alpha has %d messages, want %d", len(got), len(farFolder))
	}
	if got, _ := serverMailbox(t, c, "Lists/golang-nuts"); len(got) != len(nearFolder) {
		t.Errorf("server Lists/golang-nuts has %d messages, want %d", len(got), len(nearFolder))
	}
	for _, box := range []string{"Sent", "Trash", "Drafts", "Junk", "Archive", "Projects"} {
		if _, err := os.Stat(filepath.Join(s.mail, box, "cur")); err != nil {
			t.Errorf("server folder %s was not created locally: %v", box, err)
		}
	}

	// A flag change on each side: locally a server message is flagged
	// (a rename, as a Maildir client does it); on the server a local
	// message is flagged and marked answered.
	localChange := far[1] // no flags on the server
	l := local[localChange.MessageID]
	renamed := strings.TrimSuffix(l.Path, ":2,"+l.Flags)
	renamed = strings.Replace(renamed, "new/", "cur/", 1) + ":2," + sortFlags(l.Flags+"FS")
	if err := os.Rename(filepath.Join(s.inbox, l.Path), filepath.Join(s.inbox, renamed)); err != nil {
		t.Fatal(err)
	}
	serverChange := near[1] // in new/, unflagged
	must[*imap.SelectData](t, "SELECT")(c.Select("INBOX", nil).Wait())
	mustOK(t, "UID STORE", c.Store(imap.UIDSetNum(srv[serverChange.MessageID].UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, imap.FlagAnswered}}, nil).Close())
	mustOK(t, "UNSELECT", c.Unselect().Wait())

	st = s.sync("second, after a flag change on each side")
	if want := (mbsyncCounts{Flags: 1}); st.Far != want || st.Near != want {
		t.Errorf("second run: far %+v near %+v, want one flag change each", st.Far, st.Near)
	}
	srv, _ = serverMailbox(t, c, "INBOX")
	if got := maildirFlags(srv[localChange.MessageID].Flags); got != "FS" {
		t.Errorf("the local flag change reached the server as %v", srv[localChange.MessageID].Flags)
	}
	local = readMaildir(t, s.inbox)
	if got := local[serverChange.MessageID].Flags; got != "FR" {
		t.Errorf("the server flag change reached the Maildir as %q (%s)", got, local[serverChange.MessageID].Path)
	}

	// Third run: nothing to do, and nothing done.
	beforeServer := serverState(t, env)
	beforeLocal := treeSnapshot(t, s.dir)
	st = s.sync("third, nothing to do")
	if st.Far != (mbsyncCounts{}) || st.Near != (mbsyncCounts{}) {
		t.Errorf("third run transferred something: far %+v near %+v", st.Far, st.Near)
	}
	if d := diffStates(beforeServer, serverState(t, env)); len(d) > 0 {
		t.Errorf("third run changed the server:\n%s", strings.Join(d, "\n"))
	}
	if d := diffStates(beforeLocal, treeSnapshot(t, s.dir)); len(d) > 0 {
		t.Errorf("third run changed the Maildir:\n%s", strings.Join(d, "\n"))
	}

	// Deletions: a file removed locally, a message expunged on the
	// server, a message marked trashed locally (Expunge Both removes it
	// on both sides).
	removed, expunged, trashed := far[2], near[2], far[3]
	if err := os.Remove(filepath.Join(s.inbox, local[removed.MessageID].Path)); err != nil {
		t.Fatal(err)
	}
	tp := local[trashed.MessageID].Path
	tpNew := tp + "T"
	if !strings.Contains(tp, ":2,") {
		tpNew = tp + ":2,T"
	}
	if err := os.Rename(filepath.Join(s.inbox, tp), filepath.Join(s.inbox, tpNew)); err != nil {
		t.Fatal(err)
	}
	must[*imap.SelectData](t, "SELECT")(c.Select("INBOX", nil).Wait())
	uid := srv[expunged.MessageID].UID
	mustOK(t, "UID STORE", c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	must[[]uint32](t, "UID EXPUNGE")(c.UIDExpunge(imap.UIDSetNum(uid)).Collect())
	mustOK(t, "UNSELECT", c.Unselect().Wait())

	st = s.sync("fourth, after deletions")
	// mbsync 1.4 propagates a deletion as the \Deleted flag (T in the
	// Maildir), and counts it as a flag change, before it expunges: two
	// reach the server (the removed and the trashed message), one the
	// Maildir.
	if st.Far != (mbsyncCounts{Flags: 2}) || st.Near != (mbsyncCounts{Flags: 1}) {
		t.Errorf("fourth run: far %+v near %+v", st.Far, st.Near)
	}
	srv, status = serverMailbox(t, c, "INBOX")
	local = readMaildir(t, s.inbox)
	const left = serverCount + localCount - 3
	if len(srv) != left || len(local) != left {
		t.Errorf("after deletions: server %d, Maildir %d; want %d each", len(srv), len(local), left)
	}
	for _, m := range []*corpusMessage{removed, expunged, trashed} {
		if _, ok := srv[m.MessageID]; ok {
			t.Errorf("%s is still on the server", m.MessageID)
		}
		if _, ok := local[m.MessageID]; ok {
			t.Errorf("%s is still in the Maildir", m.MessageID)
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(srv)), slices.Sorted(maps.Keys(local))) {
		t.Error("server and Maildir hold different messages")
	}

	// And once more: a settled state stays settled.
	beforeServer = serverState(t, env)
	beforeLocal = treeSnapshot(t, s.dir)
	st = s.sync("fifth, nothing to do")
	if st.Far != (mbsyncCounts{}) || st.Near != (mbsyncCounts{}) {
		t.Errorf("fifth run transferred something: far %+v near %+v", st.Far, st.Near)
	}
	if d := diffStates(beforeServer, serverState(t, env)); len(d) > 0 {
		t.Errorf("fifth run changed the server:\n%s", strings.Join(d, "\n"))
	}
	if d := diffStates(beforeLocal, treeSnapshot(t, s.dir)); len(d) > 0 {
		t.Errorf("fifth run changed the Maildir:\n%s", strings.Join(d, "\n"))
	}
}

// checkServerBodies fetches the messages mbsync uploaded and compares
// them with the Maildir originals: CRLF line ends, mbsync's X-TUID, and
// nothing else changed.
func checkServerBodies(t *testing.T, c *imapclient.Client, mailbox string, uids imap.UIDSet, want []*corpusMessage) {
	t.Helper()
	byID := map[string]*corpusMessage{}
	for _, m := range want {
		byID[m.MessageID] = m
	}
	must[*imap.SelectData](t, "EXAMINE")(c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait())
	whole := &imap.FetchItemBodySection{Peek: true}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "UID FETCH BODY.PEEK[]")(c.Fetch(uids, &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{whole}}).Collect())
	if len(bufs) != len(want) {
		t.Fatalf("fetched %d bodies, want %d", len(bufs), len(want))
	}
	for _, b := range bufs {
		body := b.FindBodySection(whole)
		id := msgIDRE.FindSubmatch(body)
		if id == nil || byID[string(id[1])] == nil {
			t.Fatalf("UID %d: unknown message", b.UID)
		}
		m := byID[string(id[1])]
		if got := withoutTUID(toLF(body)); !bytes.Equal(got, toLF(m.Raw)) || !bytes.Equal(body, toCRLF(body)) {
			t.Fatalf("UID %d (%s) differs from the Maildir file:\n%q\nwant\n%q", b.UID, m.MessageID, head(body), head(m.Raw))
		}
		if b.RFC822Size != int64(len(body)) {
			t.Errorf("UID %d: RFC822.SIZE %d, body %d bytes", b.UID, b.RFC822Size, len(body))
		}
	}
	mustOK(t, "UNSELECT", c.Unselect().Wait())
}

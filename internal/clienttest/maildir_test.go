package clienttest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// A Maildir as mbsync and mail delivery agents keep it: messages in new/
// and cur/, one file each, with LF line endings; the flags are the
// letters after ":2," in the name (https://cr.yp.to/proto/maildir.html),
// and mbsync's UID is ",U=n" before them.

// maildirMessage is one message file.
type maildirMessage struct {
	Path    string // relative to the Maildir
	Flags   string // the letters after ":2,", sorted
	UID     int    // from ",U=n"; 0 if mbsync has not numbered it yet
	Content []byte
	ModTime time.Time
	ID      string // Message-ID without brackets
}

func makeMaildir(t testing.TB, dir string) {
	t.Helper()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// toLF turns CRLF line endings into the LF of files on disk.
func toLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// toCRLF turns LF line endings into IMAP's CRLF.
func toCRLF(b []byte) []byte { return bytes.ReplaceAll(toLF(b), []byte("\n"), []byte("\r\n")) }

// deliverMaildir writes a message as a delivery agent does: into tmp/,
// then renamed into new/ (no flags) or cur/ (with an info part, which
// may be empty), with mtime as the arrival time.
func deliverMaildir(t testing.TB, dir string, n int, raw []byte, cur bool, flags string, mtime time.Time) string {
	t.Helper()
	base := fmt.Sprintf("%d.M%dP4242Q%d.testhost", mtime.Unix(), 100000+n, n)
	tmp := filepath.Join(dir, "tmp", base)
	if err := os.WriteFile(tmp, toLF(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join("new", base)
	if cur {
		rel = filepath.Join("cur", base+":2,"+sortFlags(flags))
	}
	if err := os.Rename(tmp, filepath.Join(dir, rel)); err != nil {
		t.Fatal(err)
	}
	return rel
}

func sortFlags(f string) string {
	b := []byte(f)
	slices.Sort(b)
	return string(slices.Compact(b))
}

var (
	uidInName = regexp.MustCompile(`,U=(\d+)`)
	msgIDRE   = regexp.MustCompile(`(?im)^Message-ID:\s*<([^>]+)>`)
)

// readMaildir lists the messages of a Maildir, keyed by Message-ID.
func readMaildir(t testing.TB, dir string) map[string]*maildirMessage {
	t.Helper()
	out := map[string]*maildirMessage{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			rel := filepath.Join(sub, e.Name())
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			content, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			m := &maildirMessage{Path: rel, Content: content, ModTime: fi.ModTime()}
			name := e.Name()
			if i := strings.Index(name, ":2,"); i >= 0 {
				m.Flags = name[i+3:]
				name = name[:i]
			}
			if u := uidInName.FindStringSubmatch(name); u != nil {
				fmt.Sscan(u[1], &m.UID)
			}
			id := msgIDRE.FindSubmatch(content)
			if id == nil {
				t.Fatalf("%s: no Message-ID", rel)
			}
			m.ID = string(id[1])
			if prev := out[m.ID]; prev != nil {
				t.Fatalf("Message-ID %s twice: %s and %s", m.ID, prev.Path, rel)
			}
			out[m.ID] = m
		}
	}
	return out
}

// withoutTUID drops the X-TUID header field that mbsync adds to each
// message it propagates (to find it again should the server not report
// its UID); nothing else about a message may change.
func withoutTUID(b []byte) []byte {
	end := bytes.Index(b, []byte("\n\n"))
	if end < 0 {
		end = len(b)
	}
	i := bytes.Index(b[:end], []byte("\nX-TUID: "))
	if i < 0 {
		return b
	}
	j := bytes.IndexByte(b[i+1:], '\n')
	return slices.Concat(b[:i+1], b[i+1+j+1:])
}

// treeSnapshot records every file under dir (name, size, mtime and a
// hash of the content), to prove a sync changed nothing on disk.
func treeSnapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = fmt.Sprintf("%d bytes, mtime %s, sha256 %x", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffStates lists what differs between two snapshots.
func diffStates(before, after map[string]string) []string {
	var diffs []string
	for k, v := range before {
		switch w, ok := after[k]; {
		case !ok:
			diffs = append(diffs, "removed "+k)
		case w != v:
			diffs = append(diffs, fmt.Sprintf("changed %s: %s -> %s", k, v, w))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added "+k)
		}
	}
	slices.Sort(diffs)
	return diffs
}

func TestMaildirHelpers(t *testing.T) {
	dir := t.TempDir()
	makeMaildir(t, dir)
	when := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	raw := []byte("Subject: a\r\nMessage-ID: <a@x>\r\n\r\nbody\r\n")
	deliverMaildir(t, dir, 1, raw, false, "", when)
	deliverMaildir(t, dir, 2, []byte("Message-ID: <b@x>\r\n\r\nb\r\n"), true, "SF", when)
	got := readMaildir(t, dir)
	if len(got) != 2 {
		t.Fatalf("read %d messages", len(got))
	}
	a, b := got["a@x"], got["b@x"]
	if a == nil || b == nil || !bytes.Equal(a.Content, toLF(raw)) || a.Flags != "" || !a.ModTime.Equal(when) || !strings.HasPrefix(a.Path, "new/") {
		t.Errorf("message a: %+v", a)
	}
	if b == nil || b.Flags != "FS" || !strings.HasPrefix(b.Path, "cur/") || b.UID != 0 {
		t.Errorf("message b: %+v", b)
	}
	for _, tc := range []struct{ in, want string }{
		{"Subject: a\nX-TUID: abc123\nTo: b\n\nX-TUID: body\n", "Subject: a\nTo: b\n\nX-TUID: body\n"},
		{"X-TUID: first\n\nbody\n", "X-TUID: first\n\nbody\n"}, // only a field after the first line is mbsync's
		{"Subject: a\n\nbody\n", "Subject: a\n\nbody\n"},
	} {
		if got := string(withoutTUID([]byte(tc.in))); got != tc.want {
			t.Errorf("withoutTUID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(toCRLF([]byte("a\nb\r\nc"))); got != "a\r\nb\r\nc" {
		t.Errorf("toCRLF: %q", got)
	}
	snap := treeSnapshot(t, dir)
	if d := diffStates(snap, treeSnapshot(t, dir)); len(d) != 0 {
		t.Errorf("unchanged tree differs: %v", d)
	}
	os.Rename(filepath.Join(dir, b.Path), filepath.Join(dir, b.Path+"T"))
	if d := diffStates(snap, treeSnapshot(t, dir)); len(d) != 2 {
		t.Errorf("a rename should show as one removal and one addition: %v", d)
	}
}

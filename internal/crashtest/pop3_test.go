//go:build linux

package crashtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"postfach/internal/pop3/pop3test"
	"postfach/internal/store/sqlite"
)

// The POP3 crash tests: a POP3 session marks many messages deleted and
// sends QUIT; the server is killed at a random moment around the UPDATE
// (before QUIT, while it commits, after it answered). After the restart,
// the deletions took effect for every marked message or for none; if the
// client had read QUIT's +OK, for every one; every message left is whole
// (its body's hash is that of what was appended); with the trash policy,
// each marked message is in INBOX or in Trash, never in both or neither.

// TestPOP3UpdateSurvivesKill: expunge policy.
func TestPOP3UpdateSurvivesKill(t *testing.T) { runPOP3Crash(t, "expunge") }

// TestPOP3TrashSurvivesKill: trash policy, where UPDATE moves.
func TestPOP3TrashSurvivesKill(t *testing.T) { runPOP3Crash(t, "trash") }

// pop3Inbox is how many messages INBOX holds at the start of each cycle.
// Each expunge also removes the message's full-text index entries, which
// the race detector makes slow: a cycle marks about 90 messages.
const pop3Inbox = 120

// newPOP3Instance is newInstance with the pop3s listener and a deletion
// policy.
func newPOP3Instance(t *testing.T, policy string) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{t: t, bin: postfachBinary(t), dir: dir, config: filepath.Join(dir, "postfach.toml"), dataDir: filepath.Join(dir, "data")}
	cfg := fmt.Sprintf(`hostname = "mail.example.org"
data_dir = "data"

[listen]
imaps = "127.0.0.1:0"
pop3s = "127.0.0.1:0"

[pop3]
delete_policy = %q

[auth]
time = 1
memory_kib = 64
threads = 1

[log]
level = "info"
format = "json"
`, policy)
	if err := os.WriteFile(in.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	in.admin("", "domain", "add", "example.org")
	in.admin(testPassword+"\n", "user", "add", testUser)
	return in
}

// pop3Addr waits for the child's pop3s listener.
func pop3Addr(t *testing.T, c *child) string {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		if a := c.log.addr("pop3s"); a != "" {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pop3s listener logged\n%s", c.log.tail(40))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pop3Box is what the test knows of a mailbox: UID to body hash.
type pop3Box map[uint32][32]byte

// fill appends messages to INBOX until it holds want, recording their
// hashes in box.
func fillInbox(t *testing.T, srv *child, r *rand.Rand, box pop3Box, want int, serial *int) {
	t.Helper()
	c := mustLogin(t, srv)
	defer c.close()
	for len(box) < want {
		var items []appendItem
		var sums [][32]byte
		for len(box)+len(items) < want && len(items) < 20 {
			*serial++
			raw := newMessage(r, fmt.Sprintf("pop3-%d-%x", *serial, r.Uint32()), randomSize(r, 300, 8<<10))
			items = append(items, appendItem{data: raw})
			sums = append(sums, sha256.Sum256(storedForm(raw)))
		}
		_, uids, err := c.appendMessages(inbox, items, true)
		if err != nil {
			t.Fatalf("APPEND: %v", err)
		}
		for i, u := range uids {
			box[u] = sums[i]
		}
	}
}

// readBox reads a mailbox's messages with their body hashes.
func readBox(t *testing.T, srv *child, name string) pop3Box {
	t.Helper()
	c := mustLogin(t, srv)
	defer c.close()
	ob, err := observe(c, name, func(uint32) bool { return true })
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	out := pop3Box{}
	for u, m := range ob.msgs {
		out[u] = m.sum
	}
	return out
}

// session logs in over POP3 and maps message numbers to UIDs.
func pop3Session(t *testing.T, addr string) (*pop3test.Client, []uint32) {
	t.Helper()
	c := pop3test.Dial(t, addr, true)
	// QUIT commits the UPDATE: under the race detector, on a loaded
	// machine, that may take longer than the client's default bound.
	c.Timeout = ioTimeout
	c.OK("USER " + testUser)
	c.OK("PASS " + testPassword)
	var uids []uint32
	for _, l := range c.Lines("UIDL") {
		_, id, _ := strings.Cut(l, " ")
		if len(id) != 16 {
			t.Fatalf("UIDL line %q", l)
		}
		u, err := strconv.ParseUint(id[:8], 16, 32)
		if err != nil {
			t.Fatalf("UIDL line %q", l)
		}
		uids = append(uids, uint32(u))
	}
	return c, uids
}

func runPOP3Crash(t *testing.T, policy string) {
	n, sd := 2*cycles(t), seed(t)
	t.Logf("seed %d (set POSTFACH_CRASH_SEED to replay), %d cycles, policy %s, race detector %t", sd, n, policy, raceEnabled)
	r := rand.New(rand.NewPCG(sd, 1))
	in := newPOP3Instance(t, policy)
	srv := in.start()
	addr := pop3Addr(t, srv)
	inboxBox, trashBox := pop3Box{}, pop3Box{}
	serial := 0
	fillInbox(t, srv, r, inboxBox, pop3Inbox, &serial)

	// Calibration, without a kill: how long QUIT takes to commit a large
	// UPDATE, so that kills land before, inside and after it.
	c, uids := pop3Session(t, addr)
	for i := range uids[:len(uids)/2] {
		c.OK("DELE " + strconv.Itoa(i+1))
	}
	start := time.Now()
	c.OK("QUIT")
	quit := time.Since(start)
	for _, u := range uids[:len(uids)/2] {
		if policy == "trash" {
			trashBox[u] = inboxBox[u] // UIDs differ in Trash; hashes count
		}
		delete(inboxBox, u)
	}
	checkPOP3Boxes(t, srv, policy, inboxBox, trashBox)
	t.Logf("QUIT with %d deletions took %v", len(uids)/2, quit)

	var applied, none, acked int
	for cycle := 1; cycle <= n; cycle++ {
		fillInbox(t, srv, r, inboxBox, pop3Inbox, &serial)
		c, uids := pop3Session(t, addr)
		// Mark a random share, at least half, of the maildrop.
		var marked []uint32
		for i, u := range uids {
			if r.IntN(4) != 0 {
				c.OK("DELE " + strconv.Itoa(i+1))
				marked = append(marked, u)
			}
		}
		quitSent := r.IntN(6) != 0 // else: killed before QUIT
		answer := make(chan string, 1)
		if quitSent {
			go func() {
				l, _ := c.Do("QUIT")
				answer <- l
			}()
			time.Sleep(time.Duration(r.Int64N(int64(2*quit + time.Millisecond))))
		}
		srv.crash()
		gotOK := false
		if quitSent {
			gotOK = strings.HasPrefix(<-answer, "+OK")
		}
		c.Close()
		srv = in.start()
		addr = pop3Addr(t, srv)

		after := readBox(t, srv, inbox)
		gone := 0
		for _, u := range marked {
			if _, ok := after[u]; !ok {
				gone++
			}
		}
		switch {
		case gone == 0 && gotOK:
			t.Fatalf("cycle %d: QUIT answered +OK, yet none of the %d marked messages went", cycle, len(marked))
		case gone == 0:
			none++
		case gone == len(marked):
			applied++
			for _, u := range marked {
				if policy == "trash" {
					trashBox[u+1<<31] = inboxBox[u] // a key no INBOX UID has
				}
				delete(inboxBox, u)
			}
		default:
			t.Fatalf("cycle %d: %d of %d marked messages gone (QUIT sent %v, +OK read %v): UPDATE was not atomic", cycle, gone, len(marked), quitSent, gotOK)
		}
		if gotOK {
			acked++
		}
		if !quitSent && gone > 0 {
			t.Fatalf("cycle %d: killed before QUIT, yet %d messages went", cycle, gone)
		}
		checkPOP3Boxes(t, srv, policy, inboxBox, trashBox)
		t.Logf("cycle %d: %d marked; QUIT sent %v, +OK read %v; %s", cycle, len(marked), quitSent, gotOK,
			map[bool]string{true: "applied", false: "not applied"}[gone > 0])
	}
	t.Logf("%d cycles: UPDATE applied in %d (%d acknowledged), not applied in %d", n, applied, acked, none)
	srv.stop()
	checkPOP3Offline(t, in, len(inboxBox)+len(trashBox))
}

// checkPOP3Boxes compares INBOX (by UID) and Trash (by content) with what
// the test expects.
func checkPOP3Boxes(t *testing.T, srv *child, policy string, inboxBox, trashBox pop3Box) {
	t.Helper()
	got := readBox(t, srv, inbox)
	if !maps.Equal(got, inboxBox) {
		var missing, extra, changed []uint32
		for u, s := range inboxBox {
			if g, ok := got[u]; !ok {
				missing = append(missing, u)
			} else if g != s {
				changed = append(changed, u)
			}
		}
		for u := range got {
			if _, ok := inboxBox[u]; !ok {
				extra = append(extra, u)
			}
		}
		t.Fatalf("INBOX differs: missing %v, unexpected %v, altered %v", missing, extra, changed)
	}
	if policy != "trash" {
		return
	}
	want := slices.SortedFunc(maps.Values(trashBox), compareSums)
	have := slices.SortedFunc(maps.Values(readBox(t, srv, "Trash")), compareSums)
	if !slices.Equal(want, have) {
		t.Fatalf("Trash holds %d messages, want %d, or their contents differ", len(have), len(want))
	}
}

func compareSums(a, b [32]byte) int { return slices.Compare(a[:], b[:]) }

// checkPOP3Offline: with the server stopped, garbage collection finds no
// orphan blob (no append was in flight at any kill), one blob file is
// left per message, and SQLite's checks pass.
func checkPOP3Offline(t *testing.T, in *instance, messages int) {
	t.Helper()
	ctx := context.Background()
	lock, err := sqlite.LockDataDir(in.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: in.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := st.CollectGarbage(ctx, lock, sqlite.GCOptions{MinAge: -1})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if gc.Orphans != 0 {
		t.Errorf("garbage collection found %d orphan blobs; no append was in flight", gc.Orphans)
	}
	files := 0
	err = filepath.WalkDir(filepath.Join(in.dataDir, sqlite.BlobDirName), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != messages {
		t.Errorf("%d blob files, %d messages", files, messages)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(in.dataDir, sqlite.DBName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("PRAGMA integrity_check: %q, %v", res, err)
	}
	rows, err := db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check reports violations")
	}
}

package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/blob"
	"postfach/internal/store"
)

// countBlobFiles counts files in the blob directory.
func countBlobFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dir, BlobDirName), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// TestFaultInjection: a blob write, fsync or directory fsync that fails
// fails the Append and leaves nothing visible, and no file behind.
func TestFaultInjection(t *testing.T) {
	injected := errors.New("injected fault")
	for _, op := range []blob.Op{blob.OpCreate, blob.OpWrite, blob.OpSync, blob.OpSyncDir} {
		t.Run(op.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			_, ffs, m, inbox := openFaulty(t, dir)
			// One good message first, so that directories exist.
			if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader("Subject: ok\r\n\r\nok\r\n")}}); err != nil {
				t.Fatal(err)
			}
			before, _ := m.Status(ctx, inbox.ID)
			files := countBlobFiles(t, dir)
			ffs.SetInject(func(o blob.Op, path string) error {
				if o == op {
					return injected
				}
				return nil
			})
			body := "Subject: doomed\r\n\r\n" + strings.Repeat("data\r\n", 30000)
			_, err := m.Append(ctx, inbox.ID, []store.NewMessage{
				{Body: strings.NewReader("Subject: first of two\r\n\r\nx\r\n")},
				{Body: strings.NewReader(body)},
			})
			if !errors.Is(err, injected) {
				t.Fatalf("Append: %v, want the injected fault", err)
			}
			ffs.SetInject(nil)
			after, _ := m.Status(ctx, inbox.ID)
			if after != before {
				t.Fatalf("failed append changed the mailbox: %+v -> %+v", before, after)
			}
			if n := countBlobFiles(t, dir); n != files {
				t.Fatalf("%d blob files after the failed append, %d before", n, files)
			}
			// The store goes on working.
			res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(body)}})
			if err != nil {
				t.Fatal(err)
			}
			msgs, _ := m.Messages(ctx, inbox.ID, store.UIDSetOf(res.UIDs...), store.FetchOptions{})
			if len(msgs) != 1 || msgs[0].Size != int64(len(body)) {
				t.Fatalf("append after the fault: %+v", msgs)
			}
		})
	}
}

// crashMessage makes a message that proves its own completeness: its last
// line is the SHA-256 of everything before it.
func crashMessage(r *rand.Rand, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: crash test %d\r\n\r\n", n)
	size := 100 + r.IntN(40000)
	for b.Len() < size {
		fmt.Fprintf(&b, "%016x\r\n", r.Uint64())
	}
	sum := sha256.Sum256([]byte(b.String()))
	b.WriteString("sha256: " + hex.EncodeToString(sum[:]) + "\r\n")
	return b.String()
}

func selfCheck(body []byte) bool {
	i := bytes.LastIndex(body, []byte("sha256: "))
	if i < 0 || !bytes.HasSuffix(body, []byte("\r\n")) {
		return false
	}
	sum := sha256.Sum256(body[:i])
	return string(body[i+8:len(body)-2]) == hex.EncodeToString(sum[:])
}

const crashEnv = "POSTFACH_STORE_CRASH_CHILD"

// TestCrashChild is the process TestCrashAppend kills: it appends from
// several goroutines and prints each acknowledged UID with the SHA-256 of
// the message.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only run by TestCrashAppend")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.AccountByAddress(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := s.Mail(a.ID)
	inbox, _ := m.Mailbox(ctx, "INBOX")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := 0; ; i++ {
				msg := crashMessage(r, i)
				res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(msg)}})
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				sum := sha256.Sum256([]byte(msg))
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d %x\n", res.UIDs[0], sum)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashAppend kills a process in the middle of appending and checks
// that every acknowledged message survives intact and no partial message
// is visible.
func TestCrashAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.AddDomain(ctx, "example.com")
	if _, err := s.AddAccount(ctx, "alice@example.com", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for round := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[store.UID]string{}
		lines := bufio.NewScanner(stdout)
		deadline := time.Now().Add(3 * time.Second)
		for lines.Scan() {
			var uid store.UID
			var sum string
			if _, err := fmt.Sscanf(lines.Text(), "%d %s", &uid, &sum); err != nil || len(sum) != 64 {
				continue // the test runner's own output
			}
			acked[uid] = sum
			if len(acked) >= 150 || time.Now().After(deadline) {
				break
			}
		}
		// Kill mid-stream: appends are in flight at this instant.
		cmd.Process.Kill()
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatalf("round %d: child acknowledged nothing; stderr:\n%s", round, stderr.String())
		}

		lock, err := LockDataDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.AccountByAddress(ctx, "alice@example.com")
		m := s.Mail(a.ID)
		inbox, _ := m.Mailbox(ctx, "INBOX")
		check := func(when string) {
			msgs, err := m.Messages(ctx, inbox.ID, store.AllUIDs(), store.FetchOptions{Structure: true})
			if err != nil {
				t.Fatal(err)
			}
			present := map[store.UID]bool{}
			var size int64
			for _, msg := range msgs {
				present[msg.UID] = true
				size += msg.Size
				b, err := m.OpenBody(ctx, &msg)
				if err != nil {
					t.Fatalf("%s: message %d has no body: %v", when, msg.UID, err)
				}
				body, _ := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
				b.Close()
				if !selfCheck(body) || int64(len(body)) != msg.Size {
					t.Fatalf("%s: message %d is damaged (%d bytes, size %d)", when, msg.UID, len(body), msg.Size)
				}
				if want, ok := acked[msg.UID]; ok {
					sum := sha256.Sum256(body)
					if hex.EncodeToString(sum[:]) != want {
						t.Fatalf("%s: message %d differs from what was acknowledged", when, msg.UID)
					}
				}
			}
			for uid := range acked {
				if !present[uid] {
					t.Fatalf("%s: acknowledged message %d is gone", when, uid)
				}
			}
			st, _ := m.Status(ctx, inbox.ID)
			if st.Messages != uint32(len(msgs)) || st.Size != size {
				t.Fatalf("%s: status %+v disagrees with %d messages of %d bytes", when, st, len(msgs), size)
			}
		}
		check("after crash")
		gc, err := s.CollectGarbage(ctx, lock, GCOptions{MinAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		check("after garbage collection")
		snap, _ := m.Snapshot(ctx, inbox.ID)
		if n := countBlobFiles(t, dir); n != len(snap.UIDs) {
			t.Fatalf("%d blob files for %d messages after GC (%+v)", n, len(snap.UIDs), gc)
		}
		t.Logf("round %d: %d acknowledged, %d present, GC %+v", round, len(acked), len(snap.UIDs), gc)
		s.Close()
		lock.Close()
	}
}

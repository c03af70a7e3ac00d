//go:build linux

package crashtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAppendSyncsBeforeOK checks the half of durability that a kill
// cannot: that every APPEND makes its writes durable, in the right order,
// before it answers OK. It runs the server under strace(1) and reads, for
// each APPEND, the system calls between the continuation request and the
// tagged OK:
//
//  1. the message is written to a blob file, and that file is fdatasynced
//     (or fsynced);
//  2. the blob's day directory is fsynced, making its name durable;
//  3. only then is a commit written to the SQLite WAL (pwrite64), and
//     the WAL is fdatasynced (synchronous=FULL) — other writers share the
//     WAL, so the trace shows that a commit follows, not whose it is;
//  4. only then is the OK written to the socket.
//
// With that order, a power cut at any instant leaves the row durable only
// if its blob is, and an acknowledged message durable. What the test still
// cannot see is whether the disk honours the flush; that is the storage
// stack's promise. It is skipped where strace is missing or may not trace.
func TestAppendSyncsBeforeOK(t *testing.T) {
	strace := straceOrSkip(t)
	in := newInstance(t, true)
	trace := filepath.Join(t.TempDir(), "strace.out")
	// -D keeps the server our direct child (the tracer is a grandchild),
	// so that SIGTERM and the exit status are the server's own.
	srv := in.start(strace, "-D", "-f", "--seccomp-bpf", "-y", "-s", "256",
		"-e", "trace=write,pwrite64,fsync,fdatasync", "-e", "signal=none", "-o", trace)

	c, err := dialIMAP(srv.imap, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.login(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	// A successful login makes the login guard remember the client's
	// address; it writes that to the store at its next poll, a commit
	// of its own that would fall inside the first APPEND's window and
	// look like that APPEND's. Let it happen first.
	time.Sleep(guardSettle)
	type appended struct{ tag, id string }
	var appends []appended
	r := rand.New(rand.NewPCG(rand.Uint64(), 0))
	for i := range 12 {
		id := fmt.Sprintf("strace%d-%x", i, r.Uint32())
		raw := newMessage(r, id, randomSize(r, 1<<10, 200<<10))
		if _, _, err := c.appendMessages(inbox, []appendItem{{data: raw}}, false); err != nil {
			t.Fatalf("APPEND: %v", err)
		}
		appends = append(appends, appended{c.lastTag, id})
	}
	c.close()
	srv.stop()

	events := readTrace(t, trace, srv.cmd.Process.Pid)
	t.Logf("%d APPENDs checked against %d traced writes and syncs", len(appends), len(events))
	for _, a := range appends {
		if err := checkAppendSyncs(events, a.tag, a.id); err != nil {
			t.Errorf("APPEND %s (%s): %v", a.tag, a.id, err)
		}
	}
}

// guardSettle outlasts the login guard's poll interval
// (guard.DefaultPollInterval), after which it has persisted what a login
// taught it.
const guardSettle = 3 * time.Second

// straceOrSkip returns the path of strace, or skips the test if strace is
// not installed or cannot trace here (ptrace forbidden in a container).
func straceOrSkip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	if out, err := exec.Command(p, "-D", "-f", "--seccomp-bpf", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v: %s", err, out)
	}
	return p
}

// traceEvent is one system call of interest: a write at its entry (what
// it sends), a sync at its successful return (what is durable).
type traceEvent struct {
	call string // write, pwrite64, fsync, fdatasync
	path string // the file descriptor's path as strace -y shows it
	args string // the arguments, for the data of writes
	line int
}

func (e traceEvent) isSync() bool { return e.call == "fsync" || e.call == "fdatasync" }

var (
	traceCompleteRE   = regexp.MustCompile(`^(\d+) +(\w+)\((.*)\) += (-?\d+)`)
	traceUnfinishedRE = regexp.MustCompile(`^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$`)
	traceResumedRE    = regexp.MustCompile(`^(\d+) +<\.\.\. (\w+) resumed>.*\) += (-?\d+)`)
	traceFDRE         = regexp.MustCompile(`^\d+<([^>]*)>`)
)

// readTrace waits until strace has recorded the exit of pid (the tracer
// outlives its tracee by a moment) and parses the trace.
func readTrace(t *testing.T, path string, pid int) []traceEvent {
	t.Helper()
	// strace pads the pid column to a width: "1844  +++ exited with 0".
	done := regexp.MustCompile(`(?m)^` + strconv.Itoa(pid) + ` +\+\+\+ (exited with|killed by)`)
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(path)
		if err == nil && done.Match(b) {
			break
		}
		if time.Now().After(deadline) {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Fatalf("strace did not record the exit of the server (pid %d) within a minute; the trace ends:\n%s",
				pid, strings.Join(lines[max(0, len(lines)-15):], "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []traceEvent
	unfinished := map[string]traceEvent{} // by thread id
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		s := sc.Text()
		event := func(tid, call, args string) traceEvent {
			e := traceEvent{call: call, args: args, line: n}
			if m := traceFDRE.FindStringSubmatch(args); m != nil {
				e.path = m[1]
			}
			return e
		}
		if m := traceCompleteRE.FindStringSubmatch(s); m != nil {
			e := event(m[1], m[2], m[3])
			if !e.isSync() || m[4] == "0" {
				events = append(events, e)
			}
			continue
		}
		if m := traceUnfinishedRE.FindStringSubmatch(s); m != nil {
			e := event(m[1], m[2], m[3])
			if !e.isSync() {
				events = append(events, e) // a write counts from its entry
			}
			unfinished[m[1]] = e
			continue
		}
		if m := traceResumedRE.FindStringSubmatch(s); m != nil {
			e, ok := unfinished[m[1]]
			delete(unfinished, m[1])
			if ok && e.call == m[2] && e.isSync() && m[3] == "0" {
				e.line = n // a sync counts from its return
				events = append(events, e)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// checkAppendSyncs finds the APPEND with tag, whose message carries id,
// in the trace and checks the order of its writes and syncs.
func checkAppendSyncs(events []traceEvent, tag, id string) error {
	ok := -1
	for i, e := range events {
		if e.call == "write" && strings.Contains(e.args, `, "`+tag+` OK `) {
			ok = i
			break
		}
	}
	if ok < 0 {
		return fmt.Errorf("no OK written in the trace")
	}
	cont := -1
	for i := ok - 1; i >= 0; i-- {
		if e := events[i]; e.call == "write" && e.path == events[ok].path && strings.Contains(e.args, `, "+ `) {
			cont = i
			break
		}
	}
	if cont < 0 {
		return fmt.Errorf("no continuation request before the OK (trace line %d)", events[ok].line)
	}
	window := events[cont+1 : ok]
	find := func(from int, f func(traceEvent) bool) int {
		for i := from; i < len(window); i++ {
			if f(window[i]) {
				return i
			}
		}
		return -1
	}
	blob := find(0, func(e traceEvent) bool {
		return e.call == "write" && strings.Contains(e.path, "/blobs/") && strings.Contains(e.args, id)
	})
	if blob < 0 {
		return fmt.Errorf("no write of the message to a blob file between trace lines %d and %d", events[cont].line, events[ok].line)
	}
	blobPath := window[blob].path
	blobSync := find(blob, func(e traceEvent) bool { return e.isSync() && e.path == blobPath })
	dirSync := find(blob, func(e traceEvent) bool { return e.isSync() && e.path == filepath.Dir(blobPath) })
	isWAL := func(e traceEvent) bool { return strings.HasSuffix(e.path, "-wal") }
	at := func(i int) string { return "trace line " + strconv.Itoa(window[i].line) }
	switch {
	case blobSync < 0:
		return fmt.Errorf("blob %s written (%s) but not synced before the OK (trace line %d)", blobPath, at(blob), events[ok].line)
	case dirSync < 0:
		return fmt.Errorf("directory of blob %s not synced before the OK (trace line %d)", blobPath, events[ok].line)
	}
	// Other writers share the WAL (the full-text indexer, the login
	// guard), and a WAL page does not say whose row it holds: what the
	// trace can prove is that a commit is written and synced after the
	// blob and its directory are, and before the OK. That the writer puts
	// the APPEND's rows in that commit, not an earlier one, is the group
	// commit's code order (writer.runBatch) and the crash tests' finding.
	walWrite := find(max(blobSync, dirSync)+1, func(e traceEvent) bool {
		return (e.call == "pwrite64" || e.call == "write") && isWAL(e)
	})
	if walWrite < 0 {
		return fmt.Errorf("no commit written to the WAL after the blob was synced (%s) and before the OK (trace line %d)", at(max(blobSync, dirSync)), events[ok].line)
	}
	if walSync := find(walWrite, func(e traceEvent) bool { return e.isSync() && isWAL(e) }); walSync < 0 {
		return fmt.Errorf("WAL written (%s) but not synced before the OK (trace line %d)", at(walWrite), events[ok].line)
	}
	return nil
}

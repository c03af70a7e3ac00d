package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// This file reads what Linux tells of processes and sockets in /proc: the
// server's memory (the IDLE workload reports it per connection) and the
// server behind a listening port.

// ServerMemory is the memory of a server's process and its descendants
// (Dovecot runs a process per connection and more; postfach one).
type ServerMemory struct {
	PID       int
	Processes int
	// RSS adds VmRSS over the processes, counting shared pages once per
	// process; PSS adds the proportional set sizes, which share them out.
	RSS, PSS int64 // bytes
}

// ProcessMemory reads the memory of pid and all its descendants.
func ProcessMemory(pid int) (ServerMemory, error) {
	m := ServerMemory{PID: pid}
	pids, err := processTree(pid)
	if err != nil {
		return m, err
	}
	for _, p := range pids {
		rss, err := statusField(p, "VmRSS")
		if err != nil {
			if p == pid {
				return m, err
			}
			continue // a child that just exited
		}
		m.Processes++
		m.RSS += rss
		if pss, err := pssOf(p); err == nil {
			m.PSS += pss
		}
	}
	return m, nil
}

// statusField reads a "kB" field of /proc/PID/status, in bytes.
func statusField(pid int, name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return kBField(b, name)
}

// pssOf reads the Pss of /proc/PID/smaps_rollup, in bytes.
func pssOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	return kBField(b, "Pss")
}

// kBField finds "name:   123 kB" in b.
func kBField(b []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("no %s field", name)
}

// processTree returns pid and its descendants.
func processTree(pid int) ([]int, error) {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	children := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if pp, ok := parentOf(b); ok {
			children[pp] = append(children[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// parentOf reads the parent pid from /proc/PID/stat: the fourth field,
// counted after the command name, which may hold spaces and parentheses.
func parentOf(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(string(f[1]))
	return pp, err == nil
}

// FindListener returns the process that listens on TCP port: of the
// processes that hold the listening socket (a master and the children it
// handed it to), the one whose parent does not.
func FindListener(port uint16) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, ino := range listeningInodes(b, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listens on port %d", port)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var holders []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(l[len("socket:["):], "]")] {
				holders = append(holders, pid)
				break
			}
		}
	}
	if len(holders) == 0 {
		return 0, fmt.Errorf("port %d: no process of ours holds the socket (run as its user or root, or give --server-pid)", port)
	}
	slices.Sort(holders)
	for _, pid := range holders {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if pp, ok := parentOf(b); ok && !slices.Contains(holders, pp) {
			return pid, nil
		}
	}
	return holders[0], nil
}

// listeningInodes parses /proc/net/tcp{,6}: the inodes of sockets in state
// LISTEN (0A) on port.
func listeningInodes(b []byte, port uint16) []string {
	var out []string
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// RaiseFileLimit lifts the soft limit on open files to at least need (the
// hard limit too when the process may: root), and reports when it cannot.
func RaiseFileLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= need {
		return nil
	}
	want := lim
	want.Cur = need
	if want.Max < need {
		want.Max = need
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		return nil
	}
	// Not allowed to raise the hard limit: take what it allows.
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < need {
		return errors.New("the open file limit is " + strconv.FormatUint(lim.Cur, 10) +
			", and " + strconv.FormatUint(need, 10) + " are needed; raise the hard limit (ulimit -Hn) or run as root")
	}
	return nil
}

// FileLimit returns the soft and hard limits on open files.
func FileLimit() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur, lim.Max, err
}

package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A workload is one operation measured against a server: run performs it
// once on the session and returns the time of the measured command and
// the number of results it saw (hits, FETCH responses, threads).
type workload struct {
	name, command string
	// size is the mailbox the operation works on.
	size int
	run  func(s *session) (time.Duration, int, error)
}

// session is what a workload uses on one server: a reader connection and,
// for the resync, a writer.
type session struct {
	srv            *proc
	reader, writer *client
	selected       string
	rounds         map[string]int // per mailbox: resync rounds done
}

func newSession(p *proc, user, pass string) (*session, error) {
	r, err := login(p.addr, user, pass)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	w, err := login(p.addr, user, pass)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	return &session{srv: p, reader: r, writer: w, rounds: map[string]int{}}, nil
}

func (s *session) close() {
	s.reader.close()
	s.writer.close()
}

// examine selects box read-only on the reader, once.
func (s *session) examine(box string) error {
	if s.selected == box {
		return nil
	}
	if _, err := s.reader.do("EXAMINE " + quote(box)); err != nil {
		return err
	}
	s.selected = box
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// command is a workload that times one command on a mailbox, counting the
// numbers of the first untagged response of kind ("SEARCH", "SORT") or,
// for THREAD, the top-level threads.
func command(name, box string, size int, kind, cmd string) workload {
	return workload{name: name, command: cmd, size: size, run: func(s *session) (time.Duration, int, error) {
		if err := s.examine(box); err != nil {
			return 0, 0, err
		}
		n := 0
		d, err := s.reader.run(cmd, func(l []byte) {
			rest, ok := bytes.CutPrefix(l, []byte(kind))
			if !ok {
				return
			}
			if kind == "THREAD" {
				n += countThreads(rest)
			} else {
				n += len(bytes.Fields(rest))
			}
		})
		return d, n, err
	}}
}

// countThreads counts the top-level parenthesized groups of a THREAD
// response.
func countThreads(b []byte) int {
	depth, n := 0, 0
	for _, c := range b {
		switch c {
		case '(':
			if depth == 0 {
				n++
			}
			depth++
		case ')':
			depth--
		}
	}
	return n
}

// resyncChanges is N: the flag changes between two syncs.
const resyncChanges = 10

// resync measures what a QRESYNC client pays to catch up on box of size
// messages after resyncChanges flag changes made by another client (RFC
// 7162 section 3.2.5): SELECT box (QRESYNC (uidvalidity modseq)), timed
// to its tagged OK; it must report exactly the changed messages.
func resync(box string, size int) workload {
	return workload{name: fmt.Sprintf("QRESYNC resync, M=%d, N=%d", size, resyncChanges), size: size,
		command: fmt.Sprintf("SELECT %s (QRESYNC (uidvalidity modseq))", box),
		run: func(s *session) (time.Duration, int, error) {
			if s.selected != "" {
				if _, err := s.reader.do("UNSELECT"); err != nil {
					return 0, 0, err
				}
				s.selected = ""
			}
			var validity, highest string
			st, err := s.reader.do(fmt.Sprintf("STATUS %s (UIDVALIDITY HIGHESTMODSEQ)", quote(box)))
			if err != nil {
				return 0, 0, err
			}
			for _, l := range st {
				validity = field(l, "UIDVALIDITY ")
				highest = field(l, "HIGHESTMODSEQ ")
			}
			if validity == "" || highest == "" {
				return 0, 0, fmt.Errorf("STATUS: %q", st)
			}
			if _, err := s.writer.do("SELECT " + quote(box)); err != nil {
				return 0, 0, err
			}
			// The same messages each round, the keyword set and cleared
			// in turn, so every STORE is a change.
			op := "+"
			if s.rounds[box]%2 == 1 {
				op = "-"
			}
			s.rounds[box]++
			for k := range resyncChanges {
				uid := 1 + k*size/resyncChanges
				if _, err := s.writer.do(fmt.Sprintf("UID STORE %d %sFLAGS.SILENT ($Issue6)", uid, op)); err != nil {
					return 0, 0, err
				}
			}
			n := 0
			d, err := s.reader.run(fmt.Sprintf("SELECT %s (QRESYNC (%s %s))", quote(box), validity, highest), func(l []byte) {
				if bytes.Contains(l, []byte(" FETCH (")) {
					n++
				}
			})
			if err == nil {
				s.selected = box + " (read-write)"
			}
			return d, n, err
		}}
}

// field returns the number after name in a response line.
func field(l []byte, name string) string {
	i := bytes.Index(l, []byte(name))
	if i < 0 {
		return ""
	}
	rest := l[i+len(name):]
	j := 0
	for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
		j++
	}
	return string(rest[:j])
}

// result is the outcome of a workload on one server.
type result struct {
	first  time.Duration   // the first (cold) run
	times  []time.Duration // the measured runs
	counts []int
}

func (r *result) median() time.Duration {
	if len(r.times) == 0 {
		return 0
	}
	t := slices.Clone(r.times)
	slices.Sort(t)
	return t[len(t)/2]
}

func (r *result) count() string {
	if len(r.counts) == 0 {
		return "-"
	}
	c := slices.Clone(r.counts)
	slices.Sort(c)
	c = slices.Compact(c)
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "/")
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f ms", float64(d)/1e6)
}

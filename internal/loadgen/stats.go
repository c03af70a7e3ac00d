package loadgen

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorSamples bounds the error messages a workload keeps for its
// report; every error is counted.
const maxErrorSamples = 8

// stats collects one workload's measurements. Every method is safe for
// concurrent use. Measurements count only while the window is open
// (recording): connection set-up before it and the stop after it are not
// load.
type stats struct {
	recording *atomic.Bool // shared by every workload of a run

	mu      sync.RWMutex
	cmds    map[string]*cmdStats
	order   []string // command names in order of first use
	samples []string

	sessions    atomic.Uint64
	setupErrors atomic.Uint64
	// counters are workload-specific totals (recipients, bytes).
	counters sync.Map // name -> *atomic.Uint64
}

// cmdStats is one command's latencies and errors.
type cmdStats struct {
	hist   Histogram
	errors atomic.Uint64
}

func newStats(recording *atomic.Bool) *stats {
	return &stats{recording: recording, cmds: make(map[string]*cmdStats)}
}

// cmd returns the statistics of a command, created on first use.
func (s *stats) cmd(name string) *cmdStats {
	s.mu.RLock()
	c := s.cmds[name]
	s.mu.RUnlock()
	if c != nil {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c = s.cmds[name]; c == nil {
		c = &cmdStats{}
		s.cmds[name] = c
		s.order = append(s.order, name)
	}
	return c
}

// observe records one command that took d and ended with err. Errors are
// counted with the command; their latency is not recorded.
func (s *stats) observe(name string, d time.Duration, err error) {
	if !s.recording.Load() {
		return
	}
	c := s.cmd(name)
	if err != nil {
		c.errors.Add(1)
		s.sample(name, err)
		return
	}
	c.hist.Record(d)
}

// timed runs f as command name and records it.
func (s *stats) timed(name string, f func() error) error {
	start := time.Now()
	err := f()
	s.observe(name, time.Since(start), err)
	return err
}

// setupError counts an error outside the window (opening idle
// connections, creating mailboxes): it is reported, not timed.
func (s *stats) setupError(what string, err error) {
	s.setupErrors.Add(1)
	s.sample(what, err)
}

func (s *stats) sample(name string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < maxErrorSamples {
		s.samples = append(s.samples, name+": "+err.Error())
	}
}

// session counts one completed session while the window is open.
func (s *stats) session() {
	if s.recording.Load() {
		s.sessions.Add(1)
	}
}

// add adds n to a named counter while the window is open.
func (s *stats) add(name string, n uint64) {
	if !s.recording.Load() {
		return
	}
	v, _ := s.counters.LoadOrStore(name, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(n)
}

func (s *stats) counter(name string) uint64 {
	if v, ok := s.counters.Load(name); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

// errStopped ends a client loop when the window closed.
var errStopped = errors.New("stopped")

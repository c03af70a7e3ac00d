package imap

import (
	"slices"
	"sync"
	"time"
)

// workerPool runs the work of sessions (session.work: one command, or the
// start of a session) on goroutines that outlive it. A goroutine starts on
// the runtime's smallest stack and grows it, by copying, to the tens of
// kilobytes that TLS, the parser and the store need; a new goroutine for
// every command paid for that growth every time (BenchmarkFetchListing:
// a tenth more CPU per FETCH than running it on the session's goroutine).
// A worker keeps its grown stack for the next command of any session.
//
// The pool grows with the commands in progress, which may wait long (for
// a client's literal, a slow client's reads, a long search): a command
// never waits for a worker. A worker that found no work for workerIdle
// ends, and its stack goes back to the runtime.
type workerPool struct {
	mu sync.Mutex
	// idle are the workers waiting for work, the most recently used
	// last: it is taken first (its stack is grown and warm), and the
	// others end in turn when work is scarce.
	idle []*worker
	// idleTimeout is how long a worker waits for work before it ends;
	// 0 means workerIdle.
	idleTimeout time.Duration
}

// workerIdle is how long a worker waits for work before it ends.
const workerIdle = 10 * time.Second

type worker struct {
	work chan func()
}

// do runs f on a worker and returns at once.
func (p *workerPool) do(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.work <- f
		return
	}
	p.mu.Unlock()
	go p.run(&worker{work: make(chan func(), 1)}, f)
}

// run is a worker's life, from its first work.
func (p *workerPool) run(w *worker, f func()) {
	idle := p.idleTimeout
	if idle == 0 {
		idle = workerIdle
	}
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		f()
		p.mu.Lock()
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		timer.Reset(idle)
		select {
		case f = <-w.work:
		case <-timer.C:
			if p.leave(w) {
				return
			}
			f = <-w.work // do took it from the list just now
		}
	}
}

// leave takes w off the idle list; it reports false when w is not on it
// any more because do took it.
func (p *workerPool) leave(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.idle, w); i >= 0 {
		p.idle = slices.Delete(p.idle, i, i+1)
		return true
	}
	return false
}

package imap

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pushQueue runs the IDLE pushes of a server (idlePush) on a few
// goroutines that live while there is work, instead of a new goroutine
// per push. A delivery to a mailbox that 10,000 sessions watch is 10,000
// pushes; a fresh goroutine for each, started on the smallest stack and
// grown for the TLS write, cost a fifth of the server's CPU per push
// (BenchmarkIdleFanOut: 9.4 µs per push with a goroutine each, 7.7 µs
// through the queue), and that CPU is what the last idler waits for.
//
// A push may block: a client that stopped reading holds its pusher until
// the write times out (Limits.WriteTimeout). When the queue has work and
// no push finished for pushStall, one more pusher starts, so blocked
// clients cost a goroutine each, as they did before, and hold up the
// pushes of others by about pushStall each.
//
// Sessions are pushed in the order their wake-ups came; a session is in
// the queue at most once per wake-up (notify.Subscription.WakeFunc), and
// its push finds out whether IDLE is still on.
type pushQueue struct {
	mu     sync.Mutex
	queue  []func()
	head   int
	active int // pushers running
	// finished counts the pushes done; the stall check compares it with
	// its value when the check was armed.
	finished atomic.Uint64
	checking bool
}

// pushStall is how long queued pushes wait for a busy pusher before one
// more starts.
const pushStall = 50 * time.Millisecond

// pushers is how many pushers run without a stall: the pushes are short
// and bound by the CPU (TLS and a write), so a few per core keep the
// cores busy.
func pushers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// add queues a push (a session's idlePush). It does not block: the
// subscription calls it when it publishes an event.
func (q *pushQueue) add(push func()) {
	q.mu.Lock()
	q.queue = append(q.queue, push)
	start := q.active < pushers()
	if start {
		q.active++
	} else {
		q.watchLocked()
	}
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

// watchLocked arms the stall check unless it is armed; q.mu is held.
func (q *pushQueue) watchLocked() {
	if q.checking {
		return
	}
	q.checking = true
	since := q.finished.Load()
	time.AfterFunc(pushStall, func() { q.check(since) })
}

// check starts one more pusher if work waits and no push finished since
// the check was armed, and watches again while work waits.
func (q *pushQueue) check(since uint64) {
	q.mu.Lock()
	q.checking = false
	waiting := q.head < len(q.queue)
	start := waiting && q.finished.Load() == since
	if start {
		q.active++
	}
	if waiting {
		q.watchLocked()
	}
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

// run is a pusher: it pushes until the queue is empty.
func (q *pushQueue) run() {
	for {
		q.mu.Lock()
		if q.head == len(q.queue) {
			q.active--
			// One burst should not pin a large queue.
			if cap(q.queue) > 4096 {
				q.queue = nil
			}
			q.queue, q.head = q.queue[:0], 0
			q.mu.Unlock()
			return
		}
		push := q.queue[q.head]
		q.queue[q.head] = nil
		q.head++
		q.mu.Unlock()
		push()
		q.finished.Add(1)
	}
}

package imap

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The queue runs every push it gets, on a few goroutines.
func TestPushQueue(t *testing.T) {
	var q pushQueue
	const pushes = 10000
	var done sync.WaitGroup
	var running, most atomic.Int64
	done.Add(pushes)
	for range pushes {
		q.add(func() {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			running.Add(-1)
			done.Done()
		})
	}
	done.Wait()
	if m := most.Load(); m > int64(pushers()) {
		t.Errorf("%d pushes at once, at most %d pushers", m, pushers())
	}
	waitIdle(t, &q)
}

// Pushes that block (clients that stopped reading) hold their pushers;
// the others still run, after a stall of about pushStall each time every
// pusher is blocked.
func TestPushQueueStall(t *testing.T) {
	var q pushQueue
	release := make(chan struct{})
	blocked := pushers() + 2
	var blockedRunning sync.WaitGroup
	blockedRunning.Add(blocked)
	for range blocked {
		q.add(func() {
			blockedRunning.Done()
			<-release
		})
	}
	ran := make(chan struct{})
	start := time.Now()
	q.add(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(time.Duration(blocked+2) * pushStall * 4):
		t.Fatal("a push waited behind blocked ones")
	}
	t.Logf("ran after %v behind %d blocked pushes", time.Since(start).Round(time.Millisecond), blocked)
	blockedRunning.Wait() // every blocked push got a pusher of its own
	close(release)
	waitIdle(t, &q)
}

// waitIdle waits until every pusher ended.
func waitIdle(t *testing.T, q *pushQueue) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		active, checking := q.active, q.checking
		q.mu.Unlock()
		if active == 0 && !checking {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pushers still running", active)
		}
		time.Sleep(time.Millisecond)
	}
}

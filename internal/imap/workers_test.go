package imap

import (
	"sync"
	"testing"
	"time"
)

func (p *workerPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Work done one piece after another reuses one worker; pieces that wait
// at once each get a worker of their own; idle workers end.
func TestWorkerPool(t *testing.T) {
	waitIdle := func(p *workerPool, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for p.idleCount() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d idle workers, want %d", p.idleCount(), n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	p := &workerPool{idleTimeout: time.Minute}
	done := make(chan struct{})
	for range 100 {
		p.do(func() { done <- struct{}{} })
		<-done
		waitIdle(p, 1) // back on the list after its work
	}

	p = &workerPool{idleTimeout: 100 * time.Millisecond}
	const waiting = 20
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(waiting)
	for range waiting {
		p.do(func() {
			started.Done()
			<-release
		})
	}
	started.Wait() // all at once: none waited for another
	close(release)
	waitIdle(p, waiting)
	waitIdle(p, 0) // each ended after the idle timeout
	// A pool whose workers all ended still works.
	p.do(func() { done <- struct{}{} })
	<-done
}

// Work handed out while idle workers time out is never lost.
func TestWorkerPoolTimeoutRace(t *testing.T) {
	p := &workerPool{idleTimeout: time.Microsecond}
	var wg sync.WaitGroup
	for range 2000 {
		wg.Add(1)
		p.do(wg.Done)
		time.Sleep(time.Microsecond)
	}
	wg.Wait()
}

package sessions

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeSession stands for a protocol session. Its goroutine ends when
// Abort closes aborted, or, if it obeys, when Interrupt closes interrupted
// and release lets the command in progress finish.
type fakeSession struct {
	obeys   bool
	release chan struct{} // nil: no command in progress

	interrupted, aborted chan struct{}
	interruptOnce        sync.Once
	abortOnce            sync.Once
	interrupts, aborts   atomic.Int32
	ended                atomic.Bool
}

func newFake(obeys bool) *fakeSession {
	return &fakeSession{obeys: obeys, interrupted: make(chan struct{}), aborted: make(chan struct{})}
}

func (s *fakeSession) Interrupt() {
	s.interrupts.Add(1)
	s.interruptOnce.Do(func() { close(s.interrupted) })
}

func (s *fakeSession) Abort() {
	s.aborts.Add(1)
	s.abortOnce.Do(func() { close(s.aborted) })
}

// serve tracks s in r and runs it as a server's connection goroutine
// would; it reports whether r took it.
func (s *fakeSession) serve(r *Registry) bool {
	untrack, ok := r.Track(s)
	if !ok {
		return false
	}
	go func() {
		defer untrack()
		defer s.ended.Store(true)
		interrupted := s.interrupted
		if !s.obeys {
			interrupted = nil
		}
		select {
		case <-interrupted:
			if s.release != nil {
				select {
				case <-s.release:
				case <-s.aborted:
				}
			}
		case <-s.aborted:
		}
	}()
	return true
}

func TestTrackCount(t *testing.T) {
	var r Registry
	if n := r.Count(); n != 0 {
		t.Fatalf("zero Registry counts %d", n)
	}
	a, b := newFake(true), newFake(true)
	untrackA, ok := r.Track(a)
	if !ok {
		t.Fatal("Track refused before Shutdown")
	}
	untrackB, ok := r.Track(b)
	if !ok {
		t.Fatal("Track refused before Shutdown")
	}
	if n := r.Count(); n != 2 {
		t.Fatalf("Count = %d, want 2", n)
	}
	untrackA()
	untrackA() // again: nothing
	if n := r.Count(); n != 1 {
		t.Fatalf("Count = %d after one untrack, want 1", n)
	}
	untrackB()
	if n := r.Count(); n != 0 {
		t.Fatalf("Count = %d after all untracked, want 0", n)
	}
	// The WaitGroup must be back at zero, not below: Shutdown returns.
	if err := r.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if a.interrupts.Load() != 0 || b.interrupts.Load() != 0 {
		t.Error("Shutdown interrupted sessions that had ended")
	}
}

func TestTrackTwicePanics(t *testing.T) {
	var r Registry
	s := newFake(true)
	untrack, _ := r.Track(s)
	defer untrack()
	defer func() {
		if recover() == nil {
			t.Error("tracking a session twice did not panic")
		}
	}()
	r.Track(s)
}

func TestShutdownRefusesNewSessions(t *testing.T) {
	var r Registry
	if err := r.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown of an empty registry = %v", err)
	}
	s := newFake(true)
	if untrack, ok := r.Track(s); ok || untrack != nil {
		t.Fatal("Track accepted a session after Shutdown")
	}
	if n := r.Count(); n != 0 {
		t.Fatalf("Count = %d, want 0", n)
	}
	if s.interrupts.Load() != 0 {
		t.Error("a refused session was interrupted")
	}
}

func TestShutdownInterrupts(t *testing.T) {
	var r Registry
	var all []*fakeSession
	for range 5 {
		s := newFake(true)
		if !s.serve(&r) {
			t.Fatal("Track refused before Shutdown")
		}
		all = append(all, s)
	}
	if err := r.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if n := r.Count(); n != 0 {
		t.Fatalf("Count = %d after Shutdown, want 0", n)
	}
	for i, s := range all {
		if got := s.interrupts.Load(); got != 1 {
			t.Errorf("session %d interrupted %d times, want 1", i, got)
		}
		if got := s.aborts.Load(); got != 0 {
			t.Errorf("session %d aborted %d times, want 0", i, got)
		}
		if !s.ended.Load() {
			t.Errorf("session %d still running after Shutdown", i)
		}
	}
}

// A session interrupted in the middle of a command finishes it: Shutdown
// waits for it, and does not abort it while ctx lasts.
func TestShutdownWaitsForCommand(t *testing.T) {
	var r Registry
	s := newFake(true)
	s.release = make(chan struct{})
	s.serve(&r)

	done := make(chan error, 1)
	go func() { done <- r.Shutdown(t.Context()) }()
	<-s.interrupted
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a command was running", err)
	default:
	}
	close(s.release)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if !s.ended.Load() {
		t.Error("Shutdown returned before the session ended")
	}
	if got := s.aborts.Load(); got != 0 {
		t.Errorf("session aborted %d times, want 0", got)
	}
}

// A session that ignores Interrupt is aborted once ctx ends, and Shutdown
// still returns only after it ended.
func TestShutdownAbortsWhenCtxEnds(t *testing.T) {
	var r Registry
	stubborn, obedient := newFake(false), newFake(true)
	stubborn.serve(&r)
	obedient.serve(&r)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	<-stubborn.interrupted
	for !obedient.ended.Load() || r.Count() != 1 {
		// The obedient one ends on its own; wait until it has, so
		// that the abort below concerns the stubborn one alone.
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned (%v) with a session open", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	if !stubborn.ended.Load() {
		t.Error("Shutdown returned before the aborted session ended")
	}
	if got := stubborn.aborts.Load(); got != 1 {
		t.Errorf("stubborn session aborted %d times, want 1", got)
	}
	if got := obedient.aborts.Load(); got != 0 {
		t.Errorf("obedient session aborted %d times, want 0", got)
	}
	if n := r.Count(); n != 0 {
		t.Errorf("Count = %d after Shutdown, want 0", n)
	}
}

// Sessions that arrive while Shutdown runs are either refused or
// interrupted, never left running: with every session obeying, Shutdown
// must return nil, and every session it let in must have been
// interrupted.
func TestTrackRacesShutdown(t *testing.T) {
	var r Registry
	var (
		mu                sync.Mutex
		accepted, refused []*fakeSession
		warm              = make(chan struct{})
		warmOnce          sync.Once
		wg                sync.WaitGroup
	)
	// Connections keep arriving until the registry refuses them.
	for range 8 {
		wg.Go(func() {
			for {
				s := newFake(true)
				ok := s.serve(&r)
				mu.Lock()
				if ok {
					accepted = append(accepted, s)
				} else {
					refused = append(refused, s)
				}
				n := len(accepted)
				mu.Unlock()
				if n >= 100 {
					warmOnce.Do(func() { close(warm) })
				}
				if !ok {
					return
				}
			}
		})
	}
	<-warm
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := r.Shutdown(ctx)
	wg.Wait()
	if err != nil {
		t.Fatalf("Shutdown = %v: a session tracked during Shutdown was not interrupted", err)
	}
	for i, s := range accepted {
		if got := s.interrupts.Load(); got != 1 || !s.ended.Load() {
			t.Errorf("accepted session %d: interrupted %d times, ended %v", i, got, s.ended.Load())
		}
	}
	for i, s := range refused {
		if s.interrupts.Load() != 0 {
			t.Errorf("refused session %d interrupted", i)
		}
	}
	if n := r.Count(); n != 0 {
		t.Errorf("Count = %d after Shutdown, want 0", n)
	}
}

func TestShutdownTwice(t *testing.T) {
	var r Registry
	s := newFake(false)
	s.serve(&r)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- r.Shutdown(ctx) }()
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown = %v, want context.Canceled", err)
		}
	}
	if err := r.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown after the sessions ended = %v", err)
	}
	if got := s.aborts.Load(); got < 1 {
		t.Error("the session was not aborted")
	}
}

// connSession is a session over a real socket that is in the middle of
// answering a client that stopped reading: Interrupt only sets a flag (it
// is not waiting for a command), so only Abort can end it.
type connSession struct {
	conn        net.Conn
	interrupted atomic.Bool
}

func (s *connSession) Interrupt() { s.interrupted.Store(true) }
func (s *connSession) Abort()     { s.conn.Close() }

func TestShutdownAbortsBlockedWrite(t *testing.T) {
	conn, client := loopbackPair(t) // the client does not read yet

	var r Registry
	s := &connSession{conn: conn}
	untrack, _ := r.Track(s)
	writeErr := make(chan error, 1)
	go func() {
		defer untrack()
		defer conn.Close()
		chunk := make([]byte, 64<<10)
		for {
			if _, err := conn.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	}()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	for !s.interrupted.Load() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	select {
	case err := <-writeErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked write ended with %v, want net.ErrClosed", err)
		}
	default:
		t.Error("Shutdown returned before the session's write failed")
	}
	// The client sees the connection end.
	client.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(io.Discard, client); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read: %v", err)
	}
}

package imap

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func pipeSession(t *testing.T) *session {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &session{raw: a}
}

// The sessions of one credential share one watch: a revocation ends each
// of them, and none of another credential; a group whose sessions all
// left stops its goroutine.
func TestRevokeWatch(t *testing.T) {
	var w revokeWatch
	phone, laptop := make(chan struct{}), make(chan struct{})
	var onPhone []*session
	var removes []func()
	for range 3 {
		c := pipeSession(t)
		onPhone = append(onPhone, c)
		removes = append(removes, w.add(phone, c))
	}
	other := pipeSession(t)
	removeOther := w.add(laptop, other)
	if n := len(w.groups); n != 2 {
		t.Fatalf("%d groups for two credentials", n)
	}
	removes[2]() // one session logged out before the revocation
	close(phone)
	for i, c := range onPhone[:2] {
		_, err := c.raw.Read(make([]byte, 1))
		if !c.revoked.Load() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("session %d: revoked %v, read %v", i, c.revoked.Load(), err)
		}
	}
	if onPhone[2].revoked.Load() {
		t.Error("a session that left was revoked")
	}
	for _, remove := range removes {
		remove() // after the revocation: nothing left to do
	}
	if other.revoked.Load() {
		t.Fatal("another credential's session was revoked")
	}
	removeOther()
	removeOther()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		n := len(w.groups)
		w.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d groups left", n)
		}
		time.Sleep(time.Millisecond)
	}
	// A channel closed before the watch starts revokes at once.
	late := pipeSession(t)
	w.add(phone, late)
	if _, err := late.raw.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) || !late.revoked.Load() {
		t.Fatalf("watch on a revoked credential: %v", err)
	}
}

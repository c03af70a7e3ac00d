package guard

import (
	"container/heap"
	"context"
	"net/netip"
	"testing"
	"time"
)

// simEvent is a simulated attacker connection's next step.
type simEvent struct {
	at     time.Time
	worker int
	end    bool // the end of an allowed attempt (else its start)
}

type simQueue []simEvent

func (q simQueue) Len() int           { return len(q) }
func (q simQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q simQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)        { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simulate runs attackers (one connection per entry of addrs, each
// guessing as fast as the guard lets it: a password check costs check,
// a refused attempt is retried after retry) against the default policy
// for span of simulated time, and returns the guesses checked.
func simulate(t *testing.T, addrs []netip.Addr, users func(i int) string, span, check, retry time.Duration) int {
	t.Helper()
	c := newClock()
	start := c.now()
	var lastWait time.Duration
	g, err := New(Options{Policy: DefaultPolicy(), Now: c.now, Sleep: func(_ context.Context, d time.Duration) error {
		lastWait = d
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The owner logged in from her address before the attack.
	owner := netip.MustParseAddr("127.0.0.1")
	g.Allow(context.Background(), owner, "alice@example.org")
	g.Done(owner, "alice@example.org", true)

	q := &simQueue{}
	for i := range addrs {
		heap.Push(q, simEvent{at: start, worker: i})
	}
	guesses, n := 0, 0
	for q.Len() > 0 {
		e := heap.Pop(q).(simEvent)
		if e.at.Sub(start) > span {
			break
		}
		c.mu.Lock()
		c.t = e.at
		c.mu.Unlock()
		user := users(e.worker)
		if e.end {
			g.Done(addrs[e.worker], user, false)
			guesses++
			heap.Push(q, simEvent{at: e.at, worker: e.worker})
			continue
		}
		n++
		if n%5000 == 0 {
			// Run's periodic forgetting, so expired bans go.
			g.sweep(context.Background(), e.at)
		}
		lastWait = 0
		if err := g.Allow(context.Background(), addrs[e.worker], user); err != nil {
			heap.Push(q, simEvent{at: e.at.Add(retry), worker: e.worker})
			continue
		}
		heap.Push(q, simEvent{at: e.at.Add(lastWait + check), worker: e.worker, end: true})
	}
	if d := g.Judge(owner, "alice@example.org"); d.Refused || d.Delay != 0 {
		t.Errorf("owner after the attack: %+v", d)
	}
	return guesses
}

// TestSimulatedAttacks measures, with a simulated clock, how many
// guesses attackers get per minute over a day against the default
// policy, as fast as they can go (a password check costs 25 ms; a
// refused attempt is retried after 30 s). Under the race detector it
// simulates one hour, which includes the first burst and so allows more.
func TestSimulatedAttacks(t *testing.T) {
	span := 6 * time.Hour
	if raceEnabled {
		span = time.Hour
	}
	var loopback []netip.Addr
	for i := 2; i <= 20; i++ {
		for range 3 { // three connections per address
			loopback = append(loopback, netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}))
		}
	}
	var v6 []netip.Addr
	for i := range 200 { // a new /64 of one /48 for every connection
		v6 = append(v6, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 7, byte(i >> 8), byte(i), 0, 0, 0, 0, 0, 0, 0, 1}))
	}
	var botnet []netip.Addr
	for i := range 1000 { // every address in a /24 of its own
		botnet = append(botnet, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}))
	}
	one := func(int) string { return "alice@example.org" }
	spray := func(i int) string { return "user" + string(rune('a'+i%26)) + "@example.org" }
	tests := []struct {
		name  string
		addrs []netip.Addr
		users func(int) string
		max   float64 // guesses per minute the policy should hold it to
	}{
		{"19 addresses of one /24, 3 connections each", loopback, one, 1},
		{"19 addresses of one /24, spraying user names", loopback, spray, 1},
		{"200 /64s of one IPv6 /48", v6, one, 4},
		{"1000 addresses in 1000 /24s, one account", botnet, one, 10},
	}
	for _, tt := range tests {
		guesses := simulate(t, tt.addrs, tt.users, span, 25*time.Millisecond, 30*time.Second)
		perMin := float64(guesses) / span.Minutes()
		t.Logf("%s: %d guesses in %v = %.2f per minute", tt.name, guesses, span, perMin)
		limit := tt.max
		if raceEnabled {
			limit *= 2 // the first hour's burst weighs more
		}
		if perMin > limit {
			t.Errorf("%s: %.2f guesses per minute, want at most %v", tt.name, perMin, limit)
		}
	}
}

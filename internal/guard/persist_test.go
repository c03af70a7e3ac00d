package guard

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// memStore is a Store in memory, with the semantics of the SQLite one.
type memStore struct {
	mu    sync.Mutex
	bans  map[netip.Prefix]Ban
	known map[knownKey]time.Time
	gen   int64
}

func newMemStore() *memStore {
	return &memStore{bans: map[netip.Prefix]Ban{}, known: map[knownKey]time.Time{}}
}

func (m *memStore) Bans(ctx context.Context) ([]Ban, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Ban
	for _, b := range m.bans {
		out = append(out, b)
	}
	return out, nil
}

func (m *memStore) PutBan(ctx context.Context, b Ban) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bans[b.Prefix] = b
	m.gen++
	return nil
}

func (m *memStore) RemoveBan(ctx context.Context, p netip.Prefix) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.bans[p]
	delete(m.bans, p)
	if ok {
		m.gen++
	}
	return ok, nil
}

func (m *memStore) RemoveBansBefore(ctx context.Context, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, b := range m.bans {
		if !b.Until.IsZero() && b.Until.Before(t) {
			delete(m.bans, p)
		}
	}
	return nil
}

func (m *memStore) BanGeneration(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen, nil
}

func (m *memStore) KnownAddresses(ctx context.Context, since time.Time) ([]KnownAddress, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []KnownAddress
	for k, t := range m.known {
		if !t.Before(since) {
			out = append(out, KnownAddress{Account: k.account, Prefix: k.prefix, LastSeen: t})
		}
	}
	return out, nil
}

func (m *memStore) PutKnownAddresses(ctx context.Context, ks []KnownAddress) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range ks {
		m.known[knownKey{k.Account, k.Prefix}] = k.LastSeen
	}
	return nil
}

func (m *memStore) RemoveKnownAddressesBefore(ctx context.Context, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, seen := range m.known {
		if seen.Before(t) {
			delete(m.known, k)
		}
	}
	return nil
}

// round runs one pass of Run's loop body.
func round(g *Guard) {
	g.flush(ctx)
	g.reload(ctx)
}

// TestPersistence: bans and known addresses survive a restart; a ban
// removed in the store (by `postfach ban remove`) is lifted with its
// counts, one added there is enforced.
func TestPersistence(t *testing.T) {
	st := newMemStore()
	g, c := newTestGuard(t, DefaultPolicy(), st)
	attempt(g, c, "127.0.0.1", "tim@example.org", true)
	for range DefaultBanAfter {
		attempt(g, c, "192.0.2.7", "tim@example.org", false)
	}
	round(g)
	if len(st.bans) != 1 || len(st.known) != 1 {
		t.Fatalf("stored bans %v known %v", st.bans, st.known)
	}

	// Restart: a new Guard on the same store.
	g2, c2 := newTestGuard(t, DefaultPolicy(), st)
	c2.t = c.now()
	if !g2.Banned(netip.MustParseAddr("192.0.2.7")) {
		t.Error("ban lost across restart")
	}
	// The known address survives too: the /24 banned by hand spares it.
	st.PutBan(ctx, Ban{Prefix: netip.MustParsePrefix("127.0.0.0/24"), Created: c2.now(), Reason: "admin"})
	round(g2)
	if !g2.Banned(netip.MustParseAddr("127.0.0.5")) {
		t.Error("ban added in the store not enforced")
	}
	if g2.Banned(netip.MustParseAddr("127.0.0.1")) {
		t.Error("known address refused by a network ban after restart")
	}

	// Lifting the ban in the store clears the address's counts.
	if ok, _ := st.RemoveBan(ctx, netip.MustParsePrefix("192.0.2.7/32")); !ok {
		t.Fatal("ban not in store")
	}
	round(g)
	if g.Banned(netip.MustParseAddr("192.0.2.7")) {
		t.Error("removed ban still enforced")
	}
	g.mu.Lock()
	_, counted := g.prefixes[netip.MustParsePrefix("192.0.2.7/32")]
	g.mu.Unlock()
	if counted {
		t.Error("the address's failures survived the lifted ban")
	}
	// Allowed again (its /24 and the account still count, so it waits).
	if _, err := attempt(g, c, "192.0.2.7", "tim@example.org", false); err != nil {
		t.Errorf("after lifting: %v", err)
	}
}

// TestRunFlushesOnStop: Run writes what is pending when ctx ends, and
// sweeps expired state.
func TestRunFlushesOnStop(t *testing.T) {
	st := newMemStore()
	p := DefaultPolicy()
	g, c := newTestGuard(t, p, st)
	g.poll = time.Hour
	for range DefaultBanAfter {
		attempt(g, c, "192.0.2.9", "x@example.org", false)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		g.Run(rctx)
		close(done)
	}()
	// The ban wakes Run, which writes it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, _ := st.Bans(ctx); len(b) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ban not written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	attempt(g, c, "127.0.0.1", "tim@example.org", true)
	cancel()
	<-done
	if k, _ := st.KnownAddresses(ctx, time.Time{}); len(k) != 1 {
		t.Errorf("known addresses after stop: %v", k)
	}

	c.advance(DefaultBanDuration + time.Minute)
	g.sweep(ctx, c.now())
	if b, _ := st.Bans(ctx); len(b) != 0 {
		t.Errorf("expired ban kept in store: %v", b)
	}
	if len(g.Bans()) != 0 || len(g.bans) != 0 {
		t.Errorf("expired ban kept in memory")
	}
	c.advance(DefaultKnownTTL)
	g.sweep(ctx, c.now())
	if k, _ := st.KnownAddresses(ctx, time.Time{}); len(k) != 0 {
		t.Errorf("stale known address kept: %v", k)
	}
	if len(g.prefixes) != 0 || len(g.accounts) != 0 {
		t.Errorf("idle counters kept: %d prefixes, %d accounts", len(g.prefixes), len(g.accounts))
	}
}

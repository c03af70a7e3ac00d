package guard

import (
	"context"
	"maps"
	"net/netip"
	"time"
)

// flushTimeout bounds the last write when Run stops.
const flushTimeout = 10 * time.Second

// Load reads the persisted bans and known addresses. Call it once,
// before the Guard serves; without a Store it does nothing.
func (g *Guard) Load(ctx context.Context) error {
	if g.store == nil {
		return nil
	}
	gen, err := g.store.BanGeneration(ctx)
	if err != nil {
		return err
	}
	bans, err := g.store.Bans(ctx)
	if err != nil {
		return err
	}
	now := g.now()
	known, err := g.store.KnownAddresses(ctx, now.Add(-g.p.KnownTTL))
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen = gen
	g.setBansLocked(bans, now)
	for _, k := range known {
		m := g.known[k.Prefix]
		if m == nil {
			m = make(map[string]time.Time)
			g.known[k.Prefix] = m
		}
		if k.LastSeen.After(m[k.Account]) {
			m[k.Account] = k.LastSeen
		}
	}
	return nil
}

// Run persists new bans and known addresses, picks up bans changed by
// other processes, and forgets what expired, until ctx ends; then it
// writes what is left and returns. Without a Store it only forgets.
func (g *Guard) Run(ctx context.Context) {
	tick := time.NewTicker(g.poll)
	defer tick.Stop()
	lastSweep := g.now()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			g.flush(fctx)
			cancel()
			return
		case <-g.wake:
		case <-tick.C:
		}
		g.flush(ctx)
		g.reload(ctx)
		if now := g.now(); now.Sub(lastSweep) >= sweepInterval {
			lastSweep = now
			g.sweep(ctx, now)
		}
	}
}

// flush writes the bans and known addresses not yet persisted; on
// failure they stay queued for the next round.
func (g *Guard) flush(ctx context.Context) {
	if g.store == nil {
		return
	}
	g.mu.Lock()
	bans, known := g.unsavedBans, g.unsavedKnown
	if len(bans) == 0 && len(known) == 0 {
		g.mu.Unlock()
		return
	}
	g.unsavedBans = make(map[netip.Prefix]Ban)
	g.unsavedKnown = make(map[knownKey]time.Time)
	g.mu.Unlock()

	requeue := func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for p, b := range bans {
			if _, newer := g.unsavedBans[p]; !newer {
				g.unsavedBans[p] = b
			}
		}
		for k, t := range known {
			if _, newer := g.unsavedKnown[k]; !newer {
				g.unsavedKnown[k] = t
			}
		}
	}
	for p, b := range bans {
		if err := g.store.PutBan(ctx, b); err != nil {
			g.log.Warn("login guard: storing ban failed; retrying", "prefix", p.String(), "err", err)
			requeue()
			return
		}
		delete(bans, p)
	}
	if len(known) > 0 {
		ks := make([]KnownAddress, 0, len(known))
		for k, t := range known {
			ks = append(ks, KnownAddress{Account: k.account, Prefix: k.prefix, LastSeen: t})
		}
		if err := g.store.PutKnownAddresses(ctx, ks); err != nil {
			g.log.Warn("login guard: storing known addresses failed; retrying", "err", err)
			requeue()
		}
	}
}

// reload replaces the bans with the store's when its generation moved.
// A ban removed there (postfach ban remove) also clears the failure
// counts under it, or the next failure would ban again at once.
func (g *Guard) reload(ctx context.Context) {
	if g.store == nil {
		return
	}
	gen, err := g.store.BanGeneration(ctx)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("login guard: reading ban generation failed", "err", err)
		}
		return
	}
	g.mu.Lock()
	same := gen == g.gen
	g.mu.Unlock()
	if same {
		return
	}
	bans, err := g.store.Bans(ctx)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("login guard: reading bans failed", "err", err)
		}
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.bans
	g.gen = gen
	g.setBansLocked(bans, now)
	for p, b := range old {
		// (Bans not written yet are in g.bans: setBansLocked kept them.)
		if _, still := g.bans[p]; still || !b.Active(now) {
			continue
		}
		g.log.Info("login guard: ban lifted", "prefix", p.String())
		for cp := range g.prefixes {
			if p.Overlaps(cp) && cp.Bits() >= p.Bits() {
				delete(g.prefixes, cp)
			}
		}
	}
}

// setBansLocked makes bans (plus the unsaved ones) the bans in force.
func (g *Guard) setBansLocked(bans []Ban, now time.Time) {
	m := make(map[netip.Prefix]Ban, len(bans)+len(g.unsavedBans))
	for _, b := range bans {
		if b.Active(now) {
			m[b.Prefix] = b
		}
	}
	maps.Copy(m, g.unsavedBans)
	g.bans = m
	g.indexBansLocked()
}

// sweep forgets idle counters, expired bans and stale known addresses,
// in memory and in the store.
func (g *Guard) sweep(ctx context.Context, now time.Time) {
	cutoff := now.Add(-g.p.KnownTTL)
	g.mu.Lock()
	for p, c := range g.prefixes {
		if c.idle(now, g.p.Window) {
			delete(g.prefixes, p)
		}
	}
	for u, c := range g.accounts {
		if c.idle(now, g.p.Window) {
			delete(g.accounts, u)
		}
	}
	expired := false
	for p, b := range g.bans {
		if !b.Active(now) {
			delete(g.bans, p)
			expired = true
		}
	}
	if expired {
		g.indexBansLocked()
	}
	for hk, m := range g.known {
		for u, t := range m {
			if !t.After(cutoff) {
				delete(m, u)
			}
		}
		if len(m) == 0 {
			delete(g.known, hk)
		}
	}
	g.mu.Unlock()
	if g.store == nil {
		return
	}
	if err := g.store.RemoveBansBefore(ctx, now); err != nil && ctx.Err() == nil {
		g.log.Warn("login guard: removing expired bans failed", "err", err)
	}
	if err := g.store.RemoveKnownAddressesBefore(ctx, cutoff); err != nil && ctx.Err() == nil {
		g.log.Warn("login guard: removing stale known addresses failed", "err", err)
	}
}

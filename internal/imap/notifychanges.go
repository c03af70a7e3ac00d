package imap

import (
	"context"
	"sync"
	"time"

	"postfach/internal/store"
)

// changeMemo lets the sessions that one commit woke share one read of what
// changed. With thousands of sessions on one mailbox (a shared INBOX, many
// devices of one user), every delivery wakes all of them, and each used to
// read the same changes from the store on its own: thousands of identical
// read transactions per message, which made the last EXISTS go out half a
// second after the first.
//
// Sessions that were in step ask for the changes after the same MODSEQ;
// the first one reads them and the others wait for that read and use it.
// A read answers a wake-up only if its snapshot reached the MODSEQ the
// wake-up announced (notify.Pending.ModSeq): the store assigns MODSEQs in
// commit order, so such a snapshot holds every change up to it, and a
// later change comes with a later wake-up. Nothing is missed, as when each
// session reads alone; a session merely moves on to the snapshot's
// HIGHESTMODSEQ, which another session's read may have taken a little
// after its own wake-up.
//
// Entries are dropped at the first read changeMemoTTL after theirs, or at
// once when a newer read of the same mailbox and MODSEQ replaces them; the
// memo holds at most what the reads of the last few seconds returned.
//
// \Recent (RFC 3501 section 2.3.2) goes to one session: the first session
// that uses a read and may claim (not EXAMINE) claims what arrived, all of
// it up to the mailbox's UIDNEXT, so the others that use the same read have
// nothing left to claim and need not ask the store (claimOnce).
type changeMemo struct {
	mu      sync.Mutex
	entries map[changeKey]*changeEntry
	// swept is when entries older than changeMemoTTL were last dropped.
	swept time.Time
}

// changeMemoTTL is how long a read stays in the memo. Sessions woken by
// one commit use its read within this time unless the machine is
// overloaded; a session that comes later reads again.
const changeMemoTTL = 5 * time.Second

type changeKey struct {
	account store.AccountID
	mbox    store.MailboxID
	since   store.ModSeq
}

// changeEntry is one read of the changes after since.
type changeEntry struct {
	ready chan struct{} // closed once cs and err are set
	cs    store.ChangeSet
	err   error
	at    time.Time

	claimMu sync.Mutex
	claimed bool
}

// sharedChanges returns the changes of mbox after since up to at least
// need: a read another session made, or its own, which it then shares. The
// ChangeSet is shared: read it, never change it. The entry is nil when the
// session read alone.
func (c *session) sharedChanges(ctx context.Context, mbox store.MailboxID, since, need store.ModSeq) (store.ChangeSet, *changeEntry, error) {
	m := &c.srv.changes
	key := changeKey{c.acct.ID, mbox, since}
	for attempt := 0; attempt < 2; attempt++ {
		m.mu.Lock()
		if m.entries == nil {
			m.entries = make(map[changeKey]*changeEntry)
		}
		e := m.entries[key]
		if e != nil && !e.usable(need) {
			delete(m.entries, key)
			e = nil
		}
		if e != nil {
			m.mu.Unlock()
			select {
			case <-e.ready:
			case <-ctx.Done():
				return store.ChangeSet{}, nil, ctx.Err()
			}
			if e.err == nil && e.cs.HighestModSeq >= need {
				return e.cs, e, nil
			}
			// Read before the commit that woke us: read again, and
			// let the sessions after us share that.
			continue
		}
		now := time.Now()
		e = &changeEntry{ready: make(chan struct{}), at: now}
		m.entries[key] = e
		m.sweep(now)
		m.mu.Unlock()

		e.cs, e.err = c.mail.Changes(ctx, mbox, since)
		close(e.ready)
		if e.err != nil {
			m.drop(key, e)
			return store.ChangeSet{}, nil, e.err
		}
		return e.cs, e, nil
	}
	cs, err := c.mail.Changes(ctx, mbox, since)
	return cs, nil, err
}

// usable reports whether a session that needs the changes up to need may
// use (or wait for) e: once read, it must have succeeded and reached need.
// Its age does not matter: a snapshot holds every change up to its
// HIGHESTMODSEQ whenever it was taken. (The memo's own sweep bounds its
// memory.)
func (e *changeEntry) usable(need store.ModSeq) bool {
	select {
	case <-e.ready:
		return e.err == nil && e.cs.HighestModSeq >= need
	default:
		return true // in flight: wait, then check
	}
}

// sweep drops the entries older than changeMemoTTL, at most once per TTL;
// m.mu is held.
func (m *changeMemo) sweep(now time.Time) {
	if now.Sub(m.swept) < changeMemoTTL {
		return
	}
	m.swept = now
	for k, e := range m.entries {
		if now.Sub(e.at) > changeMemoTTL {
			delete(m.entries, k)
		}
	}
}

// drop removes e unless a newer entry took its key.
func (m *changeMemo) drop(key changeKey, e *changeEntry) {
	m.mu.Lock()
	if m.entries[key] == e {
		delete(m.entries, key)
	}
	m.mu.Unlock()
}

// claimOnce reports whether the caller is the first of the entry's
// sessions to claim \Recent; a nil entry (a read of its own) always
// claims. A failed claim is handed back with unclaim.
func (e *changeEntry) claimOnce() bool {
	if e == nil {
		return true
	}
	e.claimMu.Lock()
	defer e.claimMu.Unlock()
	if e.claimed {
		return false
	}
	e.claimed = true
	return true
}

func (e *changeEntry) unclaim() {
	if e == nil {
		return
	}
	e.claimMu.Lock()
	e.claimed = false
	e.claimMu.Unlock()
}

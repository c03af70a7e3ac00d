package sqlite

import (
	"context"
	"slices"
	"sync"

	"postfach/internal/store"
)

// uidCache keeps the UID lists of recently selected mailboxes, so that a
// SELECT costs what changed since the last one, not a walk of every
// message: a client resynchronizing with QRESYNC (RFC 7162) after N
// changes in a mailbox of M messages then pays O(N) in the database and
// one copy of M integers in memory.
//
// An entry is keyed by mailbox and UIDVALIDITY (UIDVALIDITY values are
// never reused, see nextUIDValidity) and is valid for one HIGHESTMODSEQ.
// An older entry is brought up to date from the expunged tombstones and
// the messages above its largest UID, both read through indexes; the
// result must have as many UIDs as the mailbox row counts, or it is
// discarded and the list read in full. Entries are immutable: an update
// replaces the slice.
type uidCache struct {
	mu      sync.Mutex
	entries map[store.MailboxID]*uidEntry
	total   int // UIDs held
	tick    uint64
}

type uidEntry struct {
	uidValidity uint32
	modseq      store.ModSeq
	uids        []store.UID
	used        uint64
}

// maxCachedUIDs bounds the cache's memory: 4 bytes per UID, 16 MiB.
const maxCachedUIDs = 4 << 20

func newUIDCache() *uidCache {
	return &uidCache{entries: map[store.MailboxID]*uidEntry{}}
}

func (c *uidCache) get(id store.MailboxID, uidValidity uint32) *uidEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[id]
	if e == nil || e.uidValidity != uidValidity {
		return nil
	}
	c.tick++
	e.used = c.tick
	return e
}

func (c *uidCache) put(id store.MailboxID, e *uidEntry) {
	if len(e.uids) > maxCachedUIDs/4 {
		return // one huge mailbox would push everything else out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[id]; old != nil {
		c.total -= len(old.uids)
	}
	c.tick++
	e.used = c.tick
	c.entries[id] = e
	c.total += len(e.uids)
	for c.total > maxCachedUIDs {
		var victim store.MailboxID
		oldest := uint64(1<<64 - 1)
		for k, v := range c.entries {
			if v.used < oldest {
				victim, oldest = k, v.used
			}
		}
		c.total -= len(c.entries[victim].uids)
		delete(c.entries, victim)
	}
}

// mailboxUIDs returns the UIDs of the mailbox mb, as of the read
// transaction tx, ascending. The caller owns the slice.
func (s *Store) mailboxUIDs(ctx context.Context, tx reader, mb mailboxRow) ([]store.UID, error) {
	id := mb.ID
	e := s.uids.get(id, mb.UIDValidity)
	switch {
	case e != nil && e.modseq == mb.HighestModSeq && len(e.uids) == int(mb.messages):
		return slices.Clone(e.uids), nil
	case e != nil && e.modseq < mb.HighestModSeq:
		if uids, ok, err := catchUp(ctx, tx, mb, e); err != nil {
			return nil, err
		} else if ok {
			s.uids.put(id, &uidEntry{uidValidity: mb.UIDValidity, modseq: mb.HighestModSeq, uids: uids})
			return slices.Clone(uids), nil
		}
	}
	uids, err := readUIDs(ctx, tx, id, mb.messages)
	if err != nil {
		return nil, err
	}
	s.uids.put(id, &uidEntry{uidValidity: mb.UIDValidity, modseq: mb.HighestModSeq, uids: uids})
	return slices.Clone(uids), nil
}

// catchUp applies what happened after e.modseq: expunges from the
// tombstones, new messages above e's largest UID. ok is false when the
// result does not match the mailbox's message count.
func catchUp(ctx context.Context, tx reader, mb mailboxRow, e *uidEntry) (uids []store.UID, ok bool, err error) {
	gone, err := expungedSince(ctx, tx, mb.ID, e.modseq)
	if err != nil {
		return nil, false, err
	}
	var top store.UID
	if len(e.uids) > 0 {
		top = e.uids[len(e.uids)-1]
	}
	var joined []byte
	if err := tx.QueryRowContext(ctx, `SELECT group_concat(uid, ',') FROM (SELECT uid FROM messages WHERE mailbox_id = ? AND uid > ? ORDER BY uid)`, mb.ID, top).Scan(&joined); err != nil {
		return nil, false, err
	}
	fresh, err := parseUIDList(string(joined), 0)
	if err != nil {
		return nil, false, err
	}
	uids = make([]store.UID, 0, int(mb.messages))
	j := 0
	for _, u := range e.uids {
		for j < len(gone) && gone[j] < u {
			j++
		}
		if j < len(gone) && gone[j] == u {
			continue
		}
		uids = append(uids, u)
	}
	uids = append(uids, fresh...)
	return uids, len(uids) == int(mb.messages), nil
}

// expungedSince returns the UIDs of mailbox id expunged after modseq,
// ascending, from the tombstones: how the caches (this one and the sort
// cache) learn what left a mailbox since their entry was read.
func expungedSince(ctx context.Context, tx reader, id store.MailboxID, modseq store.ModSeq) ([]store.UID, error) {
	return scanUIDs(tx.QueryContext(ctx, `SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`, id, modseq))
}

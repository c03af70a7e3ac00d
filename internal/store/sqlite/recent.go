package sqlite

import (
	"context"
	"sync"

	"postfach/internal/store"
)

// recentClaims hands out \Recent (RFC 3501 section 2.3.2) in memory.
//
// Every session that selects a mailbox, and every one that learns of new
// messages in it, claims the messages that arrived since the last claim.
// Done as a write, that is a group commit (and an fsync) on each SELECT and,
// with N sessions watching a mailbox, N more writes per delivered message.
// Instead the claim is decided here, under a mutex, against a read of the
// mailbox, and the watermark is persisted (mailboxes.recent_uid) by a write
// nobody waits for, coalesced per mailbox.
//
// This is exact within one process, and only one process serves sessions
// on a data directory (LockDataDir); admin commands do not claim. A crash
// may lose a claim not yet persisted: those messages are then \Recent once
// more, for the next session, which is what RFC 3501 asks when the server
// cannot tell ("SHOULD be considered recent").
type recentClaims struct {
	mu    sync.Mutex
	marks map[store.MailboxID]recentMark
}

// recentMark is a mailbox's watermark: messages with a UID below next were
// claimed. uidValidity tells a mailbox from a later one that reused its
// row id.
type recentMark struct {
	uidValidity uint32
	next        store.UID
	// persisting is set while a write of the watermark is queued.
	persisting bool
}

func newRecentClaims() *recentClaims {
	return &recentClaims{marks: make(map[store.MailboxID]recentMark)}
}

// watermark returns the effective watermark of mb: the stored one, or the
// one claimed in memory if it is ahead.
func (rc *recentClaims) watermark(mb mailboxRow) store.UID {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if k, ok := rc.marks[mb.ID]; ok && k.uidValidity == mb.UIDValidity && k.next > mb.recentUID {
		return k.next
	}
	return mb.recentUID
}

// ClaimRecent implements store.Mail: this caller is the one session to see
// the messages that arrived since the last claim as \Recent.
func (m *mail) ClaimRecent(ctx context.Context, id store.MailboxID) ([]store.UID, error) {
	rc := m.s.recent
	var mb mailboxRow
	var uids []store.UID
	err := m.s.readTx(ctx, func(tx reader) error {
		var err error
		if mb, err = m.mailboxByID(ctx, tx, id); err != nil {
			return err
		}
		from := rc.watermark(mb)
		if from >= mb.UIDNext {
			return nil
		}
		uids, err = scanUIDs(tx.QueryContext(ctx, `SELECT uid FROM messages WHERE mailbox_id = ? AND uid >= ? ORDER BY uid`, id, from))
		return err
	})
	if err != nil {
		return nil, err
	}
	// Every message below UIDNEXT of this snapshot is in it (or gone):
	// claim them, except those another claimer took since the read.
	rc.mu.Lock()
	k := rc.marks[id]
	if k.uidValidity != mb.UIDValidity {
		k = recentMark{uidValidity: mb.UIDValidity}
	}
	from := max(k.next, mb.recentUID)
	i := 0
	for i < len(uids) && uids[i] < from {
		i++
	}
	uids = uids[i:]
	persist := false
	if mb.UIDNext > from {
		k.next = mb.UIDNext
		persist = !k.persisting
		k.persisting = true
	}
	rc.marks[id] = k
	rc.mu.Unlock()
	if persist {
		m.persistRecent(id, mb.UIDValidity)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	return uids, nil
}

// persistRecent queues the write of a mailbox's watermark; it runs with a
// later group commit and reads the watermark as it is then.
func (m *mail) persistRecent(id store.MailboxID, uidValidity uint32) {
	rc := m.s.recent
	m.s.w.doAsync(func(t *wtx) error {
		rc.mu.Lock()
		k := rc.marks[id]
		if k.uidValidity != uidValidity {
			rc.mu.Unlock()
			return nil
		}
		k.persisting = false
		rc.marks[id] = k
		rc.mu.Unlock()
		_, err := t.exec(`UPDATE mailboxes SET recent_uid = max(recent_uid, ?) WHERE id = ? AND uidvalidity = ?`, k.next, id, uidValidity)
		return err
	})
}

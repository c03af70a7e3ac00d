package sqlite

import (
	"context"
	"strings"

	"postfach/internal/store"
)

// srcMessage is what a copy takes from a source row.
type srcMessage struct {
	uid      store.UID
	flags    store.Flags
	keywords string
	idate    int64
	itz      int64
	size     int64
	blobID   int64
}

// selectMessages reads the rows of uids in mailbox id, ascending.
func (t *wtx) selectMessages(id store.MailboxID, uids store.UIDSet) ([]srcMessage, error) {
	spans, filter := uidSpans(uids)
	norm := uids.Normalize()
	var out []srcMessage
	for _, r := range spans {
		rows, err := t.query(`SELECT uid, flags, keywords, internal_date, internal_tz, size, blob_id FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, id, r.Start, r.Stop)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var s srcMessage
			if err := rows.Scan(&s.uid, &s.flags, &s.keywords, &s.idate, &s.itz, &s.size, &s.blobID); err != nil {
				rows.Close()
				return nil, err
			}
			if filter && !norm.Contains(s.uid) {
				continue
			}
			out = append(out, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// copyMessages copies (or moves) the messages of uids from src to dst
// within the account. Copies share their source's blob.
func (m *mail) copyMessages(t *wtx, srcID store.MailboxID, uids store.UIDSet, dstID store.MailboxID, move bool) (store.CopyResult, error) {
	src, err := t.mailbox(m.acct, srcID)
	if err != nil {
		return store.CopyResult{}, err
	}
	dst, err := t.mailbox(m.acct, dstID)
	if err != nil {
		return store.CopyResult{}, err
	}
	res := store.CopyResult{UIDValidity: dst.UIDValidity}
	msgs, err := t.selectMessages(srcID, uids)
	if err != nil || len(msgs) == 0 {
		return res, err
	}
	if !move {
		var total int64
		for _, s := range msgs {
			total += s.size
		}
		if err := t.checkQuota(m.acct, total, len(msgs)); err != nil {
			return res, err
		}
	}
	if uint64(dst.UIDNext)+uint64(len(msgs)) > 1<<32-1 {
		return res, store.ErrNotAllowed
	}
	canon, err := t.keywordSpelling(dstID)
	if err != nil {
		return res, err
	}
	modseq := dst.HighestModSeq + 1
	if move && srcID != dstID {
		modseq = max(modseq, src.HighestModSeq+1)
	}
	uid := dst.UIDNext
	saveDate := m.s.now().Unix()
	var c counters
	for _, s := range msgs {
		kws, err := canon.apply(t, splitKeywords(s.keywords))
		if err != nil {
			return res, err
		}
		if _, err := t.exec(`INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, internal_tz, save_date, size, blob_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			dstID, uid, modseq, s.flags, strings.Join(kws, " "), s.idate, s.itz, saveDate, s.size, s.blobID); err != nil {
			return res, err
		}
		c.add(s.flags, s.size, 1)
		res.SourceUIDs = append(res.SourceUIDs, s.uid)
		res.DestUIDs = append(res.DestUIDs, uid)
		uid++
	}
	if _, err := t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, messages = messages + ?, unseen = unseen + ?, deleted = deleted + ?, size = size + ? WHERE id = ?`,
		uid, modseq, c.messages, c.unseen, c.deleted, c.size, dstID); err != nil {
		return res, err
	}
	t.publish(m.event(dstID, modseq))
	if move {
		if _, err := t.expunge(m, srcID, res.SourceUIDs, modseq); err != nil {
			return res, err
		}
	}
	return res, nil
}

// expunge removes the messages uids (ascending, existing) of mailbox id,
// leaving tombstones with modseq.
func (t *wtx) expunge(m *mail, id store.MailboxID, uids []store.UID, modseq store.ModSeq) ([]store.UID, error) {
	var c counters
	var blobIDs []int64
	var gone []store.UID
	for _, u := range uids {
		var flags store.Flags
		var size, blobID int64
		err := t.queryRow(`DELETE FROM messages WHERE mailbox_id = ? AND uid = ? RETURNING flags, size, blob_id`, id, u).Scan(&flags, &size, &blobID)
		if err != nil {
			return nil, err
		}
		if _, err := t.exec(`INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)`, id, u, modseq); err != nil {
			return nil, err
		}
		c.add(flags, size, -1)
		blobIDs = append(blobIDs, blobID)
		gone = append(gone, u)
	}
	if len(gone) == 0 {
		return nil, nil
	}
	if err := t.releaseBlobs(blobIDs); err != nil {
		return nil, err
	}
	if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = max(highestmodseq, ?), messages = messages + ?, unseen = unseen + ?, deleted = deleted + ?, size = size + ? WHERE id = ?`,
		modseq, c.messages, c.unseen, c.deleted, c.size, id); err != nil {
		return nil, err
	}
	t.publish(m.event(id, modseq))
	return gone, nil
}

// Copy implements store.Mail.
func (m *mail) Copy(ctx context.Context, from store.MailboxID, uids store.UIDSet, to store.MailboxID) (store.CopyResult, error) {
	var res store.CopyResult
	err := m.s.w.do(ctx, nil, func(t *wtx) error {
		var err error
		res, err = m.copyMessages(t, from, uids, to, false)
		return err
	})
	return res, err
}

// Move implements store.Mail: copy and expunge in one transaction (RFC
// 6851).
func (m *mail) Move(ctx context.Context, from store.MailboxID, uids store.UIDSet, to store.MailboxID) (store.CopyResult, error) {
	var res store.CopyResult
	err := m.s.w.do(ctx, nil, func(t *wtx) error {
		var err error
		res, err = m.copyMessages(t, from, uids, to, true)
		return err
	})
	return res, err
}

// Expunge implements store.Mail.
func (m *mail) Expunge(ctx context.Context, id store.MailboxID, uids store.UIDSet) ([]store.UID, error) {
	var gone []store.UID
	err := m.s.w.do(ctx, nil, func(t *wtx) error {
		gone = nil
		mb, err := t.mailbox(m.acct, id)
		if err != nil {
			return err
		}
		if mb.deleted == 0 {
			return nil // the counter says no message has \Deleted
		}
		set := uids
		if set == nil {
			set = store.AllUIDs()
		}
		spans, filter := uidSpans(set)
		norm := set.Normalize()
		var del []store.UID
		for _, r := range spans {
			rows, err := t.query(`SELECT uid FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND flags & 8 != 0 ORDER BY uid`, id, r.Start, r.Stop)
			if err != nil {
				return err
			}
			for rows.Next() {
				var u store.UID
				if err := rows.Scan(&u); err != nil {
					rows.Close()
					return err
				}
				if !filter || norm.Contains(u) {
					del = append(del, u)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		gone, err = t.expunge(m, id, del, mb.HighestModSeq+1)
		return err
	})
	return gone, err
}

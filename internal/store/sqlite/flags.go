package sqlite

import (
	"context"
	"strings"

	"postfach/internal/store"
)

// StoreFlags implements store.Mail. Messages whose flags do not change keep
// their MODSEQ; the others share one new MODSEQ (RFC 7162 section 3.2).
func (m *mail) StoreFlags(ctx context.Context, id store.MailboxID, uids store.UIDSet, upd store.FlagUpdate) (store.StoreResult, error) {
	kws, err := store.NormalizeKeywords(upd.Keywords)
	if err != nil {
		return store.StoreResult{}, err
	}
	upd.Flags &= allFlags
	var res store.StoreResult
	err = m.s.w.do(ctx, nil, func(t *wtx) error {
		res = store.StoreResult{}
		mb, err := t.mailbox(m.acct, id)
		if err != nil {
			return err
		}
		canon, err := t.keywordSpelling(id)
		if err != nil {
			return err
		}
		spans, filter := uidSpans(uids)
		norm := uids.Normalize()
		type row struct {
			uid    store.UID
			modseq store.ModSeq
			flags  store.Flags
			kw     string
		}
		var list []row
		for _, r := range spans {
			rows, err := t.query(`SELECT uid, modseq, flags, keywords FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, id, r.Start, r.Stop)
			if err != nil {
				return err
			}
			for rows.Next() {
				var x row
				if err := rows.Scan(&x.uid, &x.modseq, &x.flags, &x.kw); err != nil {
					rows.Close()
					return err
				}
				if !filter || norm.Contains(x.uid) {
					list = append(list, x)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		modseq := mb.HighestModSeq + 1
		var c counters
		changed := false
		for _, x := range list {
			old := splitKeywords(x.kw)
			if upd.UnchangedSince != 0 && x.modseq > upd.UnchangedSince {
				// RFC 7162 section 3.1.3: reported as MODIFIED, untouched.
				res.Modified = append(res.Modified, x.uid)
				res.Messages = append(res.Messages, store.FlagResult{UID: x.uid, Flags: x.flags, Keywords: old, ModSeq: x.modseq})
				continue
			}
			flags, newKW := applyFlags(x.flags, old, upd.Op, upd.Flags, kws)
			if flags == x.flags && sameKeywords(old, newKW) {
				res.Messages = append(res.Messages, store.FlagResult{UID: x.uid, Flags: x.flags, Keywords: old, ModSeq: x.modseq})
				continue
			}
			newKW, err := canon.apply(t, newKW)
			if err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`,
				flags, strings.Join(newKW, " "), modseq, id, x.uid); err != nil {
				return err
			}
			c.add(x.flags, 0, -1)
			c.add(flags, 0, 1)
			changed = true
			res.Messages = append(res.Messages, store.FlagResult{UID: x.uid, Flags: flags, Keywords: newKW, ModSeq: modseq, Changed: true})
		}
		if !changed {
			return nil
		}
		if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = ?, unseen = unseen + ?, deleted = deleted + ? WHERE id = ?`,
			modseq, c.unseen, c.deleted, id); err != nil {
			return err
		}
		t.publish(m.event(id, modseq))
		return nil
	})
	return res, err
}

// applyFlags computes a message's flags and keywords after an update.
func applyFlags(flags store.Flags, kws []string, op store.FlagOp, f store.Flags, upd []string) (store.Flags, []string) {
	switch op {
	case store.FlagsReplace:
		return f, upd
	case store.FlagsAdd:
		out := append([]string(nil), kws...)
		for _, k := range upd {
			if !store.HasKeyword(out, k) {
				out = append(out, k)
			}
		}
		store.SortKeywords(out)
		return flags | f, out
	case store.FlagsRemove:
		var out []string
		for _, k := range kws {
			if !store.HasKeyword(upd, k) {
				out = append(out, k)
			}
		}
		return flags &^ f, out
	}
	return flags, kws
}

// sameKeywords compares keyword sets case-insensitively.
func sameKeywords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, k := range a {
		if !store.HasKeyword(b, k) {
			return false
		}
	}
	return true
}

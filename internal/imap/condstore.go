package imap

import (
	"context"
	"slices"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// CONDSTORE and QRESYNC (RFC 7162).
//
// Every message carries a MODSEQ and every expunge leaves a tombstone
// with the MODSEQ of its removal (see the store package), so the server
// always has what both extensions need: a resync reads only what changed
// after the client's MODSEQ (store.Mail.Changes walks an index on MODSEQ),
// never the whole mailbox.

// enableCondStore records a CONDSTORE enabling command (RFC 7162 section
// 3.1): from now on every untagged FETCH carries UID and MODSEQ. The first
// one with a mailbox selected reports the mailbox's HIGHESTMODSEQ, as far
// as the session has reported its changes (section 3.1): the value SELECT
// sent is stale by then if changes were reported since without MODSEQ.
func (c *session) enableCondStore() {
	if !c.condstore && c.sel != nil {
		c.writeHighestModSeq()
	}
	c.condstore = true
}

func (c *session) writeHighestModSeq() {
	c.w.Raw("* OK [HIGHESTMODSEQ ")
	c.w.Number(uint64(c.sel.modseq))
	c.w.Raw("] Highest")
	c.w.CRLF()
}

// writeModSeq writes the MODSEQ fetch data item.
func (c *session) writeModSeq(ms store.ModSeq) {
	c.w.Raw("MODSEQ (")
	c.w.Number(uint64(ms))
	c.w.Raw(")")
}

// writeVanished sends "* VANISHED [(EARLIER)] uid-set" (RFC 7162 section
// 3.2.10). Long sets are split over several responses to keep lines
// bounded.
func (c *session) writeVanished(uids []store.UID, earlier bool) {
	const perLine = 1000
	for len(uids) > 0 {
		n := min(len(uids), perLine)
		c.w.Raw("* VANISHED ")
		if earlier {
			c.w.Raw("(EARLIER) ")
		}
		c.w.Raw(formatUIDSet(uids[:n]))
		c.w.CRLF()
		uids = uids[n:]
	}
}

// inUIDSet reports whether u is in the wire set of UIDs, "*" being max.
func inUIDSet(set *wire.SeqSet, u, max store.UID) bool {
	for _, r := range set.Ranges {
		lo, hi := store.UID(r.Start), store.UID(r.Stop)
		if r.Start == 0 {
			lo = max
		}
		if r.Stop == 0 {
			hi = max
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if lo <= u && u <= hi {
			return true
		}
	}
	return false
}

// expandSet lists the numbers of a sequence set with no "*" (QRESYNC
// sequence match data), bounded so that a hostile set costs nothing.
func expandSet(set *wire.SeqSet, limit int) ([]uint32, bool) {
	var out []uint32
	for _, r := range set.Ranges {
		if r.Start == 0 || r.Stop == 0 {
			return nil, false
		}
		lo, hi := r.Start, r.Stop
		if lo > hi {
			lo, hi = hi, lo
		}
		if int(hi-lo)+len(out) >= limit {
			return nil, false
		}
		for n := lo; ; n++ {
			out = append(out, n)
			if n == hi {
				break
			}
		}
	}
	return out, true
}

// qresyncSelect does the resynchronization part of SELECT/EXAMINE
// (QRESYNC ...) after the mailbox is open (RFC 7162 section 3.2.5): the
// UIDs expunged since the client's MODSEQ as VANISHED (EARLIER), then
// the messages changed since then as FETCH with UID, FLAGS and MODSEQ.
// Only the client's known UIDs count, when it sent them.
func (c *session) qresyncSelect(ctx context.Context, q *wire.QResyncParams) error {
	s := c.sel
	if q.UIDValidity != s.mbox.UIDValidity {
		// Section 3.2.5: ignore the rest, as if nothing changed.
		return nil
	}
	known := func(u store.UID) bool {
		if q.KnownUIDs == nil {
			return u < s.mbox.UIDNext
		}
		return inUIDSet(q.KnownUIDs, u, s.mbox.UIDNext-1)
	}
	// Section 3.2.5.2: a matching (sequence number, UID) pair means the
	// client knows every expunge up to that UID. The store keeps every
	// tombstone, so the report is exact without this; it only narrows
	// it, as clients expect.
	var floor store.UID
	if q.SeqMatchSeqs != nil {
		seqs, ok1 := expandSet(q.SeqMatchSeqs, 1<<16)
		uids, ok2 := expandSet(q.SeqMatchUIDs, 1<<16)
		if !ok1 || !ok2 || len(seqs) != len(uids) {
			return errBad("", "Sequence match data: the two sets differ in size")
		}
		for i, seq := range seqs {
			if int(seq) <= len(s.uids) && s.uids[seq-1] == store.UID(uids[i]) {
				floor = store.UID(uids[i])
			} else {
				break
			}
		}
	}
	cs, err := c.mail.Changes(ctx, s.mbox.ID, store.ModSeq(q.ModSeq))
	if err != nil {
		return err
	}
	var vanished []store.UID
	for _, u := range cs.Expunged {
		// A UID still in our snapshot was expunged after it was read;
		// the session reports it in order, later.
		if u > floor && known(u) && s.index(u) < 0 {
			vanished = append(vanished, u)
		}
	}
	if len(vanished) > 0 {
		c.writeVanished(vanished, true)
	}
	for i := range cs.Changed {
		m := &cs.Changed[i]
		idx := s.index(m.UID)
		if idx < 0 || !known(m.UID) {
			continue // new since the snapshot: EXISTS reports it
		}
		c.writeFlagsFetchModSeq(idx+1, m.UID, m.Flags, m.Keywords, m.ModSeq)
		s.reported[m.UID] = m.ModSeq
	}
	return nil
}

// writeFlagsFetchModSeq is writeFlagsFetch with MODSEQ.
func (c *session) writeFlagsFetchModSeq(seq int, uid store.UID, f store.Flags, kw []string, ms store.ModSeq) {
	c.writeFetchStart(seq, uid)
	if !c.uidOnly {
		c.w.Raw("UID ")
		c.w.Number(uint64(uid))
		c.w.SP()
	}
	c.w.Raw("FLAGS ")
	c.writeFlagList(f, kw, !c.rev2 && c.sel.isRecent(uid))
	c.w.SP()
	c.writeModSeq(ms)
	c.w.Raw(")")
	c.w.CRLF()
}

// changedSpans narrows spans to the messages whose MODSEQ is above since
// (FETCH CHANGEDSINCE, RFC 7162 section 3.1.4.1), reading only what
// changed. With vanished (QRESYNC UID FETCH ... VANISHED, section 3.2.6)
// it also reports the UIDs of the set expunged after since.
func (c *session) changedSpans(ctx context.Context, spans []span, since store.ModSeq, set *wire.SeqSet, vanished bool) ([]span, error) {
	s := c.sel
	cs, err := c.mail.Changes(ctx, s.mbox.ID, since)
	if err != nil {
		return nil, err
	}
	if vanished {
		var gone []store.UID
		for _, u := range cs.Expunged {
			if s.index(u) < 0 && inUIDSet(set, u, s.maxUID()) {
				gone = append(gone, u)
			}
		}
		if len(gone) > 0 {
			c.writeVanished(gone, true)
		}
	}
	var out []span
	for i := range cs.Changed {
		idx := s.index(cs.Changed[i].UID)
		if idx < 0 {
			continue
		}
		j, found := slices.BinarySearchFunc(spans, idx, func(sp span, idx int) int {
			switch {
			case sp.hi <= idx:
				return -1
			case sp.lo > idx:
				return 1
			}
			return 0
		})
		if found {
			_ = j
			out = append(out, span{idx, idx + 1})
		}
	}
	return mergeSpans(out), nil
}

package imap

import (
	"context"
	"errors"
	"slices"
	"sort"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// selected is the state of the selected mailbox: the session's own view
// of the message sequence, which moves only when the session tells the
// client (EXISTS, EXPUNGE).
type selected struct {
	mbox     store.Mailbox
	readOnly bool
	// uids maps sequence numbers to UIDs: seq n is uids[n-1].
	uids []store.UID
	// modseq is the mailbox MODSEQ up to which changes were read.
	modseq store.ModSeq
	// recent holds the UIDs that are \Recent in this session (RFC 3501
	// section 2.3.2), ascending. It may hold UIDs not yet announced.
	recent []store.UID
	// keywords are the keywords announced in FLAGS.
	keywords []string
	// searchRes is the saved search result, "$" (RFC 5182), as UIDs.
	searchRes []store.UID
	// reported maps a UID to the MODSEQ of a flag change this session
	// already reported itself (STORE), so that it is not echoed again.
	reported map[store.UID]store.ModSeq
	// expunged holds UIDs removed by others that the session could not
	// report yet (RFC 9051 section 7.5.1); they keep their sequence
	// numbers until then.
	expunged []store.UID
	// dirty is set when this session changed the mailbox, so the changes
	// are read back before the tagged response even without a wake-up.
	dirty bool
}

// index returns the position of uid in the sequence, or -1.
func (s *selected) index(uid store.UID) int {
	i, ok := slices.BinarySearch(s.uids, uid)
	if !ok {
		return -1
	}
	return i
}

func (s *selected) maxUID() store.UID {
	if len(s.uids) == 0 {
		return 0
	}
	return s.uids[len(s.uids)-1]
}

func (s *selected) isRecent(uid store.UID) bool {
	_, ok := slices.BinarySearch(s.recent, uid)
	return ok
}

// span is a half-open range [lo, hi) of positions in selected.uids.
type span struct{ lo, hi int }

// spans turns a sequence set, of sequence numbers or of UIDs, into
// ascending, disjoint position ranges of the messages the client knows.
// A sequence number beyond the mailbox is an error, unless lenient (as in
// SEARCH, where it simply matches nothing).
func (c *session) spans(set wire.SeqSet, uid, lenient bool) ([]span, error) {
	s := c.sel
	if set.SearchRes {
		// "$" holds UIDs whichever form the command has (RFC 5182).
		var out []span
		for _, u := range s.searchRes {
			if i := s.index(u); i >= 0 {
				out = append(out, span{i, i + 1})
			}
		}
		return mergeSpans(out), nil
	}
	n := len(s.uids)
	out := make([]span, 0, len(set.Ranges))
	for _, r := range set.Ranges {
		if uid {
			// RFC 9051 section 6.4.9: "*" is the largest UID in use, and
			// a range is valid even when it names no existing message.
			lo, hi := store.UID(r.Start), store.UID(r.Stop)
			if r.Start == 0 {
				lo = s.maxUID()
			}
			if r.Stop == 0 {
				hi = s.maxUID()
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			i, _ := slices.BinarySearch(s.uids, lo)
			j, found := slices.BinarySearch(s.uids, hi)
			if found {
				j++
			}
			if i < j {
				out = append(out, span{i, j})
			}
			continue
		}
		lo, hi := int(r.Start), int(r.Stop)
		if r.Start == 0 {
			lo = n
		}
		if r.Stop == 0 {
			hi = n
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if n == 0 || lo < 1 || hi > n {
			if !lenient {
				// RFC 9051 section 9 (seq-number): a number beyond
				// the mailbox is an error.
				return nil, errBad("", "Invalid message sequence number")
			}
			lo, hi = max(lo, 1), min(hi, n)
			if lo > hi {
				continue
			}
		}
		out = append(out, span{lo - 1, hi})
	}
	return mergeSpans(out), nil
}

func mergeSpans(in []span) []span {
	if len(in) < 2 {
		return in
	}
	sort.Slice(in, func(i, j int) bool { return in[i].lo < in[j].lo })
	out := in[:1]
	for _, sp := range in[1:] {
		last := &out[len(out)-1]
		if sp.lo <= last.hi {
			if sp.hi > last.hi {
				last.hi = sp.hi
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// chunkSize bounds how many messages one store call loads, so that memory
// stays flat and no read transaction is held while a slow client reads.
const chunkSize = 1000

// eachChunk calls fn with UID sets of at most chunkSize known messages,
// in ascending order, together with the position of their first message.
func (c *session) eachChunk(spans []span, fn func(set store.UIDSet, lo, hi int) error) error {
	s := c.sel
	for _, sp := range spans {
		for lo := sp.lo; lo < sp.hi; lo += chunkSize {
			hi := min(lo+chunkSize, sp.hi)
			if err := fn(store.UIDSet{{Start: s.uids[lo], Stop: s.uids[hi-1]}}, lo, hi); err != nil {
				return err
			}
		}
	}
	return nil
}

// uidsOf lists the UIDs of the spans.
func (c *session) uidsOf(spans []span) []store.UID {
	var out []store.UID
	for _, sp := range spans {
		out = append(out, c.sel.uids[sp.lo:sp.hi]...)
	}
	return out
}

// uidSetOf turns ascending UIDs into a compact UID set.
func uidSetOf(uids []store.UID) store.UIDSet {
	var set store.UIDSet
	for _, u := range uids {
		if n := len(set); n > 0 && set[n-1].Stop+1 == u {
			set[n-1].Stop = u
			continue
		}
		set = append(set, store.UIDRange{Start: u, Stop: u})
	}
	return set
}

// syncSelected reports what changed in the selected mailbox since the
// session last looked: flag changes as FETCH, new messages as EXISTS (and
// RECENT for IMAP4rev1), and, when allowExpunge, removals as EXPUNGE.
// With force it asks the store even without a wake-up.
func (c *session) syncSelected(ctx context.Context, allowExpunge, force bool) error {
	if c.sub == nil {
		return nil
	}
	p := c.sub.Take()
	if p.AccountRemoved {
		c.bye("The account was removed")
		return errBye
	}
	if err := c.notifyOthers(ctx, p); err != nil {
		return err
	}
	s := c.sel
	if s == nil {
		return nil
	}
	if p.MailboxesChanged {
		if _, err := c.mail.MailboxByID(ctx, s.mbox.ID); errors.Is(err, store.ErrNotFound) {
			// The selected mailbox was deleted by another session:
			// nothing valid can be said about its messages any more.
			c.bye("The selected mailbox was deleted")
			return errBye
		} else if err != nil {
			return err
		}
	}
	need, woken := p.ModSeq(int64(s.mbox.ID))
	if !force && !s.dirty && !(allowExpunge && len(s.expunged) > 0) {
		if !woken || need != 0 && store.ModSeq(need) <= s.modseq {
			// Nothing changed, or only what this session read back
			// already (its own STORE, say).
			return nil
		}
	}
	var (
		cs   store.ChangeSet
		memo *changeEntry
		err  error
	)
	if force || s.dirty || need == 0 {
		// The session's own change, or a change of unknown MODSEQ:
		// read the store as it is now.
		cs, err = c.mail.Changes(ctx, s.mbox.ID, s.modseq)
	} else {
		// A wake-up that the other sessions of the mailbox got too:
		// share one read (notifychanges.go).
		cs, memo, err = c.sharedChanges(ctx, s.mbox.ID, s.modseq, store.ModSeq(need))
	}
	s.dirty = false
	if err != nil {
		return err
	}
	for _, u := range cs.Expunged {
		if s.index(u) >= 0 {
			s.expunged = append(s.expunged, u)
		}
	}
	if allowExpunge && len(s.expunged) > 0 {
		slices.Sort(s.expunged)
		s.expunged = slices.Compact(s.expunged)
		c.reportExpunged(s.expunged)
		s.expunged = nil
	}
	max := s.maxUID()
	var fresh []store.UID
	newKeywords := false
	for i := range cs.Changed {
		m := &cs.Changed[i]
		for _, k := range m.Keywords {
			if !containsFold(s.keywords, k) {
				s.keywords = append(s.keywords, k)
				newKeywords = true
			}
		}
		if m.UID > max {
			fresh = append(fresh, m.UID)
			continue
		}
		idx := s.index(m.UID)
		if idx < 0 {
			continue
		}
		if ms, ok := s.reported[m.UID]; ok && ms >= m.ModSeq {
			continue
		}
		c.writeFlagsFetch(idx+1, m.UID, m.Flags, m.Keywords, m.ModSeq)
	}
	if len(s.reported) > 0 {
		clear(s.reported)
	}
	if newKeywords {
		c.writeFlagsResponse()
	}
	if len(fresh) > 0 {
		s.uids = append(s.uids, fresh...)
		if !s.readOnly && memo.claimOnce() {
			claimed, err := c.mail.ClaimRecent(ctx, s.mbox.ID)
			if err != nil {
				memo.unclaim()
				return err
			}
			s.recent = mergeUIDs(s.recent, claimed)
		}
		c.w.Raw("* ")
		c.w.Number(uint64(len(s.uids)))
		c.w.Raw(" EXISTS")
		c.w.CRLF()
		if !c.rev2 {
			c.writeRecentCount()
		}
		if err := c.notifyNewMessages(ctx, fresh); err != nil {
			return err
		}
	}
	if cs.HighestModSeq > s.modseq {
		s.modseq = cs.HighestModSeq
	}
	return nil
}

// reportExpunged sends EXPUNGE for uids (ascending, all known) and drops
// them from the sequence. The k-th removal, counted from zero, is reported
// at its original sequence number minus k, since each EXPUNGE renumbers
// the messages after it (RFC 9051 section 7.5.1).
func (c *session) reportExpunged(uids []store.UID) {
	s := c.sel
	vanished := c.qresync || c.uidOnly
	if vanished && len(uids) > 0 {
		// RFC 7162 section 3.2.10: VANISHED replaces EXPUNGE; so does
		// UIDONLY (RFC 9586 section 3).
		c.writeVanished(uids, false)
	}
	keep := s.uids[:0:0]
	k := 0
	for i, u := range s.uids {
		if k < len(uids) && uids[k] == u {
			if !vanished {
				c.w.Raw("* ")
				c.w.Number(uint64(i + 1 - k))
				c.w.Raw(" EXPUNGE")
				c.w.CRLF()
			}
			k++
			continue
		}
		keep = append(keep, u)
	}
	s.uids = keep
	s.recent = removeUIDs(s.recent, uids)
	s.searchRes = removeUIDs(s.searchRes, uids)
}

func (c *session) writeRecentCount() {
	s := c.sel
	n := 0
	for _, u := range s.recent {
		if s.index(u) >= 0 {
			n++
		}
	}
	c.w.Raw("* ")
	c.w.Number(uint64(n))
	c.w.Raw(" RECENT")
	c.w.CRLF()
}

// writeFlagsFetch sends an unsolicited "* seq FETCH (UID n FLAGS (...))",
// with MODSEQ once CONDSTORE is on (RFC 7162 section 3.2.4). The UID lets
// clients apply it without knowing our numbering (section 3.2.4 asks for
// it; it does no harm elsewhere).
func (c *session) writeFlagsFetch(seq int, uid store.UID, f store.Flags, kw []string, ms store.ModSeq) {
	if c.condstore {
		c.writeFlagsFetchModSeq(seq, uid, f, kw, ms)
		return
	}
	c.writeFetchStart(seq, uid)
	if !c.uidOnly {
		c.w.Raw("UID ")
		c.w.Number(uint64(uid))
		c.w.SP()
	}
	c.w.Raw("FLAGS ")
	c.writeFlagList(f, kw, !c.rev2 && c.sel.isRecent(uid))
	c.w.Raw(")")
	c.w.CRLF()
}

var systemFlags = []struct {
	flag store.Flags
	name string
}{
	{store.FlagAnswered, `\Answered`},
	{store.FlagFlagged, `\Flagged`},
	{store.FlagDeleted, `\Deleted`},
	{store.FlagSeen, `\Seen`},
	{store.FlagDraft, `\Draft`},
}

func (c *session) writeFlagList(f store.Flags, kw []string, recent bool) {
	c.w.Byte('(')
	first := true
	sp := func() {
		if !first {
			c.w.SP()
		}
		first = false
	}
	for _, sf := range systemFlags {
		if f&sf.flag != 0 {
			sp()
			c.w.Raw(sf.name)
		}
	}
	if recent {
		sp()
		c.w.Raw(`\Recent`)
	}
	for _, k := range kw {
		sp()
		c.w.Atom(k)
	}
	c.w.Byte(')')
}

// writeFlagsResponse sends FLAGS and PERMANENTFLAGS for the selected
// mailbox (RFC 9051 sections 7.3.5 and 7.1).
func (c *session) writeFlagsResponse() {
	s := c.sel
	c.w.Raw(`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft`)
	for _, k := range s.keywords {
		c.w.SP()
		c.w.Atom(k)
	}
	c.w.Raw(")")
	c.w.CRLF()
	if s.readOnly {
		c.w.Raw("* OK [PERMANENTFLAGS ()] Read-only mailbox")
	} else {
		c.w.Raw(`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft`)
		for _, k := range s.keywords {
			c.w.SP()
			c.w.Atom(k)
		}
		c.w.Raw(` \*)] Flags permitted`)
	}
	c.w.CRLF()
}

func mergeUIDs(a, b []store.UID) []store.UID {
	if len(b) == 0 {
		return a
	}
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// removeUIDs returns a without the UIDs in rm (both ascending).
func removeUIDs(a, rm []store.UID) []store.UID {
	if len(a) == 0 || len(rm) == 0 {
		return a
	}
	out := a[:0:0]
	j := 0
	for _, u := range a {
		for j < len(rm) && rm[j] < u {
			j++
		}
		if j < len(rm) && rm[j] == u {
			continue
		}
		out = append(out, u)
	}
	return out
}

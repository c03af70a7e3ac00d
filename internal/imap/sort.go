package imap

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
	"postfach/internal/thread"
)

// SORT, ESORT, SORT=DISPLAY and THREAD (RFC 5256, RFC 5267 section 3,
// RFC 5957). The store sorts and supplies the threading fields; the
// search criteria narrow the result the same way SEARCH does.

var sortFields = map[string]store.SortField{
	"ARRIVAL": store.SortArrival, "CC": store.SortCc, "DATE": store.SortDate,
	"FROM": store.SortFrom, "SIZE": store.SortSize, "SUBJECT": store.SortSubject,
	"TO": store.SortTo, "DISPLAYFROM": store.SortDisplayFrom, "DISPLAYTO": store.SortDisplayTo,
}

// sortScope is the set of messages a SORT or THREAD covers: those the
// session knows (RFC 5256 sorts and threads by sequence number, so only
// those can be reported) that match the search criteria.
type sortScope struct {
	sel *selected
	// match is indexed by position in sel.uids; nil means every message.
	match []bool
	// dense maps uid-base to position+1 when the session's UIDs are
	// dense enough for a table; nil means binary search.
	dense []int32
	base  store.UID
}

// scope runs the search criteria of SORT and THREAD. Criteria that are
// only ALL need no search: every message the session knows matches.
func (c *session) scope(ctx context.Context, charset string, keys []wire.SearchKey) (*sortScope, error) {
	switch charset {
	case "UTF-8", "US-ASCII":
	default:
		// RFC 5256 section 3: UTF-8 and US-ASCII MUST be supported.
		return nil, errNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
	}
	s := &sortScope{sel: c.sel}
	if uids := c.sel.uids; len(uids) > 0 {
		if span := uint64(uids[len(uids)-1] - uids[0]); span < 4*uint64(len(uids))+1024 {
			s.base = uids[0]
			s.dense = make([]int32, span+1)
			for i, u := range uids {
				s.dense[u-s.base] = int32(i + 1)
			}
		}
	}
	c.searchModSeq = false
	if !slices.ContainsFunc(keys, func(k wire.SearchKey) bool { return k.Name != "ALL" }) {
		return s, nil
	}
	var crit store.SearchCriteria
	c.searchCtx = ctx
	if err := c.searchKeys(&crit, keys); err != nil {
		return nil, err
	}
	found, err := c.mail.Search(ctx, c.sel.mbox.ID, &crit)
	if err != nil {
		return nil, err
	}
	s.match = make([]bool, len(c.sel.uids))
	for _, u := range found {
		if i := s.known(u); i >= 0 {
			s.match[i] = true
		}
	}
	return s, nil
}

// known returns the position of uid in the session's sequence, or -1.
func (s *sortScope) known(u store.UID) int {
	if s.dense != nil {
		if u < s.base || uint64(u-s.base) >= uint64(len(s.dense)) {
			return -1
		}
		return int(s.dense[u-s.base]) - 1
	}
	return s.sel.index(u)
}

// pos returns the position of uid in the session's sequence if the
// message is in scope, else -1.
func (s *sortScope) pos(u store.UID) int {
	i := s.known(u)
	if i >= 0 && s.match != nil && !s.match[i] {
		return -1
	}
	return i
}

// uids returns the UIDs in scope, ascending.
func (s *sortScope) uids() []store.UID {
	if s.match == nil {
		return slices.Clone(s.sel.uids)
	}
	var out []store.UID
	for i, ok := range s.match {
		if ok {
			out = append(out, s.sel.uids[i])
		}
	}
	return out
}

// cmdSort runs SORT and UID SORT.
func (c *session) cmdSort(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.SortArgs)
	keys := make([]store.SortKey, len(args.Keys))
	for i, k := range args.Keys {
		keys[i] = store.SortKey{Field: sortFields[k.Key], Reverse: k.Reverse}
	}
	var out []uint64
	var rel []uint8
	var matched func() []store.UID // ascending, for MODSEQ
	if withRelevancy(args) {
		sorted, scores, err := c.sortRelevancy(ctx, args) // RFC 6203 relevancy (fuzzy.go)
		if err != nil {
			return err
		}
		var uids []store.UID
		for _, u := range sorted {
			if i := c.sel.index(u); i >= 0 {
				rel = append(rel, scores[u])
				out = append(out, c.num(cmd.UID, u, i))
				uids = append(uids, u)
			}
		}
		matched = func() []store.UID { slices.Sort(uids); return uids }
	} else {
		scope, err := c.scope(ctx, args.Charset, args.Criteria)
		if err != nil {
			return err
		}
		matched = scope.uids
		sorted, err := c.mail.Sort(ctx, c.sel.mbox.ID, keys)
		if err != nil {
			return err
		}
		out = make([]uint64, 0, len(sorted))
		for _, u := range sorted {
			if i := scope.pos(u); i >= 0 {
				out = append(out, c.num(cmd.UID, u, i))
			}
		}
	}
	// RFC 7162 sections 3.1.9 and 3.1.10: with a MODSEQ criterion, the
	// highest MODSEQ of the messages returned.
	var highest store.ModSeq
	if c.searchModSeq && len(out) > 0 {
		var err error
		if highest, err = c.highestModSeq(ctx, matched()); err != nil {
			return err
		}
	}
	if !args.HasReturn {
		b := make([]byte, 0, 16+len(out)*8)
		b = append(b, "* SORT"...)
		for _, n := range out {
			b = append(b, ' ')
			b = strconv.AppendUint(b, n, 10)
		}
		c.w.Raw(string(b))
		if highest != 0 {
			c.w.Raw(" (MODSEQ ")
			c.w.Number(uint64(highest))
			c.w.Raw(")")
		}
		c.w.CRLF()
		return nil
	}
	// ESORT (RFC 5267 section 3.1): an ESEARCH response; MIN and MAX are
	// the first and last messages in sort order, ALL keeps sort order.
	opts := args.Return
	if len(opts) == 0 {
		opts = []string{"ALL"}
	}
	c.w.Raw(`* ESEARCH (TAG `)
	c.w.String(cmd.Tag)
	c.w.Raw(")")
	if cmd.UID {
		c.w.Raw(" UID")
	}
	if slices.Contains(opts, "MIN") && len(out) > 0 {
		c.w.Raw(" MIN ")
		c.w.Number(out[0])
	}
	if slices.Contains(opts, "MAX") && len(out) > 0 {
		c.w.Raw(" MAX ")
		c.w.Number(out[len(out)-1])
	}
	if slices.Contains(opts, "COUNT") {
		c.w.Raw(" COUNT ")
		c.w.Number(uint64(len(out)))
	}
	if slices.Contains(opts, "ALL") && len(out) > 0 {
		c.w.Raw(" ALL ")
		c.w.Raw(orderedSet(out))
	}
	if highest != 0 {
		c.w.Raw(" MODSEQ ")
		c.w.Number(uint64(highest))
	}
	if slices.Contains(opts, "RELEVANCY") {
		c.writeRelevancy(rel) // RFC 6203 section 6, in sort order
	}
	c.w.CRLF()
	return nil
}

// orderedSet writes numbers in the given order as a sequence set, with
// ascending runs as ranges (RFC 5267 section 3.2: ranges only upward).
func orderedSet(nums []uint64) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(nums[i], 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(nums[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

// num is what a response shows for the message uid at position i of the
// session's sequence: its UID or its sequence number.
func (c *session) num(uid bool, u store.UID, i int) uint64 {
	if uid {
		return uint64(u)
	}
	return uint64(i + 1)
}

// cmdThread runs THREAD and UID THREAD.
func (c *session) cmdThread(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.ThreadArgs)
	scope, err := c.scope(ctx, args.Charset, args.Criteria)
	if err != nil {
		return err
	}
	keys, err := c.mail.ThreadKeys(ctx, c.sel.mbox.ID)
	if err != nil {
		return err
	}
	msgs := make([]thread.Message, 0, len(keys.UIDs))
	for i, u := range keys.UIDs {
		p := scope.pos(u)
		if p < 0 {
			continue
		}
		msgs = append(msgs, thread.Message{Num: uint32(c.num(cmd.UID, u, p)), Date: keys.Dates[i],
			ID: keys.IDs[i], Refs: keys.References(i), Subject: keys.Subjects[i], Reply: keys.Reply[i]})
	}
	var threads *thread.Forest
	if args.Algorithm == "REFERENCES" {
		threads = thread.References(msgs)
	} else {
		threads = thread.OrderedSubject(msgs)
	}
	b := make([]byte, 0, 16+len(msgs)*10)
	b = append(b, "* THREAD"...)
	if threads.Threads() > 0 {
		b = append(b, ' ')
		b = threads.Append(b)
	}
	c.w.Raw(string(b))
	c.w.CRLF()
	return nil
}

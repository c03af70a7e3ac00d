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

// matching runs the search criteria of SORT and THREAD and returns the
// matching messages the session knows, as a set.
func (c *session) matching(ctx context.Context, charset string, keys []wire.SearchKey) (map[store.UID]bool, error) {
	switch charset {
	case "UTF-8", "US-ASCII":
	default:
		// RFC 5256 section 3: UTF-8 and US-ASCII MUST be supported.
		return nil, errNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
	}
	var crit store.SearchCriteria
	c.searchModSeq = false
	c.searchCtx = ctx
	if err := c.searchKeys(&crit, keys); err != nil {
		return nil, err
	}
	found, err := c.mail.Search(ctx, c.sel.mbox.ID, &crit)
	if err != nil {
		return nil, err
	}
	set := make(map[store.UID]bool, len(found))
	for _, u := range found {
		if c.sel.index(u) >= 0 {
			set[u] = true
		}
	}
	return set, nil
}

// cmdSort runs SORT and UID SORT.
func (c *session) cmdSort(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.SortArgs)
	keys := make([]store.SortKey, len(args.Keys))
	for i, k := range args.Keys {
		keys[i] = store.SortKey{Field: sortFields[k.Key], Reverse: k.Reverse}
	}
	var match map[store.UID]bool
	var sorted []store.UID
	var scores map[store.UID]uint8 // RFC 6203 relevancy (fuzzy.go)
	var err error
	if withRelevancy(args) {
		if sorted, scores, err = c.sortRelevancy(ctx, args); err != nil {
			return err
		}
		match = make(map[store.UID]bool, len(sorted))
		for _, u := range sorted {
			match[u] = true
		}
	} else {
		if match, err = c.matching(ctx, args.Charset, args.Criteria); err != nil {
			return err
		}
		if sorted, err = c.mail.Sort(ctx, c.sel.mbox.ID, keys); err != nil {
			return err
		}
	}
	out := make([]uint64, 0, len(match))
	var rel []uint8
	for _, u := range sorted {
		if match[u] {
			if scores != nil {
				rel = append(rel, scores[u])
			}
			if cmd.UID {
				out = append(out, uint64(u))
			} else {
				out = append(out, uint64(c.sel.index(u)+1))
			}
		}
	}
	// RFC 7162 sections 3.1.9 and 3.1.10: with a MODSEQ criterion, the
	// highest MODSEQ of the messages returned.
	var highest store.ModSeq
	if c.searchModSeq && len(match) > 0 {
		uids := make([]store.UID, 0, len(match))
		for u := range match {
			uids = append(uids, u)
		}
		slices.Sort(uids)
		if highest, err = c.highestModSeq(ctx, uids); err != nil {
			return err
		}
	}
	if !args.HasReturn {
		c.w.Raw("* SORT")
		for _, n := range out {
			c.w.SP()
			c.w.Number(n)
		}
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

// cmdThread runs THREAD and UID THREAD.
func (c *session) cmdThread(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.ThreadArgs)
	match, err := c.matching(ctx, args.Charset, args.Criteria)
	if err != nil {
		return err
	}
	infos, err := c.mail.ThreadInfo(ctx, c.sel.mbox.ID)
	if err != nil {
		return err
	}
	msgs := make([]thread.Message, 0, len(match))
	for _, ti := range infos {
		if !match[ti.UID] {
			continue
		}
		num := uint32(ti.UID)
		if !cmd.UID {
			num = uint32(c.sel.index(ti.UID) + 1)
		}
		msgs = append(msgs, thread.Message{Num: num, MessageID: ti.MessageID, References: ti.References,
			BaseSubject: ti.BaseSubject, Reply: ti.Reply, Date: ti.Date})
	}
	var roots []*thread.Node
	if args.Algorithm == "REFERENCES" {
		roots = thread.References(msgs)
	} else {
		roots = thread.OrderedSubject(msgs)
	}
	var b strings.Builder
	b.WriteString("* THREAD")
	if len(roots) > 0 {
		b.WriteByte(' ')
		thread.Format(&b, roots)
	}
	c.w.Raw(b.String())
	c.w.CRLF()
	return nil
}

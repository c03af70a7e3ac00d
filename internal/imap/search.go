package imap

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// cmdSearch runs SEARCH and UID SEARCH (RFC 9051 section 6.4.4) with the
// ESEARCH (RFC 4731) and SEARCHRES (RFC 5182) return options.
func (c *session) cmdSearch(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.SearchArgs)
	s := c.sel
	save := slices.Contains(args.Return, "SAVE")
	var crit store.SearchCriteria
	c.searchModSeq = false
	c.searchCtx = ctx
	if err := c.searchKeys(&crit, args.Criteria); err != nil {
		return err // a BAD leaves "$" as it was (RFC 5182 section 2.1)
	}
	relevancy := slices.Contains(args.Return, "RELEVANCY")
	if relevancy && !usesFuzzy(args.Criteria) {
		return errRelevancyWithoutFuzzy()
	}
	if save {
		// A SEARCH (SAVE) that fails with NO leaves "$" empty.
		s.searchRes = []store.UID{}
	}
	switch args.Charset {
	case "", "UTF-8", "US-ASCII":
	default:
		return errNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
	}
	var found []store.UID
	var scores []uint8 // RFC 6203 relevancy, parallel to found
	var err error
	if relevancy {
		found, scores, err = c.searchScored(ctx, &crit)
	} else {
		found, err = c.mail.Search(ctx, s.mbox.ID, &crit)
	}
	if err != nil {
		return err
	}
	// Only messages the client knows of may be reported.
	uids := found[:0:0]
	var rel []uint8
	for i, u := range found {
		if s.index(u) >= 0 {
			uids = append(uids, u)
			if relevancy {
				rel = append(rel, scores[i])
			}
		}
	}
	num := func(u store.UID) uint64 {
		if cmd.UID {
			return uint64(u)
		}
		return uint64(s.index(u) + 1)
	}
	// RFC 7162 section 3.1.6: a search with MODSEQ reports the highest
	// MODSEQ of the messages it returns.
	var highest store.ModSeq
	if c.searchModSeq && len(uids) > 0 {
		if highest, err = c.highestModSeq(ctx, uids); err != nil {
			return err
		}
	}
	if !args.HasReturn && !c.rev2 {
		c.w.Raw("* SEARCH")
		for _, u := range uids {
			c.w.SP()
			c.w.Number(num(u))
		}
		if highest != 0 {
			c.w.Raw(" (MODSEQ ")
			c.w.Number(uint64(highest))
			c.w.Raw(")")
		}
		c.w.CRLF()
		return nil
	}
	// IMAP4rev2 answers a plain SEARCH with ESEARCH ALL, and RETURN ()
	// means ALL as well (RFC 4731 section 3.1).
	opts := args.Return
	if len(opts) == 0 {
		opts = []string{"ALL"}
	}
	has := func(o string) bool { return slices.Contains(opts, o) }
	var page []store.UID // PARTIAL's selection (RFC 9394)
	if args.Partial != nil {
		lo, hi := partialBounds(args.Partial, len(uids))
		page = uids[lo:hi]
		if relevancy {
			rel = rel[lo:hi] // the scores of the messages reported
		}
	}
	if save {
		// RFC 5182 section 2.4: with MIN or MAX alone, "$" holds just
		// those messages; RFC 9394 section 3.2: with PARTIAL, the page
		// (and MIN and MAX), unless COUNT asks for all.
		switch {
		case has("ALL") || has("COUNT") || !has("MIN") && !has("MAX") && args.Partial == nil:
			s.searchRes = slices.Clone(uids)
		case len(uids) > 0:
			res := slices.Clone(page)
			if has("MIN") {
				res = append(res, uids[0])
			}
			if has("MAX") {
				res = append(res, uids[len(uids)-1])
			}
			slices.Sort(res)
			s.searchRes = slices.Compact(res)
		}
		if len(opts) == 1 {
			return nil // RETURN (SAVE) alone answers nothing
		}
	}
	c.w.Raw(`* ESEARCH (TAG `)
	c.w.String(cmd.Tag)
	c.w.Raw(")")
	if cmd.UID {
		c.w.Raw(" UID")
	}
	if has("MIN") && len(uids) > 0 {
		c.w.Raw(" MIN ")
		c.w.Number(num(uids[0]))
	}
	if has("MAX") && len(uids) > 0 {
		c.w.Raw(" MAX ")
		c.w.Number(num(uids[len(uids)-1]))
	}
	if has("COUNT") {
		c.w.Raw(" COUNT ")
		c.w.Number(uint64(len(uids)))
	}
	if args.Partial != nil {
		c.w.Raw(" PARTIAL (")
		c.w.Raw(formatPartialRange(args.Partial))
		c.w.SP()
		if len(page) == 0 {
			c.w.Raw("NIL")
		} else {
			nums := make([]store.UID, len(page))
			for i, u := range page {
				nums[i] = store.UID(num(u))
			}
			c.w.Raw(formatUIDSet(nums))
		}
		c.w.Raw(")")
	}
	if has("ALL") && len(uids) > 0 {
		c.w.Raw(" ALL ")
		nums := make([]store.UID, len(uids))
		for i, u := range uids {
			nums[i] = store.UID(num(u))
		}
		c.w.Raw(formatUIDSet(nums))
	}
	if relevancy {
		// RFC 6203 section 4: the scores, in the order of ALL (or of
		// the PARTIAL page).
		c.writeRelevancy(rel)
	}
	if highest != 0 {
		// RFC 7162 section 3.1.10.
		c.w.Raw(" MODSEQ ")
		c.w.Number(uint64(highest))
	}
	c.w.CRLF()
	return nil
}

// highestModSeq returns the largest MODSEQ among known messages.
func (c *session) highestModSeq(ctx context.Context, uids []store.UID) (store.ModSeq, error) {
	var highest store.ModSeq
	for len(uids) > 0 {
		n := min(len(uids), chunkSize)
		msgs, err := c.mail.Messages(ctx, c.sel.mbox.ID, uidSetOf(uids[:n]), store.FetchOptions{})
		if err != nil {
			return 0, err
		}
		for i := range msgs {
			highest = max(highest, msgs[i].ModSeq)
		}
		uids = uids[n:]
	}
	return highest, nil
}

// searchKeys adds the conjunction of keys to crit.
func (c *session) searchKeys(crit *store.SearchCriteria, keys []wire.SearchKey) error {
	for i := range keys {
		if err := c.searchKey(crit, &keys[i]); err != nil {
			return err
		}
	}
	return nil
}

func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func validText(s string) error {
	if !utf8.ValidString(s) {
		return errBad("", "Search text is not valid UTF-8")
	}
	return nil
}

// searchKey translates one key. Message numbers, \Recent, NEW and OLD are
// session state: they become UID sets here, so the store sees UIDs only.
func (c *session) searchKey(crit *store.SearchCriteria, k *wire.SearchKey) error {
	s := c.sel
	switch k.Name {
	case "ALL":
	case "ANSWERED":
		crit.Flags |= store.FlagAnswered
	case "DELETED":
		crit.Flags |= store.FlagDeleted
	case "DRAFT":
		crit.Flags |= store.FlagDraft
	case "FLAGGED":
		crit.Flags |= store.FlagFlagged
	case "SEEN":
		crit.Flags |= store.FlagSeen
	case "UNANSWERED":
		crit.NotFlags |= store.FlagAnswered
	case "UNDELETED":
		crit.NotFlags |= store.FlagDeleted
	case "UNDRAFT":
		crit.NotFlags |= store.FlagDraft
	case "UNFLAGGED":
		crit.NotFlags |= store.FlagFlagged
	case "UNSEEN":
		crit.NotFlags |= store.FlagSeen
	case "RECENT":
		crit.UIDs = append(crit.UIDs, nonNil(uidSetOf(s.recent)))
	case "NEW":
		crit.UIDs = append(crit.UIDs, nonNil(uidSetOf(s.recent)))
		crit.NotFlags |= store.FlagSeen
	case "OLD":
		if len(s.recent) > 0 {
			crit.Not = append(crit.Not, store.SearchCriteria{UIDs: []store.UIDSet{uidSetOf(s.recent)}})
		}
	case "KEYWORD", "UNKEYWORD":
		if _, kw, err := parseFlags([]string{k.String}, s.keywords); err != nil {
			return err
		} else if len(kw) == 0 {
			return errBad("", "KEYWORD needs a keyword, not a system flag")
		} else if k.Name == "KEYWORD" {
			crit.Keywords = append(crit.Keywords, kw[0])
		} else {
			crit.NotKeywords = append(crit.NotKeywords, kw[0])
		}
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		if err := validText(k.String); err != nil {
			return err
		}
		crit.Header = append(crit.Header, store.HeaderMatch{Field: k.Name, Value: k.String})
	case "HEADER":
		if err := validText(k.String); err != nil {
			return err
		}
		crit.Header = append(crit.Header, store.HeaderMatch{Field: k.Field, Value: k.String})
	case "BODY":
		if err := validText(k.String); err != nil {
			return err
		}
		crit.Body = append(crit.Body, k.String)
	case "TEXT":
		if err := validText(k.String); err != nil {
			return err
		}
		crit.Text = append(crit.Text, k.String)
	case "BEFORE":
		crit.Before = earlier(crit.Before, day(k.Date))
	case "SINCE":
		crit.Since = later(crit.Since, day(k.Date))
	case "ON":
		crit.Since = later(crit.Since, day(k.Date))
		crit.Before = earlier(crit.Before, day(k.Date).AddDate(0, 0, 1))
	case "SENTBEFORE":
		crit.SentBefore = earlier(crit.SentBefore, day(k.Date))
	case "SENTSINCE":
		crit.SentSince = later(crit.SentSince, day(k.Date))
	// RFC 8514: the save date's calendar day, in UTC.
	case "SAVEDBEFORE":
		crit.SavedBefore = earlier(crit.SavedBefore, day(k.Date))
	case "SAVEDSINCE":
		crit.SavedSince = later(crit.SavedSince, day(k.Date))
	case "SAVEDON":
		crit.SavedSince = later(crit.SavedSince, day(k.Date))
		crit.SavedBefore = earlier(crit.SavedBefore, day(k.Date).AddDate(0, 0, 1))
	case "EMAILID", "THREADID":
		// RFC 8474 section 6.
		set, err := c.objectIDSearch(c.searchCtx, k.Name, k.String)
		if err != nil {
			return err
		}
		crit.UIDs = append(crit.UIDs, set)
	case "SAVEDATESUPPORTED":
		// RFC 8514 section 4.2: every mailbox keeps save dates, so
		// this matches every message.
	case "SENTON":
		crit.SentSince = later(crit.SentSince, day(k.Date))
		crit.SentBefore = earlier(crit.SentBefore, day(k.Date).AddDate(0, 0, 1))
	case "LARGER":
		crit.Larger = append(crit.Larger, int64(k.Number))
	case "SMALLER":
		crit.Smaller = append(crit.Smaller, int64(k.Number))
	case "OLDER":
		// RFC 5032: internal date at least n seconds ago.
		crit.Older = earlier(crit.Older, time.Now().Add(-time.Duration(k.Number)*time.Second))
	case "YOUNGER":
		crit.Younger = later(crit.Younger, time.Now().Add(-time.Duration(k.Number)*time.Second))
	case "UID":
		crit.UIDs = append(crit.UIDs, c.searchUIDSet(k.Set, true))
	case "SEQSET":
		crit.UIDs = append(crit.UIDs, c.searchUIDSet(k.Set, false))
	case "FUZZY":
		return c.fuzzyKey(crit, &k.Children[0]) // RFC 6203, fuzzy.go
	case "NOT":
		var sub store.SearchCriteria
		if err := c.searchKeys(&sub, k.Children[:1]); err != nil {
			return err
		}
		crit.Not = append(crit.Not, sub)
	case "OR":
		var a, b store.SearchCriteria
		if err := c.searchKeys(&a, k.Children[:1]); err != nil {
			return err
		}
		if err := c.searchKeys(&b, k.Children[1:2]); err != nil {
			return err
		}
		crit.Or = append(crit.Or, [2]store.SearchCriteria{a, b})
	case "AND":
		return c.searchKeys(crit, k.Children)
	case "MODSEQ":
		// RFC 7162 section 3.1.5; a CONDSTORE enabling command. The
		// entry name and type are accepted and ignored: flags share
		// one MODSEQ per message (section 3.1.12).
		c.enableCondStore()
		c.searchModSeq = true
		if store.ModSeq(k.Number) > crit.ModSeq {
			crit.ModSeq = store.ModSeq(k.Number)
		}
	default:
		return errBad("", "Unsupported search key "+k.Name)
	}
	return nil
}

// searchUIDSet turns a sequence set in a search key into the UIDs of the
// messages it names. Unlike FETCH, numbers beyond the mailbox simply match
// nothing.
func (c *session) searchUIDSet(set wire.SeqSet, uid bool) store.UIDSet {
	spans, _ := c.spans(set, uid, true)
	out := make(store.UIDSet, 0, len(spans))
	for _, sp := range spans {
		// Between two known UIDs there are only expunged ones.
		out = append(out, store.UIDRange{Start: c.sel.uids[sp.lo], Stop: c.sel.uids[sp.hi-1]})
	}
	return out
}

// nonNil keeps an empty set from reading as "no condition": an empty
// UID set matches nothing.
func nonNil(set store.UIDSet) store.UIDSet {
	if set == nil {
		return store.UIDSet{}
	}
	return set
}

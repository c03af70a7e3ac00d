package imap

import (
	"context"
	"slices"
	"sort"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// MULTISEARCH (RFC 7377): ESEARCH searches several mailboxes in one
// command and answers with one ESEARCH response per mailbox that has
// matches, correlated by TAG, MAILBOX and UIDVALIDITY, always with UIDs.
// It never changes which mailbox is selected.
//
// Each mailbox is searched as SEARCH would search it if it were selected:
// the selected mailbox through the session's own view (its sequence
// numbers, \Recent, "$"), any other through a snapshot of it, whose
// sequence numbers are its messages' positions and which has no \Recent
// messages and no saved result. RETURN (RELEVANCY) (RFC 6203 section 4)
// scores each mailbox's matches as SEARCH does: the best match of a
// mailbox scores 100.

// cmdESearch runs ESEARCH (RFC 7377 section 2).
func (c *session) cmdESearch(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.ESearchArgs)
	sa := args.Search
	sources := args.Sources
	if sources == nil {
		// Section 2.2: without source options, the selected mailbox.
		sources = []wire.MailboxFilter{{Filter: "SELECTED"}}
	}
	onlySelected := true
	for _, f := range sources {
		if f.Filter == "SELECTED" {
			if c.sel == nil {
				return errBad("", "ESEARCH of the selected mailbox needs one selected")
			}
		} else {
			onlySelected = false
		}
	}
	save := slices.Contains(sa.Return, "SAVE")
	if save && !onlySelected {
		// Section 2.2: SAVE only with "selected" alone.
		return errBad("", "RETURN (SAVE) is only allowed when searching the selected mailbox alone")
	}
	if err := c.uidRequired(sa.Criteria); err != nil {
		return err
	}
	if slices.Contains(sa.Return, "RELEVANCY") && !usesFuzzy(sa.Criteria) {
		// RFC 6203 section 4, refused as SEARCH refuses it: before any
		// mailbox is searched.
		return errRelevancyWithoutFuzzy()
	}
	switch sa.Charset {
	case "", "UTF-8", "US-ASCII":
	default:
		return errNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset")
	}
	if hasModSeqKey(sa.Criteria) {
		// The MODSEQ key enables CONDSTORE (RFC 7162 section 3.1) for
		// the session and its selected mailbox, not for the mailboxes
		// searched: enable it before any of them stands in for the
		// selected one.
		c.enableCondStore()
	}
	boxes, err := c.esearchMailboxes(ctx, sources)
	if err != nil {
		return err
	}
	for i := range boxes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.esearchOne(ctx, cmd.Tag, &boxes[i], sa, save); err != nil {
			return err
		}
	}
	return nil
}

// esearchMailboxes lists the mailboxes the filters name, each once, in
// LIST order (INBOX first). Names that name no mailbox are left out, as
// mailboxes the user may not read would be (section 2.2): the answer does
// not tell them apart.
func (c *session) esearchMailboxes(ctx context.Context, filters []wire.MailboxFilter) ([]store.Mailbox, error) {
	all, err := c.mail.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	type filter struct {
		kind  string
		names []string
	}
	fs := make([]filter, 0, len(filters))
	for _, f := range filters {
		ff := filter{kind: f.Filter}
		for _, raw := range f.Mailboxes {
			name, err := c.mailboxName(raw)
			if err != nil {
				return nil, err
			}
			ff.names = append(ff.names, strings.TrimSuffix(name, "/"))
		}
		fs = append(fs, ff)
	}
	matches := func(mb *store.Mailbox) bool {
		for _, f := range fs {
			switch f.kind {
			case "SELECTED":
				if c.sel != nil && c.sel.mbox.ID == mb.ID {
					return true
				}
			case "INBOXES":
				// Mailboxes that receive mail: INBOX (delivery goes
				// nowhere else).
				if mb.Name == "INBOX" {
					return true
				}
			case "PERSONAL":
				return true
			case "SUBSCRIBED":
				if mb.Subscribed {
					return true
				}
			case "MAILBOXES":
				if slices.Contains(f.names, mb.Name) {
					return true
				}
			case "SUBTREE", "SUBTREE-ONE":
				// Section 2.2: SUBTREE goes down the whole hierarchy,
				// SUBTREE-ONE one level. Names are strings, not links:
				// there are no loops to defend against.
				for _, n := range f.names {
					rest, ok := strings.CutPrefix(mb.Name, n+"/")
					if mb.Name == n || ok && (f.kind == "SUBTREE" || !strings.Contains(rest, "/")) {
						return true
					}
				}
			}
		}
		return false
	}
	var out []store.Mailbox
	for i := range all {
		if matches(&all[i]) {
			out = append(out, all[i])
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Name, out[j].Name
		if (a == "INBOX") != (b == "INBOX") {
			return a == "INBOX"
		}
		return a < b
	})
	return out, nil
}

// esearchOne searches one mailbox and writes its ESEARCH response, if it
// has matches (section 2.1: none for a mailbox without).
func (c *session) esearchOne(ctx context.Context, tag string, mb *store.Mailbox, sa *wire.SearchArgs, save bool) error {
	if c.sel != nil && c.sel.mbox.ID == mb.ID {
		return c.esearchIn(ctx, tag, sa, save)
	}
	snap, err := c.mail.Snapshot(ctx, mb.ID)
	if err != nil {
		return err
	}
	view := &selected{
		mbox:     snap.Mailbox,
		readOnly: true,
		uids:     snap.UIDs,
		modseq:   snap.Mailbox.HighestModSeq,
		keywords: snap.Keywords,
		reported: map[store.UID]store.ModSeq{},
	}
	// The search keys read the selected mailbox's state; for the time of
	// the search, that is this mailbox's snapshot.
	saved := c.sel
	c.sel = view
	defer func() { c.sel = saved }()
	return c.esearchIn(ctx, tag, sa, false)
}

// esearchIn searches c.sel and writes the response.
func (c *session) esearchIn(ctx context.Context, tag string, sa *wire.SearchArgs, save bool) error {
	s := c.sel
	var crit store.SearchCriteria
	c.searchModSeq = false
	c.searchCtx = ctx
	if err := c.searchKeys(&crit, sa.Criteria); err != nil {
		return err
	}
	if save {
		// RFC 5182 section 2.1: a search that fails leaves "$" empty.
		s.searchRes = []store.UID{}
	}
	relevancy := slices.Contains(sa.Return, "RELEVANCY")
	uids, rel, err := c.searchKnown(ctx, &crit, relevancy)
	if err != nil {
		return err
	}
	opts := sa.Return
	if len(opts) == 0 {
		// Section 2.1: with no result option, ALL.
		opts = []string{"ALL"}
	}
	has := func(o string) bool { return slices.Contains(opts, o) }
	var page []store.UID
	if sa.Partial != nil {
		lo, hi := partialBounds(sa.Partial, len(uids))
		page = uids[lo:hi]
		if relevancy {
			rel = rel[lo:hi] // the scores of the messages reported
		}
	}
	if save {
		s.searchRes = savedResult(opts, uids, page, sa.Partial != nil)
		if len(opts) == 1 {
			return nil
		}
	}
	if len(uids) == 0 {
		return nil
	}
	var highest store.ModSeq
	if c.searchModSeq {
		// RFC 7162 section 3.1.10.
		if highest, err = c.highestModSeq(ctx, uids); err != nil {
			return err
		}
	}
	c.w.Raw(`* ESEARCH (TAG `)
	c.w.String(tag)
	c.w.Raw(" MAILBOX ")
	c.w.Mailbox(s.mbox.Name, c.rev2)
	c.w.Raw(" UIDVALIDITY ")
	c.w.Number(uint64(s.mbox.UIDValidity))
	c.w.Raw(") UID")
	if has("MIN") {
		c.w.Raw(" MIN ")
		c.w.Number(uint64(uids[0]))
	}
	if has("MAX") {
		c.w.Raw(" MAX ")
		c.w.Number(uint64(uids[len(uids)-1]))
	}
	if has("COUNT") {
		c.w.Raw(" COUNT ")
		c.w.Number(uint64(len(uids)))
	}
	if sa.Partial != nil {
		c.w.Raw(" PARTIAL (")
		c.w.Raw(formatPartialRange(sa.Partial))
		c.w.SP()
		if len(page) == 0 {
			c.w.Raw("NIL")
		} else {
			c.w.Raw(formatUIDSet(page))
		}
		c.w.Raw(")")
	}
	if has("ALL") {
		c.w.Raw(" ALL ")
		c.w.Raw(formatUIDSet(uids))
	}
	if relevancy {
		// RFC 6203 section 4: the scores, in the order of ALL (or of
		// the PARTIAL page), as SEARCH gives them.
		c.writeRelevancy(rel)
	}
	if highest != 0 {
		c.w.Raw(" MODSEQ ")
		c.w.Number(uint64(highest))
	}
	c.w.CRLF()
	return nil
}

// savedResult is what "$" holds after a search with RETURN (SAVE ...),
// as SEARCH and ESEARCH both define it: uids are the matches, page the
// PARTIAL page when partial. With MIN or MAX, just those messages (RFC
// 5182 section 2.4); with PARTIAL, the page and MIN and MAX (RFC 9394
// section 3.2); with ALL or COUNT, or none of those, every match: other
// options such as RELEVANCY do not narrow it.
func savedResult(opts []string, uids, page []store.UID, partial bool) []store.UID {
	if len(uids) == 0 {
		return []store.UID{}
	}
	has := func(o string) bool { return slices.Contains(opts, o) }
	if has("ALL") || has("COUNT") || !has("MIN") && !has("MAX") && !partial {
		return slices.Clone(uids)
	}
	res := append(make([]store.UID, 0, len(page)+2), page...)
	if has("MIN") {
		res = append(res, uids[0])
	}
	if has("MAX") {
		res = append(res, uids[len(uids)-1])
	}
	slices.Sort(res)
	return slices.Compact(res)
}

// hasModSeqKey reports whether the criteria use the MODSEQ key.
func hasModSeqKey(keys []wire.SearchKey) bool {
	for i := range keys {
		if keys[i].Name == "MODSEQ" || hasModSeqKey(keys[i].Children) {
			return true
		}
	}
	return false
}

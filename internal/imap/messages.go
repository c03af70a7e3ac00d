package imap

import (
	"context"
	"strconv"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// cmdStore runs STORE (RFC 9051 section 6.4.6).
func (c *session) cmdStore(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.StoreArgs)
	if err := c.writable(); err != nil {
		return err
	}
	if args.HasUnchangedSince {
		// A CONDSTORE enabling command (RFC 7162 section 3.1).
		c.enableCondStore()
	}
	spans, err := c.spans(args.Set, cmd.UID, false)
	if err != nil {
		return err
	}
	s := c.sel
	f, kw, err := parseFlags(args.Flags, s.keywords)
	if err != nil {
		return err
	}
	upd := store.FlagUpdate{Op: store.FlagsReplace, Flags: f, Keywords: kw}
	switch args.Op {
	case '+':
		upd.Op = store.FlagsAdd
	case '-':
		upd.Op = store.FlagsRemove
	}
	if args.HasUnchangedSince && args.UnchangedSince == 0 {
		// RFC 7162 section 3.1.3: UNCHANGEDSINCE 0 fails for every
		// message, since system flags always exist.
		c.okCode = "MODIFIED " + c.formatNumbers(c.uidsOf(spans), cmd.UID)
		return nil
	}
	upd.UnchangedSince = store.ModSeq(args.UnchangedSince)
	s.dirty = true
	var modified []store.UID
	err = c.eachChunk(spans, func(set store.UIDSet, lo, hi int) error {
		res, err := c.mail.StoreFlags(ctx, s.mbox.ID, set, upd)
		if err != nil {
			return err
		}
		for _, u := range res.Modified {
			if idx := s.index(u); idx >= lo && idx < hi {
				modified = append(modified, u)
			}
		}
		for _, r := range res.Messages {
			idx := s.index(r.UID)
			if idx < lo || idx >= hi {
				continue
			}
			if r.Changed {
				s.reported[r.UID] = r.ModSeq
			}
			// RFC 7162 sections 3.1.3 and 3.2.4: once CONDSTORE is on,
			// a changed message is reported with its new MODSEQ even
			// with .SILENT.
			silent := args.Silent
			if silent && !(c.condstore && r.Changed) {
				continue
			}
			// What this response reports is not reported again: a
			// message another session changed, which failed
			// UNCHANGEDSINCE, is shown here as it is now.
			s.reported[r.UID] = r.ModSeq
			c.writeFetchStart(idx+1, r.UID)
			if (cmd.UID || c.condstore) && !c.uidOnly {
				c.w.Raw("UID ")
				c.w.Number(uint64(r.UID))
				c.w.SP()
			}
			if !silent {
				c.w.Raw("FLAGS ")
				c.writeFlagList(r.Flags, r.Keywords, !c.rev2 && s.isRecent(r.UID))
				if c.condstore {
					c.w.SP()
				}
			}
			if c.condstore {
				c.writeModSeq(r.ModSeq)
			}
			c.w.Raw(")")
			c.w.CRLF()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(modified) > 0 {
		// Section 3.1.3: the messages that failed the test, as
		// sequence numbers for STORE and UIDs for UID STORE.
		c.okCode = "MODIFIED " + c.formatNumbers(modified, cmd.UID)
	}
	return nil
}

// formatNumbers formats known UIDs as a UID set, or as the set of their
// sequence numbers.
func (c *session) formatNumbers(uids []store.UID, uid bool) string {
	if uid {
		return formatUIDSet(uids)
	}
	nums := make([]store.UID, 0, len(uids))
	for _, u := range uids {
		if i := c.sel.index(u); i >= 0 {
			nums = append(nums, store.UID(i+1))
		}
	}
	return formatUIDSet(nums)
}

// cmdCopy runs COPY and MOVE (RFC 9051 sections 6.4.7 and 6.4.8, RFC
// 4315 COPYUID). The whole set is copied in one transaction: all or none.
func (c *session) cmdCopy(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.CopyArgs)
	move := cmd.Name == "MOVE"
	if move {
		if err := c.writable(); err != nil {
			return err
		}
	}
	spans, err := c.spans(args.Set, cmd.UID, false)
	if err != nil {
		return err
	}
	dest, err := c.lookupTarget(ctx, args.Mailbox)
	if err != nil {
		return err
	}
	s := c.sel
	uids := c.uidsOf(spans)
	if len(uids) == 0 {
		return nil
	}
	set := uidSetOf(uids)
	var res store.CopyResult
	if move {
		res, err = c.mail.Move(ctx, s.mbox.ID, set, dest.ID)
	} else {
		res, err = c.mail.Copy(ctx, s.mbox.ID, set, dest.ID)
	}
	if err != nil {
		return err
	}
	if dest.ID == s.mbox.ID {
		s.dirty = true
	}
	if len(res.SourceUIDs) == 0 {
		return nil
	}
	code := "COPYUID " + strconv.FormatUint(uint64(res.UIDValidity), 10) + " " +
		formatUIDSet(res.SourceUIDs) + " " + formatUIDSet(res.DestUIDs)
	if !move {
		c.okCode = code
		return nil
	}
	// RFC 6851 section 4.3: COPYUID comes in an untagged OK before the
	// expunges.
	c.statusLine("*", "OK", code, "Moved")
	var gone []store.UID
	for _, u := range res.SourceUIDs {
		if s.index(u) >= 0 {
			gone = append(gone, u)
		}
	}
	c.reportExpunged(gone)
	s.dirty = true
	return nil
}

// cmdExpunge runs EXPUNGE and UID EXPUNGE (RFC 9051 sections 6.4.3 and
// 6.4.9, RFC 4315 section 2.1).
func (c *session) cmdExpunge(ctx context.Context, cmd *wire.Command) error {
	if err := c.writable(); err != nil {
		return err
	}
	s := c.sel
	var set store.UIDSet
	if cmd.UID {
		spans, err := c.spans(cmd.Args.(*wire.ExpungeArgs).Set, true, false)
		if err != nil {
			return err
		}
		uids := c.uidsOf(spans)
		if len(uids) == 0 {
			return nil
		}
		set = uidSetOf(uids)
	}
	removed, err := c.mail.Expunge(ctx, s.mbox.ID, set)
	if err != nil {
		return err
	}
	var gone []store.UID
	for _, u := range removed {
		if s.index(u) >= 0 {
			gone = append(gone, u)
		}
	}
	c.reportExpunged(gone)
	s.dirty = true
	if len(removed) > 0 && c.condstore {
		// RFC 7162 sections 3.2.7 and 3.2.9: the mailbox's new
		// HIGHESTMODSEQ in the tagged OK (a MUST with QRESYNC, shown
		// with CONDSTORE alone in the examples), once every change up
		// to it is reported.
		if err := c.syncSelected(ctx, true, true); err != nil {
			return err
		}
		c.okCode = "HIGHESTMODSEQ " + strconv.FormatUint(uint64(s.modseq), 10)
	}
	return nil
}

package imap

import (
	"context"
	"errors"
	"strconv"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// cmdReplace runs REPLACE and UID REPLACE (RFC 8508): the new message is
// appended to the target mailbox, then the old one is expunged from the
// selected mailbox. If the append fails, the old message stays; the
// client sees the APPENDUID in an untagged OK and the removal as EXPUNGE
// (or VANISHED under QRESYNC), as with MOVE.
func (c *session) cmdReplace(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.ReplaceArgs)
	if err := c.writable(); err != nil {
		return err
	}
	s := c.sel
	// Find the message being replaced (section 3: a number that names
	// no message is an error).
	var old store.UID
	if cmd.UID {
		u := store.UID(args.Number)
		if args.Number == 0 {
			u = s.maxUID()
		}
		if s.index(u) < 0 {
			return errNo("NONEXISTENT", "No message with that UID")
		}
		old = u
	} else {
		n := int(args.Number)
		if args.Number == 0 {
			n = len(s.uids)
		}
		if n < 1 || n > len(s.uids) {
			return errBad("", "Invalid message sequence number")
		}
		old = s.uids[n-1]
	}
	mb, err := c.lookupTarget(ctx, args.Mailbox)
	if err != nil {
		return err
	}
	m := &args.Message
	// RFC 8508 section 4.2: REPLACE takes CATENATE's append-data too.
	cat := c.newCatenation()
	defer cat.Close()
	body, size, err := cat.message(ctx, m)
	if err != nil {
		return err
	}
	if size == 0 {
		return errNo("CANNOT", "Cannot append an empty message")
	}
	var known []string
	if mb.ID == s.mbox.ID {
		known = s.keywords
	}
	f, kw, err := parseFlags(m.Flags, known)
	if err != nil {
		return err
	}
	nm := store.NewMessage{Flags: f, Keywords: kw, Body: body}
	if m.HasDate {
		nm.InternalDate = m.Date
	}
	res, err := c.mail.Append(ctx, mb.ID, []store.NewMessage{nm})
	if err != nil {
		return err
	}
	if mb.ID == s.mbox.ID {
		s.dirty = true
	}
	// Section 3.2: APPENDUID comes in an untagged OK.
	c.statusLine("*", "OK", "APPENDUID "+strconv.FormatUint(uint64(res.UIDValidity), 10)+" "+formatUIDSet(res.UIDs), "Replacement appended")
	if mb.ID == s.mbox.ID {
		// The replacement is announced (EXISTS) before the old message
		// is expunged, as the APPEND, STORE and UID EXPUNGE the command
		// stands for would (section 3.4, and the examples of section
		// 3.2); other sessions' expunges wait for the end.
		if err := c.syncSelected(ctx, false, true); err != nil {
			return err
		}
	}
	set := store.UIDSet{{Start: old, Stop: old}}
	if _, err := c.mail.StoreFlags(ctx, s.mbox.ID, set, store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	gone, err := c.mail.Expunge(ctx, s.mbox.ID, set)
	if err != nil {
		return err
	}
	var report []store.UID
	for _, u := range gone {
		if s.index(u) >= 0 {
			report = append(report, u)
		}
	}
	c.reportExpunged(report)
	s.dirty = true
	return nil
}

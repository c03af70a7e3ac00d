package imap

import (
	"context"
	"errors"
	"slices"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// mailboxName decodes a mailbox name as the client sent it: UTF-8 for
// IMAP4rev2, modified UTF-7 for IMAP4rev1 (RFC 9051 section 5.1, appendix
// A.1).
func (c *session) mailboxName(raw string) (string, error) {
	name, err := wire.DecodeMailbox(raw, c.rev2)
	if err != nil {
		return "", errNo("CANNOT", "Invalid mailbox name encoding")
	}
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	return name, nil
}

// lookup finds the mailbox a client names.
func (c *session) lookup(ctx context.Context, raw string) (store.Mailbox, error) {
	name, err := c.mailboxName(raw)
	if err != nil {
		return store.Mailbox{}, err
	}
	return c.mail.Mailbox(ctx, name)
}

// lookupTarget finds the mailbox an APPEND, COPY or MOVE goes to; a
// missing one gets [TRYCREATE], which tells the client that CREATE helps
// (RFC 9051 sections 6.3.12 and 6.4.7).
func (c *session) lookupTarget(ctx context.Context, raw string) (store.Mailbox, error) {
	mb, err := c.lookup(ctx, raw)
	if errors.Is(err, store.ErrNotFound) {
		return mb, errNo("TRYCREATE", "No such mailbox")
	}
	return mb, err
}

// cmdSelect runs SELECT and EXAMINE (RFC 9051 sections 6.3.2 and 6.3.3).
func (c *session) cmdSelect(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.SelectArgs)
	readOnly := cmd.Name == "EXAMINE"
	if c.sel != nil {
		// A SELECT while selected closes the old mailbox first, even
		// when the new one fails.
		c.sel = nil
		c.state = stateAuthenticated
		c.statusLine("*", "OK", "CLOSED", "Previous mailbox is now closed")
	}
	if args.QResync != nil && !c.qresync {
		// RFC 7162 section 3.2.5.
		return errBad("", "QRESYNC must be enabled first (ENABLE QRESYNC)")
	}
	if args.CondStore {
		c.enableCondStore()
	}
	mb, err := c.lookup(ctx, args.Mailbox)
	if err != nil {
		return err
	}
	snap, err := c.mail.Snapshot(ctx, mb.ID)
	if err != nil {
		return err
	}
	s := &selected{
		mbox:     snap.Mailbox,
		readOnly: readOnly,
		uids:     snap.UIDs,
		modseq:   snap.Mailbox.HighestModSeq,
		keywords: slices.Clone(snap.Keywords),
		reported: make(map[store.UID]store.ModSeq),
	}
	recent := int(snap.Recent)
	if !readOnly {
		claimed, err := c.mail.ClaimRecent(ctx, mb.ID)
		if err != nil {
			return err
		}
		s.recent = claimed
		recent = 0
		for _, u := range claimed {
			if s.index(u) >= 0 {
				recent++
			}
		}
	}
	c.sel = s
	c.state = stateSelected

	c.writeFlagsResponse()
	c.w.Raw("* ")
	c.w.Number(uint64(len(s.uids)))
	c.w.Raw(" EXISTS")
	c.w.CRLF()
	if !c.rev2 {
		c.w.Raw("* ")
		c.w.Number(uint64(recent))
		c.w.Raw(" RECENT")
		c.w.CRLF()
		// RFC 3501 section 6.3.1: the first unseen message, by number;
		// never under UIDONLY (RFC 9586 section 3).
		if snap.FirstUnseen != 0 && !c.uidOnly {
			if i := s.index(snap.FirstUnseen); i >= 0 {
				c.w.Raw("* OK [UNSEEN ")
				c.w.Number(uint64(i + 1))
				c.w.Raw("] First unseen")
				c.w.CRLF()
			}
		}
	}
	c.w.Raw("* OK [UIDVALIDITY ")
	c.w.Number(uint64(s.mbox.UIDValidity))
	c.w.Raw("] UIDs valid")
	c.w.CRLF()
	c.w.Raw("* OK [UIDNEXT ")
	c.w.Number(uint64(s.mbox.UIDNext))
	c.w.Raw("] Predicted next UID")
	c.w.CRLF()
	// RFC 7162 section 3.1.2.1: with every successful SELECT.
	c.writeHighestModSeq()
	// RFC 8474 section 4.3.
	c.w.Raw("* OK [MAILBOXID (" + mailboxID(s.mbox) + ")] Ok")
	c.w.CRLF()
	if c.rev2 {
		// RFC 9051 section 6.3.2: a LIST response with the name.
		c.w.Raw("* LIST (")
		c.w.Raw(strings.Join(s.mbox.SpecialUse, " "))
		c.w.Raw(`) "/" `)
		c.w.Mailbox(s.mbox.Name, true)
		c.w.CRLF()
	}
	if args.QResync != nil {
		if err := c.qresyncSelect(ctx, args.QResync); err != nil {
			return err
		}
	}
	if readOnly {
		c.okCode = "READ-ONLY"
	} else {
		c.okCode = "READ-WRITE"
	}
	return nil
}

// cmdClose runs CLOSE and UNSELECT (RFC 9051 sections 6.4.1 and 6.4.2).
// CLOSE expunges silently: no EXPUNGE responses.
func (c *session) cmdClose(ctx context.Context, cmd *wire.Command) error {
	s := c.sel
	c.sel = nil
	c.state = stateAuthenticated
	if cmd.Name == "CLOSE" && !s.readOnly {
		if _, err := c.mail.Expunge(ctx, s.mbox.ID, nil); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// writable refuses changes to a mailbox opened with EXAMINE.
func (c *session) writable() error {
	if c.sel.readOnly {
		return errNo("READ-ONLY", "The mailbox is open read-only (EXAMINE)")
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

package imap

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// Keyword limits keep one message's flags small.
const (
	maxKeywords      = 128
	maxKeywordLength = 200
)

// parseFlags splits flags as sent into system flags and keywords. \Recent
// is session state that clients cannot set; it is ignored (RFC 3501
// section 2.3.2).
func parseFlags(in []string, known []string) (store.Flags, []string, error) {
	var f store.Flags
	var kw []string
	for _, s := range in {
		if strings.HasPrefix(s, `\`) {
			switch strings.ToLower(s) {
			case `\seen`:
				f |= store.FlagSeen
			case `\answered`:
				f |= store.FlagAnswered
			case `\flagged`:
				f |= store.FlagFlagged
			case `\deleted`:
				f |= store.FlagDeleted
			case `\draft`:
				f |= store.FlagDraft
			case `\recent`:
			default:
				return 0, nil, errBad("", "Unknown system flag "+s)
			}
			continue
		}
		if len(s) > maxKeywordLength {
			return 0, nil, errBad("", "Keyword too long")
		}
		// Flags are case-insensitive (RFC 9051 section 2.3.2): keep
		// the spelling the mailbox already uses.
		for _, k := range known {
			if strings.EqualFold(k, s) {
				s = k
				break
			}
		}
		if !containsFold(kw, s) {
			kw = append(kw, s)
		}
	}
	if len(kw) > maxKeywords {
		return 0, nil, errNo("LIMIT", "Too many keywords")
	}
	return f, kw, nil
}

// namedAppender is a store that finds an APPEND's mailbox by name in the
// write that stores the messages (the SQLite store does): the session
// then reads nothing of its own for an APPEND, and no RENAME comes between
// finding the mailbox and appending to it. A mailbox that is not there is
// store.ErrNotFound.
type namedAppender interface {
	AppendByName(ctx context.Context, name string, msgs []store.NewMessage) (store.MailboxID, store.AppendResult, error)
}

// cmdAppend runs APPEND, including MULTIAPPEND (RFC 3502), CATENATE (RFC
// 4469, see catenate.go) and UIDPLUS APPENDUID (RFC 4315 section 3).
func (c *session) cmdAppend(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.AppendArgs)
	byName, direct := c.mail.(namedAppender)
	var (
		name string
		mb   store.Mailbox // looked up first when !direct
	)
	if direct {
		var err error
		if name, err = c.mailboxName(args.Mailbox); err != nil {
			return err
		}
	} else {
		var err error
		if mb, err = c.lookupTarget(ctx, args.Mailbox); err != nil {
			return err
		}
	}
	var known []string
	if c.sel != nil && (direct && sameMailbox(c.sel.mbox.Name, name) || !direct && c.sel.mbox.ID == mb.ID) {
		known = c.sel.keywords
	}
	cat := c.newCatenation()
	defer cat.Close()
	msgs := make([]store.NewMessage, 0, len(args.Messages))
	for i := range args.Messages {
		m := &args.Messages[i]
		body, size, err := cat.message(ctx, m)
		if err != nil {
			return err
		}
		if size == 0 {
			return errNo("CANNOT", "Cannot append an empty message")
		}
		f, kw, err := parseFlags(m.Flags, known)
		if err != nil {
			return err
		}
		nm := store.NewMessage{Flags: f, Keywords: kw, Body: body}
		if m.HasDate {
			nm.InternalDate = m.Date
		}
		msgs = append(msgs, nm)
	}
	var res store.AppendResult
	if direct {
		var err error
		mb.ID, res, err = byName.AppendByName(ctx, name, msgs)
		if errors.Is(err, store.ErrNotFound) {
			// RFC 9051 section 6.3.12: TRYCREATE, as lookupTarget says.
			return errNo("TRYCREATE", "No such mailbox")
		}
		if err != nil {
			return err
		}
	} else {
		var err error
		if res, err = c.mail.Append(ctx, mb.ID, msgs); err != nil {
			return err
		}
	}
	if c.sel != nil && c.sel.mbox.ID == mb.ID {
		c.sel.dirty = true
	}
	c.okCode = "APPENDUID " + strconv.FormatUint(uint64(res.UIDValidity), 10) + " " + formatUIDSet(res.UIDs)
	return nil
}

// sameMailbox reports whether the client's name (decoded) is the stored
// name of a mailbox.
func sameMailbox(stored, name string) bool {
	clean, err := store.CleanMailboxName(name)
	return err == nil && clean == stored
}

// formatUIDSet writes ascending UIDs as a compact sequence set.
func formatUIDSet(uids []store.UID) string {
	var b strings.Builder
	for i, r := range uidSetOf(uids) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(r.Start), 10))
		if r.Stop != r.Start {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(r.Stop), 10))
		}
	}
	return b.String()
}

package imap

import (
	"context"
	"strconv"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// LIST-METADATA (RFC 9590): LIST ... RETURN (METADATA ...) follows each
// listed mailbox with the METADATA response a GETMETADATA of the same
// entries and options would give (RFC 5464 section 4.4.1), so a client
// learns its mailboxes' colours and comments in one round trip. A
// mailbox without any of the entries gets no METADATA response, as with
// GETMETADATA; MAXSIZE leaves out longer values and the tagged OK reports
// the longest left out (RFC 5464 section 4.2.1).

// listMetadata is the METADATA return option of one LIST, checked.
type listMetadata struct {
	names   []string // normalized entry names
	maxSize int64    // -1 for no limit
	depth   int
	// longest is the largest value MAXSIZE left out so far.
	longest int64
}

func newListMetadata(m *wire.ListMetadata) (*listMetadata, error) {
	lm := &listMetadata{maxSize: m.MaxSize, depth: m.Depth}
	for _, e := range m.Entries {
		n, ok := metadataEntryName(e, true)
		if !ok {
			return nil, errBad("", "Invalid entry name "+e)
		}
		lm.names = append(lm.names, n)
	}
	return lm, nil
}

// writeListMetadata sends the METADATA response for one listed mailbox.
// A mailbox whose annotations cannot be read is left out (RFC 9590
// section 3 allows it), unless the command itself is ending.
func (c *session) writeListMetadata(ctx context.Context, lm *listMetadata, mb *store.Mailbox) error {
	entries, err := c.mail.GetMetadata(ctx, mb.ID, lm.names, lm.depth)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Debug("LIST-METADATA: annotations not read", "mailbox", mb.Name, "err", err)
		return nil
	}
	kept := entries[:0]
	for _, e := range entries {
		if lm.maxSize >= 0 && int64(len(e.Value)) > lm.maxSize {
			lm.longest = max(lm.longest, int64(len(e.Value)))
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		return nil
	}
	c.w.Raw("* METADATA ")
	c.w.Mailbox(mb.Name, c.rev2)
	c.w.Raw(" (")
	for i, e := range kept {
		if i > 0 {
			c.w.SP()
		}
		c.w.AString(e.Name)
		c.w.SP()
		c.w.String(string(e.Value))
	}
	c.w.Raw(")")
	c.w.CRLF()
	return nil
}

// listMetadataCode is the tagged OK's response code after the LIST.
func (lm *listMetadata) okCode() string {
	if lm == nil || lm.longest == 0 {
		return ""
	}
	return "METADATA LONGENTRIES " + strconv.FormatInt(lm.longest, 10)
}

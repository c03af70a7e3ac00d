package imap

import (
	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// UIDONLY (RFC 9586): after ENABLE UIDONLY the client and the server
// speak of messages by UID alone. Commands that take message sequence
// numbers are refused with BAD [UIDREQUIRED], removals are reported as
// VANISHED (RFC 7162 section 3.2.10) instead of EXPUNGE, and FETCH
// responses become UIDFETCH responses, numbered by UID.
//
// The session still keeps its sequence map (selected.uids): it is what
// tells which messages the client has been told of, and it costs a few
// bytes per message. Only the protocol stops showing it, so the rest of
// the command handlers need no second code path.

// errUIDRequired refuses message numbers once UIDONLY is on (section 3).
func errUIDRequired() error {
	return errBad("UIDREQUIRED", "Message numbers are not allowed once UIDONLY is enabled")
}

// uidOnlyRefusal checks a command against UIDONLY before it runs: the
// forms that take sequence numbers (FETCH, STORE, SEARCH, SORT, THREAD,
// COPY, MOVE, REPLACE without UID), sequence sets among search keys, and
// QRESYNC's sequence match data (section 3).
func (c *session) uidOnlyRefusal(cmd *wire.Command) error {
	if !c.uidOnly {
		return nil
	}
	if !cmd.UID && commands[cmd.Name].uid && cmd.Name != "EXPUNGE" {
		return errUIDRequired()
	}
	switch a := cmd.Args.(type) {
	case *wire.SearchArgs:
		return c.uidRequired(a.Criteria)
	case *wire.SortArgs:
		return c.uidRequired(a.Criteria)
	case *wire.ThreadArgs:
		return c.uidRequired(a.Criteria)
	case *wire.SelectArgs:
		if a.QResync != nil && a.QResync.SeqMatchSeqs != nil {
			return errUIDRequired()
		}
	}
	return nil
}

// uidRequired refuses search criteria that hold a sequence set while
// UIDONLY is on. "$" is a set of UIDs (RFC 5182) and stays allowed.
func (c *session) uidRequired(keys []wire.SearchKey) error {
	if !c.uidOnly {
		return nil
	}
	for i := range keys {
		k := &keys[i]
		if k.Name == "SEQSET" && !k.Set.SearchRes {
			return errUIDRequired()
		}
		if err := c.uidRequired(k.Children); err != nil {
			return err
		}
	}
	return nil
}

// writeFetchStart begins an untagged FETCH response: "* seq FETCH (", or
// under UIDONLY "* uid UIDFETCH (" (section 3.3, uidfetch-resp).
func (c *session) writeFetchStart(seq int, uid store.UID) {
	c.w.Raw("* ")
	if c.uidOnly {
		c.w.Number(uint64(uid))
		c.w.Raw(" UIDFETCH (")
		return
	}
	c.w.Number(uint64(seq))
	c.w.Raw(" FETCH (")
}

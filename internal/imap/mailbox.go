package imap

import (
	"context"
	"errors"
	"slices"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// cmdCreate runs CREATE (RFC 9051 section 6.3.4), creating the superior
// names a new mailbox needs, and honours CREATE-SPECIAL-USE (RFC 6154
// section 3).
func (c *session) cmdCreate(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.CreateArgs)
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	// A trailing delimiter only declares the intent to create inferiors.
	name = strings.TrimSuffix(name, "/")
	if name == "INBOX" {
		return errNo("ALREADYEXISTS", "INBOX always exists")
	}
	for _, use := range args.SpecialUse {
		if !validSpecialUse(use) {
			return errNo("USEATTR", "Unsupported special-use attribute "+use)
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		if _, err := c.mail.CreateMailbox(ctx, name[:i], store.CreateOptions{}); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	mb, err := c.mail.CreateMailbox(ctx, name, store.CreateOptions{SpecialUse: args.SpecialUse})
	if err != nil {
		return err
	}
	// RFC 8474 section 4.1.
	c.okCode = "MAILBOXID (" + mailboxID(mb) + ")"
	return nil
}

// validSpecialUse lists the RFC 6154 section 2 attributes.
func validSpecialUse(a string) bool {
	switch strings.ToLower(a) {
	case `\all`, `\archive`, `\drafts`, `\flagged`, `\junk`, `\sent`, `\trash`:
		return true
	}
	return false
}

// cmdDelete runs DELETE (RFC 9051 section 6.3.5).
func (c *session) cmdDelete(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.MailboxArgs)
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return errNo("CANNOT", "INBOX cannot be deleted")
	}
	if c.sel != nil && c.sel.mbox.Name == name {
		c.sel = nil
		c.state = stateAuthenticated
		c.statusLine("*", "OK", "CLOSED", "The selected mailbox is deleted")
	}
	return c.mail.DeleteMailbox(ctx, name)
}

// cmdRename runs RENAME (RFC 9051 section 6.3.6).
func (c *session) cmdRename(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.RenameArgs)
	from, err := c.mailboxName(args.From)
	if err != nil {
		return err
	}
	to, err := c.mailboxName(args.To)
	if err != nil {
		return err
	}
	to = strings.TrimSuffix(to, "/")
	if to == "INBOX" {
		return errNo("ALREADYEXISTS", "INBOX always exists")
	}
	if from == to || strings.HasPrefix(to, from+"/") {
		return errNo("CANNOT", "Cannot rename a mailbox into itself")
	}
	if _, err := c.mail.Mailbox(ctx, from); err != nil {
		return err
	}
	for i := 0; i < len(to); i++ {
		if to[i] != '/' {
			continue
		}
		if _, err := c.mail.CreateMailbox(ctx, to[:i], store.CreateOptions{}); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	// Renaming INBOX moves its messages out; a session with INBOX
	// selected sees them expunged (store.Mail.RenameMailbox).
	return c.mail.RenameMailbox(ctx, from, to)
}

// cmdSubscribe runs SUBSCRIBE and UNSUBSCRIBE (RFC 9051 sections 6.3.7
// and 6.3.8).
func (c *session) cmdSubscribe(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.MailboxArgs)
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	on := cmd.Name == "SUBSCRIBE"
	if on {
		// Subscribing to a name that does not exist is refused, as
		// RFC 9051 section 6.3.7 permits: it is almost always a typo.
		if _, err := c.mail.Mailbox(ctx, name); err != nil {
			return err
		}
	}
	return c.mail.Subscribe(ctx, name, on)
}

func (c *session) cmdNamespace(ctx context.Context, cmd *wire.Command) error {
	// RFC 2342 / RFC 9051 section 6.3.10: one personal namespace, no
	// shared or other users' namespaces.
	c.w.Raw(`* NAMESPACE (("" "/")) NIL NIL`)
	c.w.CRLF()
	return nil
}

// statusItems are the STATUS data items we answer (RFC 9051 section
// 6.3.11, RFC 8438 SIZE, RFC 3501 RECENT, RFC 7889 APPENDLIMIT).
var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"DELETED": true, "SIZE": true, "RECENT": true, "APPENDLIMIT": true,
	"HIGHESTMODSEQ":   true, // RFC 7162 section 3.1.7
	"DELETED-STORAGE": true, // RFC 9208 section 4.1.4
	"MAILBOXID":       true, // RFC 8474 section 4.2
}

func checkStatusItems(items []string) error {
	if len(items) == 0 {
		return errBad("", "STATUS needs at least one data item")
	}
	for _, it := range items {
		if !statusItems[it] {
			return errBad("", "Unknown STATUS data item "+it)
		}
	}
	return nil
}

func (c *session) cmdStatus(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.StatusArgs)
	if err := checkStatusItems(args.Items); err != nil {
		return err
	}
	if slices.Contains(args.Items, "HIGHESTMODSEQ") {
		// A CONDSTORE enabling command (RFC 7162 section 3.1).
		c.enableCondStore()
	}
	mb, err := c.lookup(ctx, args.Mailbox)
	if err != nil {
		return err
	}
	st, err := c.statusValues(ctx, mb.ID, args.Items)
	if err != nil {
		return err
	}
	c.writeStatus(mb.Name, args.Items, st)
	return nil
}

// statusValues are the numbers STATUS reports: the store's counters, and
// the ones computed only when asked for.
type statusValues struct {
	store.MailboxStatus
	deletedStorage int64 // RFC 9208 DELETED-STORAGE
	appendLimit    int64 // RFC 7889 APPENDLIMIT
}

func (c *session) statusValues(ctx context.Context, mbox store.MailboxID, items []string) (statusValues, error) {
	var v statusValues
	var err error
	if v.MailboxStatus, err = c.mail.Status(ctx, mbox); err != nil {
		return v, err
	}
	if slices.Contains(items, "DELETED-STORAGE") {
		if v.deletedStorage, err = c.deletedStorage(ctx, mbox); err != nil {
			return v, err
		}
	}
	if slices.Contains(items, "APPENDLIMIT") {
		// RFC 7889 section 3 and RFC 9208: the largest message an APPEND
		// can store now, the size limit or what the quota leaves.
		v.appendLimit = c.limits.MaxMessageSize
		u, err := c.mail.Quota(ctx)
		if err != nil {
			return v, err
		}
		if u.StorageBytes > 0 {
			v.appendLimit = max(0, min(v.appendLimit, u.StorageBytes-u.UsedBytes))
		}
	}
	return v, nil
}

func (c *session) writeStatus(name string, items []string, st statusValues) {
	c.w.Raw("* STATUS ")
	c.w.Mailbox(name, c.rev2)
	c.w.Raw(" (")
	for i, it := range items {
		if i > 0 {
			c.w.SP()
		}
		c.w.Atom(it)
		c.w.SP()
		switch it {
		case "MESSAGES":
			c.w.Number(uint64(st.Messages))
		case "UIDNEXT":
			c.w.Number(uint64(st.UIDNext))
		case "UIDVALIDITY":
			c.w.Number(uint64(st.UIDValidity))
		case "UNSEEN":
			c.w.Number(uint64(st.Unseen))
		case "DELETED":
			c.w.Number(uint64(st.Deleted))
		case "SIZE":
			c.w.Number(uint64(st.Size))
		case "RECENT":
			c.w.Number(uint64(st.Recent))
		case "APPENDLIMIT":
			c.w.Number(uint64(st.appendLimit))
		case "DELETED-STORAGE":
			c.w.Number(uint64(st.deletedStorage))
		case "MAILBOXID":
			c.w.Raw("(" + mailboxID(store.Mailbox{UIDValidity: st.UIDValidity}) + ")")
		case "HIGHESTMODSEQ":
			c.w.Number(uint64(st.HighestModSeq))
		}
	}
	c.w.Raw(")")
	c.w.CRLF()
}

package imap

import (
	"context"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// QUOTA (RFC 9208). Each account has one quota root, named "" (the
// account): every mailbox of the account is governed by it. Limits are
// the administrator's (`postfach user quota`), so SETQUOTA is refused and
// QUOTASET not advertised (section 4.1.3).

// quotaRoot is the name of the account's quota root.
const quotaRoot = ""

// cmdGetQuota runs GETQUOTA (section 4.1.1).
func (c *session) cmdGetQuota(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.QuotaRootArgs)
	if args.Root != quotaRoot {
		return errNo("NONEXISTENT", `No such quota root; this account's root is ""`)
	}
	u, err := c.mail.Quota(ctx)
	if err != nil {
		return err
	}
	c.writeQuota(u)
	return nil
}

// cmdGetQuotaRoot runs GETQUOTAROOT (section 4.1.2). The mailbox need
// not exist: the root that would govern it is the account's.
func (c *session) cmdGetQuotaRoot(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.MailboxArgs)
	name, err := c.mailboxName(args.Mailbox)
	if err != nil {
		return err
	}
	u, err := c.mail.Quota(ctx)
	if err != nil {
		return err
	}
	c.w.Raw("* QUOTAROOT ")
	c.w.Mailbox(name, c.rev2)
	c.w.SP()
	c.w.String(quotaRoot)
	c.w.CRLF()
	c.writeQuota(u)
	return nil
}

func (c *session) cmdSetQuota(ctx context.Context, cmd *wire.Command) error {
	return errNo("NOPERM", "Quotas are set by the administrator (postfach user quota)")
}

// writeQuota sends "* QUOTA "" (STORAGE used limit MESSAGE used limit)",
// listing the resources that have a limit; STORAGE counts units of 1024
// octets, rounded up (section 5.1).
func (c *session) writeQuota(u store.QuotaUsage) {
	c.w.Raw("* QUOTA ")
	c.w.String(quotaRoot)
	c.w.Raw(" (")
	sp := false
	if u.StorageBytes > 0 {
		c.w.Raw("STORAGE ")
		c.w.Number(uint64((u.UsedBytes + 1023) / 1024))
		c.w.SP()
		c.w.Number(uint64(u.StorageBytes / 1024))
		sp = true
	}
	if u.Messages > 0 {
		if sp {
			c.w.SP()
		}
		c.w.Raw("MESSAGE ")
		c.w.Number(uint64(u.UsedMessages))
		c.w.SP()
		c.w.Number(uint64(u.Messages))
	}
	c.w.Raw(")")
	c.w.CRLF()
}

// deletedStorage is STATUS DELETED-STORAGE (section 4.1.4): the octets an
// EXPUNGE would free, the exact sum of the \Deleted messages' sizes.
func (c *session) deletedStorage(ctx context.Context, mbox store.MailboxID) (int64, error) {
	uids, err := c.mail.Search(ctx, mbox, &store.SearchCriteria{Flags: store.FlagDeleted})
	if err != nil {
		return 0, err
	}
	var total int64
	for len(uids) > 0 {
		n := min(len(uids), chunkSize)
		msgs, err := c.mail.Messages(ctx, mbox, uidSetOf(uids[:n]), store.FetchOptions{})
		if err != nil {
			return 0, err
		}
		for i := range msgs {
			total += msgs[i].Size
		}
		uids = uids[n:]
	}
	return total, nil
}

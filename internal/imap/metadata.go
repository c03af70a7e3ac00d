package imap

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// METADATA (RFC 5464): annotations on mailboxes and on the server (the
// empty mailbox name; here, the account). Entry names are case-insensitive
// and stored in lower case. The account's one user owns every mailbox, so
// /private and /shared entries are kept alike, each under its own name.

// maxMetadataValue bounds one value (section 4.3: [METADATA MAXSIZE]).
const maxMetadataValue = 16 << 10

// metadataEntryName checks and normalizes an entry name (section 3.2):
// /private/ or /shared/ followed by a path without "*", "%", empty
// components, a trailing slash or control characters. A GETMETADATA may
// also name the roots "/private" and "/shared" (with DEPTH).
func metadataEntryName(s string, get bool) (string, bool) {
	n := strings.ToLower(s)
	if get && (n == "/private" || n == "/shared") {
		return n, true
	}
	if !strings.HasPrefix(n, "/private/") && !strings.HasPrefix(n, "/shared/") {
		return "", false
	}
	if strings.ContainsAny(n, "*%") || strings.Contains(n, "//") || strings.HasSuffix(n, "/") || len(n) > 1024 {
		return "", false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] == 0x7f {
			return "", false
		}
	}
	return n, true
}

// metadataTarget resolves the mailbox of a METADATA command: 0 for the
// server's (the account's) annotations.
func (c *session) metadataTarget(ctx context.Context, raw string) (store.MailboxID, string, error) {
	if raw == "" {
		return 0, "", nil
	}
	mb, err := c.lookup(ctx, raw)
	if err != nil {
		return 0, "", err
	}
	return mb.ID, mb.Name, nil
}

func (c *session) cmdGetMetadata(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.GetMetadataArgs)
	id, name, err := c.metadataTarget(ctx, args.Mailbox)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(args.Entries))
	for _, e := range args.Entries {
		n, ok := metadataEntryName(e, true)
		if !ok {
			return errBad("", "Invalid entry name "+e)
		}
		names = append(names, n)
	}
	entries, err := c.mail.GetMetadata(ctx, id, names, args.Depth)
	if err != nil {
		return err
	}
	// Section 4.2.1: MAXSIZE leaves out larger values and reports the
	// largest left out.
	var longest int64
	kept := entries[:0]
	for _, e := range entries {
		if args.MaxSize >= 0 && int64(len(e.Value)) > args.MaxSize {
			longest = max(longest, int64(len(e.Value)))
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) > 0 {
		c.w.Raw("* METADATA ")
		if id == 0 {
			c.w.String("")
		} else {
			c.w.Mailbox(name, c.rev2)
		}
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
	}
	if longest > 0 {
		c.okCode = "METADATA LONGENTRIES " + strconv.FormatInt(longest, 10)
	}
	return nil
}

func (c *session) cmdSetMetadata(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.SetMetadataArgs)
	id, _, err := c.metadataTarget(ctx, args.Mailbox)
	if err != nil {
		return err
	}
	entries := make([]store.MetadataEntry, 0, len(args.Entries))
	for _, e := range args.Entries {
		n, ok := metadataEntryName(e.Entry, false)
		if !ok {
			return errBad("", "Invalid entry name "+e.Entry)
		}
		me := store.MetadataEntry{Name: n}
		if e.Value != nil {
			if len(*e.Value) > maxMetadataValue {
				return errNo("METADATA MAXSIZE "+strconv.Itoa(maxMetadataValue), "Value too large")
			}
			me.Value = []byte(*e.Value)
		}
		entries = append(entries, me)
	}
	err = c.mail.SetMetadata(ctx, id, entries)
	if errors.Is(err, store.ErrTooMany) {
		return errNo("METADATA TOOMANY", "Too many annotations on this mailbox")
	}
	return err
}

package imap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"

	"postfach/internal/store"
)

// OBJECTID (RFC 8474): stable identifiers for mailboxes, messages and
// threads, so that clients recognize a renamed mailbox or a moved message
// without downloading it again.
//
//   - MAILBOXID is "M" and the mailbox's UIDVALIDITY: UIDVALIDITY values
//     are never reused (the store counts them), and RENAME keeps them.
//   - EMAILID is "E", the stored body's number and the internal date:
//     copies and moves share the body and keep the internal date, so the
//     same message keeps its EMAILID in every mailbox (section 5.1), and a
//     body number reused after deletion does not repeat the date.
//   - THREADID is "T" and a hash of the thread's first Message-ID (the
//     first References entry, or the message's own Message-ID), so the
//     messages of one thread share it (section 5.2); NIL without one.

func mailboxID(mb store.Mailbox) string {
	return "M" + strconv.FormatUint(uint64(mb.UIDValidity), 10)
}

func emailID(m *store.Message) string {
	return "E" + m.Blob + "-" + strconv.FormatInt(m.InternalDate.Unix(), 36)
}

func threadID(ti *store.ThreadInfo) string {
	root := ti.MessageID
	if len(ti.References) > 0 {
		root = ti.References[0]
	}
	if root == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(root))
	return "T" + hex.EncodeToString(sum[:8])
}

// threadIDs computes the THREADID of every message of the selected
// mailbox.
func (c *session) threadIDs(ctx context.Context) (map[store.UID]string, error) {
	infos, err := c.mail.ThreadInfo(ctx, c.sel.mbox.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[store.UID]string, len(infos))
	for i := range infos {
		out[infos[i].UID] = threadID(&infos[i])
	}
	return out, nil
}

// objectIDSearch resolves the EMAILID and THREADID search keys (RFC 8474
// section 6) to the UIDs of the selected mailbox that have the id.
func (c *session) objectIDSearch(ctx context.Context, key, id string) (store.UIDSet, error) {
	var uids []store.UID
	switch key {
	case "THREADID":
		ids, err := c.threadIDs(ctx)
		if err != nil {
			return nil, err
		}
		for u, t := range ids {
			if t == id {
				uids = append(uids, u)
			}
		}
	case "EMAILID":
		known := c.sel.uids
		for len(known) > 0 {
			n := min(len(known), chunkSize)
			msgs, err := c.mail.Messages(ctx, c.sel.mbox.ID, store.UIDSet{{Start: known[0], Stop: known[n-1]}}, store.FetchOptions{})
			if err != nil {
				return nil, err
			}
			for i := range msgs {
				if emailID(&msgs[i]) == id {
					uids = append(uids, msgs[i].UID)
				}
			}
			known = known[n:]
		}
	}
	slices.Sort(uids)
	set := uidSetOf(uids)
	if set == nil {
		// Matches nothing: an empty range no UID is in.
		set = store.UIDSet{{Start: 0, Stop: 0}}
	}
	return set, nil
}

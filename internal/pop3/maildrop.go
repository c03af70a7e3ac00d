package pop3

import (
	"context"
	"errors"
	"io"
	"strconv"

	"postfach/internal/store"
)

// maildrop is the session's view of INBOX (RFC 1939 section 5): the
// messages at login, numbered 1..n in UID order, with the session's marks.
type maildrop struct {
	mbox      store.Mailbox
	policy    store.POP3Policy
	msgs      []store.POP3Message
	deleted   []bool
	retrieved []bool
	// count and size cover the messages not marked deleted (STAT).
	count int
	size  int64
}

func newMaildrop(md store.POP3Maildrop, serverPolicy store.POP3Policy) *maildrop {
	d := &maildrop{
		mbox:      md.Mailbox,
		policy:    md.Policy,
		msgs:      md.Messages,
		deleted:   make([]bool, len(md.Messages)),
		retrieved: make([]bool, len(md.Messages)),
		count:     len(md.Messages),
	}
	if !d.policy.Valid() {
		d.policy = serverPolicy
	}
	for _, m := range md.Messages {
		d.size += m.Size
	}
	return d
}

// uidl is a message's unique-id (RFC 1939 section 7, UIDL): the UID and
// UIDVALIDITY in hexadecimal, eight digits each, as Dovecot's
// "%08Xu%08Xv". Both are fixed for the message's life in INBOX, across
// sessions and restarts; a mailbox recreated under the name gets a new
// UIDVALIDITY, and with it new unique-ids.
func appendUIDL(b []byte, uidValidity uint32, uid store.UID) []byte {
	b = appendHex8(b, uint32(uid))
	return appendHex8(b, uidValidity)
}

func appendHex8(b []byte, v uint32) []byte {
	const digits = "0123456789ABCDEF"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

// message resolves a message-number argument (RFC 1939 section 5): it
// must name a message of the maildrop not marked deleted. It returns the
// index into msgs.
func (c *session) message(cmd *command, arg string) (int, error) {
	n, ok := parseNumber(arg)
	if !ok {
		return 0, errSyntax("%s: invalid message number %q", cmd.name, arg)
	}
	d := c.drop
	if n < 1 || n > int64(len(d.msgs)) {
		return 0, errResp("", "No such message; the maildrop has "+strconv.Itoa(len(d.msgs))+" messages")
	}
	if d.deleted[n-1] {
		return 0, errResp("", "Message "+arg+" is marked deleted")
	}
	return int(n - 1), nil
}

func (c *session) cmdStat(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 0 {
		return errSyntax("STAT takes no arguments")
	}
	// RFC 1939 section 5: "+OK nn mm", nothing else before the counts.
	c.ok(strconv.Itoa(c.drop.count) + " " + strconv.FormatInt(c.drop.size, 10))
	return nil
}

// cmdList serves LIST and UIDL (RFC 1939 sections 5 and 7): one message,
// or a multi-line listing of all not marked deleted.
func (c *session) cmdList(ctx context.Context, cmd *command) error {
	d := c.drop
	uidl := cmd.name == "UIDL"
	var b []byte
	entry := func(i int) []byte {
		b = strconv.AppendInt(b[:0], int64(i+1), 10)
		b = append(b, ' ')
		if uidl {
			return appendUIDL(b, d.mbox.UIDValidity, d.msgs[i].UID)
		}
		return strconv.AppendInt(b, d.msgs[i].Size, 10)
	}
	switch len(cmd.args) {
	case 0:
		if uidl {
			c.ok("Unique-id listing follows")
		} else {
			c.ok(strconv.Itoa(d.count) + " messages (" + strconv.FormatInt(d.size, 10) + " octets)")
		}
		for i := range d.msgs {
			if d.deleted[i] {
				continue
			}
			c.bw.Write(entry(i))
			c.bw.WriteString("\r\n")
		}
		c.bw.WriteString(".\r\n")
		return nil
	case 1:
		i, err := c.message(cmd, cmd.args[0])
		if err != nil {
			return err
		}
		c.ok(string(entry(i)))
		return nil
	}
	return errSyntax("%s takes at most one argument", cmd.name)
}

func (c *session) cmdRetr(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 1 {
		return errSyntax("RETR takes one message number")
	}
	i, err := c.message(cmd, cmd.args[0])
	if err != nil {
		return err
	}
	if err := c.send(ctx, i, -1); err != nil {
		return err
	}
	c.drop.retrieved[i] = true
	return nil
}

func (c *session) cmdTop(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 2 {
		return errSyntax("TOP takes a message number and a number of lines")
	}
	i, err := c.message(cmd, cmd.args[0])
	if err != nil {
		return err
	}
	lines, ok := parseNumber(cmd.args[1])
	if !ok {
		return errSyntax("TOP: invalid number of lines %q", cmd.args[1])
	}
	return c.send(ctx, i, lines)
}

// send streams message i from its blob: all of it (lines < 0, RETR) or
// its header and the first lines of its body (TOP).
func (c *session) send(ctx context.Context, i int, lines int64) error {
	m := &c.drop.msgs[i]
	body, err := c.mail.OpenBody(ctx, &store.Message{UID: m.UID, Blob: m.Blob})
	if errors.Is(err, store.ErrNotFound) {
		return errResp("", "Message "+strconv.Itoa(i+1)+" was removed by another session")
	} else if err != nil {
		return err
	}
	defer body.Close()
	if lines < 0 {
		c.ok(strconv.FormatInt(m.Size, 10) + " octets")
	} else {
		c.ok("Top of message follows")
	}
	chunk := c.srv.getChunk()
	defer c.srv.putChunk(chunk)
	dw := newDotWriter(c.bw)
	src := io.NewSectionReader(body, 0, body.Size())
	if lines < 0 {
		err = copyChunks(dw, src, *chunk)
	} else {
		err = copyTop(dw, src, lines)
	}
	if err == nil {
		err = dw.end()
	}
	if err != nil {
		// The +OK is out: the client cannot be told, only left.
		if ctx.Err() == nil && !isWriteError(err) {
			c.log.Error("sending message", "uid", m.UID, "err", err)
		} else {
			c.log.Debug("sending message", "uid", m.UID, "err", err)
		}
		return errClose
	}
	return nil
}

func (c *session) cmdDele(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 1 {
		return errSyntax("DELE takes one message number")
	}
	i, err := c.message(cmd, cmd.args[0])
	if err != nil {
		return err
	}
	d := c.drop
	d.deleted[i] = true
	d.count--
	d.size -= d.msgs[i].Size
	c.ok("Message " + cmd.args[0] + " marked deleted")
	return nil
}

func (c *session) cmdNoop(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 0 {
		return errSyntax("NOOP takes no arguments")
	}
	c.ok("")
	return nil
}

func (c *session) cmdRset(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 0 {
		return errSyntax("RSET takes no arguments")
	}
	d := c.drop
	clear(d.deleted)
	d.count, d.size = len(d.msgs), 0
	for _, m := range d.msgs {
		d.size += m.Size
	}
	c.ok("Maildrop has " + strconv.Itoa(d.count) + " messages (" + strconv.FormatInt(d.size, 10) + " octets)")
	return nil
}

// update is the UPDATE state (RFC 1939 section 6), entered by QUIT: the
// marked messages go, as the policy says, all of them or none, and the
// lock is released before the final +OK.
func (c *session) update(ctx context.Context) error {
	d := c.drop
	c.state = stateDone
	upd := store.POP3Update{Policy: d.policy}
	for i, m := range d.msgs {
		if d.deleted[i] {
			upd.Delete = append(upd.Delete, m.UID)
		}
		if c.srv.MarkSeen && d.retrieved[i] {
			upd.Seen = append(upd.Seen, m.UID)
		}
	}
	var err error
	if len(upd.Delete) > 0 || len(upd.Seen) > 0 {
		var res store.POP3UpdateResult
		res, err = c.mail.POP3Update(ctx, d.mbox.ID, upd)
		if err == nil {
			c.log.Info("maildrop updated", "policy", string(upd.Policy), "deleted", len(res.Deleted), "marked", len(upd.Delete), "seen", len(upd.Seen))
		} else if ctx.Err() == nil {
			c.log.Error("UPDATE failed; nothing was changed", "err", err)
		}
	}
	c.release()
	if err != nil {
		// RFC 1939 section 6: QUIT may answer -ERR when deletions could
		// not be applied; none were.
		c.err("SYS/TEMP", "Deleted messages were not removed; nothing was changed")
		return nil
	}
	left := len(d.msgs) - len(upd.Delete)
	if left == 0 {
		c.ok("postfach POP3 server signing off (maildrop empty)")
	} else {
		c.ok("postfach POP3 server signing off (" + strconv.Itoa(left) + " messages left)")
	}
	return nil
}

package smtp

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"postfach/internal/deliver"
	"postfach/internal/mailauth"
)

// submit sends a message an authenticated user submitted: the From
// header field must be the account's, then the message gets a Received
// field (and Date and Message-ID when missing, RFC 6409 section 8), a
// DKIM signature for the From domain, and goes to local mailboxes
// directly and to the queue for everyone else.
func (s *session) submit(tx *transaction, sp *spooled) error {
	ctx := s.c.ctx
	if revoked(s.login) {
		return replyError(535, "5.7.8", "Credential revoked")
	}
	hdr, err := readHeader(sp)
	if err != nil {
		return replyOf(err)
	}
	fromDomain, err := s.checkFrom(ctx, hdr)
	if err != nil {
		return err
	}

	now := time.Now()
	var added strings.Builder
	added.WriteString(s.trace(tx, now).received())
	if !hdr.has("Date") {
		added.WriteString("Date: " + now.Format(time.RFC1123Z) + "\r\n")
	}
	if !hdr.has("Message-ID") {
		added.WriteString("Message-ID: <" + strings.ToLower(newID()) + "@" + s.srv.Hostname + ">\r\n")
	}
	msg := &message{}
	msg.addBytes([]byte(added.String()))
	msg.addRange(sp, 0, sp.size)
	if s.srv.Signer != nil {
		sig, err := s.srv.Signer.Sign(ctx, fromDomain, msg, msg.size)
		switch {
		case errors.Is(err, mailauth.ErrNoKeys):
			s.log.Warn("no DKIM key for the sender domain; sending unsigned", "tx", tx.id, "domain", fromDomain)
		case err != nil:
			s.log.Error("DKIM signing failed", "tx", tx.id, "domain", fromDomain, "err", err)
			return storeTrouble(err)
		default:
			signed := &message{}
			signed.addBytes([]byte(sig))
			signed.addBytes([]byte(added.String()))
			signed.addRange(sp, 0, sp.size)
			msg = signed
		}
	}

	// Local recipients straight into their mailboxes; everyone else, and
	// local copies that failed, to the queue.
	var rcpts []deliver.Recipient
	owner := make([][]int, len(tx.rcpts))
	for i, r := range tx.rcpts {
		for _, acct := range r.route.Accounts {
			owner[i] = append(owner[i], len(rcpts))
			rcpts = append(rcpts, deliver.Recipient{Account: acct.ID})
		}
	}
	results := s.srv.Deliverer.Deliver(ctx, deliver.Message{ReturnPath: tx.from.String(), Body: msg, Size: msg.size}, rcpts)
	errs, viaQueue := s.settle(tx, msg, rcpts, owner, results, false)
	reply := s.oneReply(tx, errs, viaQueue)
	if reply.Code/100 == 2 {
		s.srv.rate.record(s.login.Account.ID, len(tx.rcpts))
		s.log.Info("message submitted", "tx", tx.id, "from", tx.from.String(), "recipients", len(tx.rcpts), "size", sp.size)
	}
	return reply
}

// checkFrom checks the author fields of a submitted message: exactly one
// From field (RFC 5322 section 3.6), every mailbox in it, and the Sender
// when there is one, owned by the account. It returns the domain of the
// first From address, which DKIM signs for (DMARC aligns with it), in
// A-labels.
func (s *session) checkFrom(ctx context.Context, hdr *header) (string, error) {
	froms := hdr.get("From")
	if len(froms) != 1 {
		return "", replyError(550, "5.6.0", "The message must have exactly one From header field")
	}
	addrs, err := authorAddresses(hdr.value(froms[0]))
	if err != nil {
		return "", replyError(550, "5.6.0", "Malformed From header field")
	}
	for _, sf := range hdr.get("Sender") {
		sa, err := authorAddresses(hdr.value(sf))
		if err != nil || len(sa) != 1 {
			return "", replyError(550, "5.6.0", "Malformed Sender header field")
		}
		addrs = append(addrs, sa[0])
	}
	for _, a := range addrs {
		owns, err := s.srv.Resolver.Owns(ctx, s.login.Account, a)
		if err != nil {
			s.log.Error("checking From address", "err", err)
			return "", storeTrouble(err)
		}
		if !owns {
			s.log.Info("From address refused", "from", a.String(), "account", s.login.Account.Address)
			return "", replyError(550, "5.7.1", "From address <"+a.String()+"> does not belong to "+s.login.Account.Address)
		}
	}
	return addrs[0].ASCIIDomain(), nil
}

// authorAddresses parses a From or Sender value (RFC 5322 section 3.6.2,
// RFC 6532 UTF-8) strictly into mailboxes; a list without any is an
// error.
func authorAddresses(v string) ([]deliver.Address, error) {
	list, err := mail.ParseAddressList(v)
	if err != nil {
		return nil, err
	}
	var out []deliver.Address
	for _, a := range list {
		addr, err := deliver.ParseAddress(unquoteLocal(a.Address), true)
		if err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	if len(out) == 0 {
		return nil, errors.New("smtp: no mailbox")
	}
	return out, nil
}

// unquoteLocal turns `"john doe"@example.org` into `john doe@example.org`,
// the form deliver.ParseAddress takes.
func unquoteLocal(addr string) string {
	if !strings.HasPrefix(addr, `"`) {
		return addr
	}
	i := strings.LastIndex(addr, `"@`)
	if i <= 0 {
		return addr
	}
	var b strings.Builder
	q := addr[1:i]
	for j := 0; j < len(q); j++ {
		if q[j] == '\\' && j+1 < len(q) {
			j++
		}
		b.WriteByte(q[j])
	}
	return b.String() + addr[i+1:]
}

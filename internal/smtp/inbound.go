package smtp

import (
	"errors"
	"slices"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/deliver"
	"postfach/internal/mailauth"
	"postfach/internal/store"
)

// receive delivers a message that came in on the MX or over LMTP: checks
// (loops, SPF/DKIM/DMARC on the MX), trace fields, then local delivery to
// every recipient's mailbox and forwarding of remote alias targets
// through the queue. With status (LMTP) each recipient gets its own
// reply; otherwise the one reply is 250 only when every recipient's copy
// is durable, in a mailbox or in the queue.
func (s *session) receive(tx *transaction, sp *spooled, status gosmtp.StatusCollector) error {
	ctx := s.c.ctx
	hdr, err := readHeader(sp)
	if err != nil {
		return replyOf(err)
	}
	if len(hdr.get("Received")) > maxReceived {
		s.log.Warn("mail loop", "tx", tx.id, "from", tx.from.String())
		return errLoop
	}

	var authResults string
	mailbox := deliver.Inbox
	if s.kind == MX && s.srv.Verifier != nil {
		res := s.srv.Verifier.Verify(ctx, mailauth.Input{
			RemoteIP: s.c.remote,
			HELO:     s.gc.Hostname(),
			MailFrom: tx.from.String(),
			Message:  sp,
			Size:     sp.size,
		})
		s.log.Info("message authentication", "tx", tx.id, "action", res.Action.String(), "spf", string(res.SPF.Status), "dmarc", string(res.DMARC.Status), "from_domain", res.DMARC.From)
		switch res.Action {
		case mailauth.Reject:
			return replyError(550, "5.7.1", reason(res.Reason, "Message refused by the sender domain's DMARC policy"))
		case mailauth.Defer:
			return replyError(451, "4.7.5", reason(res.Reason, "Cannot check the sender's authentication now, try again later"))
		case mailauth.Quarantine:
			mailbox = deliver.Junk
		}
		authResults = res.Header
	}

	// The stored message: our Received and Authentication-Results on
	// top, then the message without results forged in our name.
	msg := &message{}
	msg.addBytes([]byte(s.trace(tx, time.Now()).received()))
	msg.addBytes([]byte(authResults))
	var at int64
	for _, f := range hdr.forgedResults(s.srv.Hostname) {
		msg.addRange(sp, at, int64(f.start)-at)
		at = int64(f.end)
	}
	msg.addRange(sp, at, sp.size-at)

	// Local copies, one per account and mailbox.
	var rcpts []deliver.Recipient
	owner := make([][]int, len(tx.rcpts)) // recipient -> its deliveries
	for i, r := range tx.rcpts {
		for _, acct := range r.route.Accounts {
			owner[i] = append(owner[i], len(rcpts))
			rcpts = append(rcpts, deliver.Recipient{Account: acct.ID, Mailbox: mailbox})
		}
	}
	results := s.srv.Deliverer.Deliver(ctx, deliver.Message{ReturnPath: tx.from.String(), Body: msg, Size: msg.size}, rcpts)
	errs, viaQueue := s.settle(tx, msg, rcpts, owner, results, status != nil)

	delivered := 0
	for i, r := range tx.rcpts {
		if errs[i] == nil {
			delivered++
		} else {
			s.log.Info("delivery failed", "tx", tx.id, "to", r.addr.String(), "err", errs[i])
		}
		if status != nil {
			if errs[i] == nil {
				status.SetStatus(r.raw, success(viaQueue[i]))
			} else {
				status.SetStatus(r.raw, replyOf(errs[i]))
			}
		}
	}
	s.log.Info("message received", "tx", tx.id, "from", tx.from.String(), "recipients", len(tx.rcpts), "delivered", delivered, "size", sp.size, "mailbox", mailbox)
	if status != nil {
		return nil
	}
	return s.oneReply(tx, errs, viaQueue)
}

// settle completes a transaction after local delivery. Remote
// recipients, remote alias targets, and (but for LMTP, which answers per
// recipient) local copies that failed go to the queue, which retries
// them or tells the sender in a DSN. It returns each recipient's outcome:
// nil when every copy it stands for is durable, in a mailbox or in the
// queue; and whether the queue holds some of them.
func (s *session) settle(tx *transaction, msg *message, rcpts []deliver.Recipient, owner [][]int, results []deliver.Result, perRecipient bool) (errs []error, viaQueue []bool) {
	env := s.envelope(tx)
	queued := map[string]bool{}
	viaQueue = make([]bool, len(tx.rcpts))
	add := func(i int, to string) {
		viaQueue[i] = true
		if k := strings.ToLower(to); !queued[k] {
			queued[k] = true
			r := tx.rcpts[i]
			env.To = append(env.To, to)
			env.Notify = append(env.Notify, r.notify)
			env.ORcpt = append(env.ORcpt, r.orcpt)
		}
	}
	errs = make([]error, len(tx.rcpts))
	addresses := accountsByID(tx)
	for i, r := range tx.rcpts {
		if r.remote {
			add(i, r.addr.String())
		}
		for _, f := range r.route.Forward {
			if s.srv.Queue == nil {
				s.log.Warn("no queue: alias forwarding skipped", "tx", tx.id, "to", r.addr.String(), "target", f)
				continue
			}
			add(i, f)
		}
		for _, j := range owner[i] {
			err := results[j].Err
			switch {
			case err == nil:
			case !perRecipient && s.srv.Queue != nil:
				add(i, addresses[rcpts[j].Account])
			case errs[i] == nil:
				errs[i] = err
			}
		}
	}
	if len(env.To) == 0 {
		return errs, viaQueue
	}
	id, err := s.srv.Queue.Enqueue(s.c.ctx, env, msg, msg.size)
	if err != nil {
		s.log.Error("queueing failed", "tx", tx.id, "err", err)
		for i := range tx.rcpts {
			if viaQueue[i] {
				errs[i] = storeTrouble(err)
			}
		}
		return errs, viaQueue
	}
	s.log.Info("queued", "tx", tx.id, "queue_id", id, "recipients", len(env.To))
	return errs, viaQueue
}

// success is the 250 for a recipient (LMTP) or a message: "Delivered"
// when it is in the mailboxes, "Accepted for delivery" when the queue
// holds (some of) it.
func success(queued bool) *gosmtp.SMTPError {
	if queued {
		return replyError(250, "2.0.0", "Accepted for delivery")
	}
	return replyError(250, "2.0.0", "Delivered")
}

// oneReply is the single SMTP reply for a transaction whose recipients
// had the outcomes errs. 250 needs every copy durable. When some copies
// are and others failed, only a temporary failure makes the client try
// again (the retry duplicates what was delivered, which beats losing the
// rest); a permanent one (the account went after RCPT) cannot be
// reported without a queue to bounce it, and retrying would only
// duplicate: the copies delivered stand, and the failure is logged.
func (s *session) oneReply(tx *transaction, errs []error, viaQueue []bool) *gosmtp.SMTPError {
	delivered := 0
	var first, firstTemp error
	for _, err := range errs {
		if err == nil {
			delivered++
			continue
		}
		if first == nil {
			first = err
		}
		if firstTemp == nil && replyOf(err).Code/100 == 4 {
			firstTemp = err
		}
	}
	switch {
	case delivered == len(errs):
		return success(slices.Contains(viaQueue, true))
	case delivered == 0 && firstTemp != nil:
		return replyOf(firstTemp)
	case delivered == 0:
		return replyOf(first)
	case firstTemp != nil:
		return replyError(451, "4.3.0", "Delivered to some recipients only; try again later")
	}
	s.log.Error("message lost for some recipients: nothing to bounce it with", "tx", tx.id, "err", first)
	return success(false)
}

// accountsByID maps the accounts of a transaction's routes to their
// addresses (the queue delivers to addresses).
func accountsByID(tx *transaction) map[store.AccountID]string {
	m := map[store.AccountID]string{}
	for _, r := range tx.rcpts {
		for _, a := range r.route.Accounts {
			m[a.ID] = a.Address
		}
	}
	return m
}

// replyOf turns any error into a reply.
func replyOf(err error) *gosmtp.SMTPError {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	var de *deliver.Error
	if errors.As(err, &de) {
		return deliverError(err)
	}
	return storeTrouble(err)
}

// reason is the verifier's reason, or a default.
func reason(r, def string) string {
	r = strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, r)
	if strings.TrimSpace(r) == "" {
		return def
	}
	return r
}

// envelope is the transaction's envelope for the queue, without
// recipients.
func (s *session) envelope(tx *transaction) Envelope {
	env := Envelope{
		From:       tx.from.String(),
		Return:     string(tx.opts.Return),
		EnvID:      tx.opts.EnvelopeID,
		RequireTLS: tx.opts.RequireTLS,
		UTF8:       tx.opts.UTF8,
	}
	if s.login != nil {
		env.Account = s.login.Account.Address
	}
	return env
}

// trace describes the transaction for its Received field.
func (s *session) trace(tx *transaction, now time.Time) trace {
	t := trace{
		helo:   s.gc.Hostname(),
		remote: s.c.remote,
		by:     s.srv.Hostname,
		with:   protocol(s.kind, !s.c.plainHelo.Load(), s.c.tlsState.Load() != nil, s.login != nil, tx.opts.UTF8),
		id:     tx.id,
		tls:    s.c.tlsState.Load(),
		at:     now,
	}
	if len(tx.rcpts) == 1 {
		t.rcpt = tx.rcpts[0].addr.String()
	}
	return t
}

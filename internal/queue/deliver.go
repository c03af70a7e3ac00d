package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"postfach/internal/queue/smtpclient"
)

// outcome is what one attempt did for one recipient.
type outcome struct {
	rcpt      *recipient
	delivered bool
	err       *Error // nil when delivered
	remoteMTA string // the host that answered, "" if none did
	// remoteDSN: the next hop took our NOTIFY and ORCPT, so it reports
	// success itself (RFC 3461 section 5.2.2); otherwise a requested
	// success notice is ours to send ("relayed").
	remoteDSN bool
}

// attempt runs one delivery attempt for the due recipients of one message
// in one domain, and records the outcome.
func (q *Queue) attempt(ctx context.Context, k jobKey) {
	m, rcpts, err := q.loadJob(ctx, k)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Error("queue: loading work", "msg", k.msgID, "domain", k.domain, "err", err)
		}
		return
	}
	if m == nil || len(rcpts) == 0 {
		return // dropped, or done by an earlier attempt
	}
	body, err := q.spoolBlob(ctx, m)
	if err != nil {
		// The row exists but its file does not: nothing can ever be
		// sent. Bounce rather than retry for days.
		q.log.Error("queue: spool file missing", "qid", m.qid, "err", err)
		outs := make([]outcome, len(rcpts))
		for i := range rcpts {
			outs[i] = outcome{rcpt: &rcpts[i], err: permErr("5.3.0", "message content lost from the queue")}
		}
		q.record(m, outs)
		return
	}
	defer body.Close()

	if q.opts.Local != nil {
		var local []outcome
		local, rcpts = q.deliverLocally(ctx, m, rcpts, body)
		if len(local) > 0 {
			q.record(m, local)
		}
		if len(rcpts) == 0 {
			return
		}
	}
	q.deliverRemote(ctx, m, k.domain, rcpts, body)
}

// loadJob reads the message and its recipients in domain that are due.
func (q *Queue) loadJob(ctx context.Context, k jobKey) (*message, []recipient, error) {
	tx, err := q.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	m := &message{id: k.msgID}
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT qid, spool, size, sender, account, ret, envid, requiretls, smtputf8, eightbit, tls_optional, dsn, created FROM messages WHERE id = ?`, k.msgID).
		Scan(&m.qid, &m.spool, &m.size, &m.sender, &m.account, &m.ret, &m.envid, &m.requireTLS, &m.smtputf8, &m.eightBit, &m.tlsOptional, &m.dsn, &created)
	if err != nil {
		if isNoRows(err) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	m.created = fromMS(created)
	rows, err := tx.QueryContext(ctx, `SELECT id, addr, notify, orcpt_type, orcpt, attempts, next_attempt, last_attempt, last_error, last_status, remote_mta, delay_notified
		FROM recipients WHERE message_id = ? AND domain = ? AND next_attempt <= ? ORDER BY id`, k.msgID, k.domain, ms(q.now()))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var rcpts []recipient
	for rows.Next() {
		r := recipient{msgID: k.msgID, domain: k.domain}
		var notify int
		var next, last int64
		if err := rows.Scan(&r.id, &r.addr, &notify, &r.orcptType, &r.orcpt, &r.attempts, &next, &last, &r.lastError, &r.lastStatus, &r.remoteMTA, &r.delayNotified); err != nil {
			return nil, nil, err
		}
		r.notify = Notify(notify)
		r.nextAttempt, r.lastAttempt = fromMS(next), fromMS(last)
		rcpts = append(rcpts, r)
	}
	return m, rcpts, rows.Err()
}

// deliverLocally offers each recipient to the local deliverer; it returns
// the outcomes for local recipients and the recipients that are not
// local.
func (q *Queue) deliverLocally(ctx context.Context, m *message, rcpts []recipient, body io.ReaderAt) ([]outcome, []recipient) {
	var outs []outcome
	var remote []recipient
	for i := range rcpts {
		r := &rcpts[i]
		err := q.opts.Local.DeliverLocal(ctx, m.sender, r.addr, body, m.size)
		switch {
		case errors.Is(err, ErrNotLocal):
			remote = append(remote, *r)
		case err != nil:
			outs = append(outs, outcome{rcpt: r, err: asError(err)})
		default:
			outs = append(outs, outcome{rcpt: r, delivered: true})
		}
	}
	return outs, remote
}

// hostFailure is why one host could not take the message; the attempt
// goes on with the next host.
type hostFailure struct {
	host string
	err  *Error
}

// deliverRemote tries the domain's hosts in order until one runs the
// transaction, and records the outcome as soon as it is known: right
// after the reply to the end of data, before QUIT, so that the window in
// which a crash makes us send again what the remote already took is as
// short as one database commit.
func (q *Queue) deliverRemote(ctx context.Context, m *message, domain string, rcpts []recipient, body io.ReaderAt) {
	failAll := func(e *Error, remote string) {
		outs := make([]outcome, len(rcpts))
		for i := range rcpts {
			outs[i] = outcome{rcpt: &rcpts[i], err: e, remoteMTA: remote}
		}
		q.record(m, outs)
	}
	hosts, rerr := q.route(ctx, domain)
	if rerr != nil {
		failAll(rerr, "")
		return
	}
	var policy *stsPolicy
	if !m.tlsOptional && !strings.HasPrefix(domain, "[") {
		policy = q.sts.policy(ctx, domain)
	}
	if m.requireTLS && (policy == nil || policy.mode == stsNone) {
		// RFC 8689 section 4.2.1: the MX hosts must be authenticated, by
		// DNSSEC (which our resolvers do not report) or MTA-STS.
		failAll(permErr("5.7.30", "REQUIRETLS: %s has no MTA-STS policy to authenticate its MX hosts", domain), "")
		return
	}
	var failures []hostFailure
	for _, h := range hosts {
		if ctx.Err() != nil {
			break
		}
		mode := tlsModeFor(m, policy)
		if policy != nil && policy.mode != stsNone && h.addr == (netip.Addr{}) && !policy.matches(h.name) {
			if policy.mode == stsEnforce || m.requireTLS {
				// RFC 8461 section 4.2: not a host the policy names.
				failures = append(failures, hostFailure{h.name, tempErr("4.7.5", "MX host %s does not match the MTA-STS policy of %s", h.name, domain)})
				continue
			}
			q.log.Warn("mta-sts testing: MX host does not match the policy", "domain", domain, "mx", h.name)
		}
		var addrs []netip.Addr
		if h.addr.IsValid() {
			addrs = []netip.Addr{h.addr}
		} else {
			var err error
			if addrs, err = q.lookupHost(ctx, h.name); err != nil {
				if isNotFound(err) {
					failures = append(failures, hostFailure{h.name, tempErr("4.4.4", "MX host %s has no address", h.name)})
				} else {
					failures = append(failures, hostFailure{h.name, tempErr("4.4.3", "address lookup for %s: %v", h.name, err)})
				}
				continue
			}
		}
		for _, a := range addrs {
			s := &session{q: q, m: m, host: h, addr: a, mode: mode, rcpts: rcpts, body: body, policy: policy, stsTesting: policy != nil && policy.mode == stsTesting}
			done, ferr := s.run(ctx)
			if done {
				return
			}
			failures = append(failures, ferr)
			if s.tlsBroken && mode == tlsOpportunistic {
				// RFC 7435 section 3: opportunistic TLS that fails may
				// fall back to no TLS, on a new connection.
				s = &session{q: q, m: m, host: h, addr: a, mode: tlsNever, rcpts: rcpts, body: body, policy: policy}
				if done, ferr = s.run(ctx); done {
					return
				}
				failures = append(failures, ferr)
			}
		}
	}
	if ctx.Err() != nil {
		failAll(tempErr("4.4.2", "delivery interrupted by shutdown"), "")
		return
	}
	e, remote := summarize(failures, domain)
	failAll(e, remote)
}

// summarize picks the error to record when no host took the message: a
// temporary one if any host failed temporarily (another attempt may find
// it working), else the last permanent one.
func summarize(fs []hostFailure, domain string) (*Error, string) {
	if len(fs) == 0 {
		return tempErr("4.4.4", "no usable mail exchanger for %s", domain), ""
	}
	for _, f := range fs {
		if f.err.Temporary() {
			return f.err, f.host
		}
	}
	last := fs[len(fs)-1]
	return last.err, last.host
}

// tlsMode says how a host must be reached.
type tlsMode int

const (
	// tlsOpportunistic: STARTTLS when offered, any certificate
	// (RFC 7435); no TLS when not offered.
	tlsOpportunistic tlsMode = iota
	// tlsVerified: STARTTLS required, with a certificate valid for the
	// MX host name (MTA-STS enforce, REQUIRETLS).
	tlsVerified
	// tlsNever: the fallback after a failed opportunistic handshake.
	tlsNever
)

func tlsModeFor(m *message, policy *stsPolicy) tlsMode {
	if m.requireTLS || (policy != nil && policy.mode == stsEnforce) {
		return tlsVerified
	}
	return tlsOpportunistic
}

// session is one connection to one address of one host.
type session struct {
	q     *Queue
	m     *message
	host  mxHost
	addr  netip.Addr
	mode  tlsMode
	rcpts []recipient
	body  io.ReaderAt

	tlsBroken bool // the handshake failed; the connection is gone
	verified  bool // the certificate was valid for the host name
	// policy is the domain's MTA-STS policy the session was set up
	// under (nil: none, or not looked up for a TLS-Required: No message).
	// stsTesting: it is in testing mode, whose failures are reported
	// (logged) but not enforced.
	policy     *stsPolicy
	stsTesting bool
	// unfit are the jobs chain found this connection cannot carry.
	unfit map[jobKey]bool
}

// Bounds of connection reuse: after its first message, a connection
// carries further due messages to the same domain (RSET between them) up
// to this many transactions or this age, whichever comes first.
const (
	maxTransactionsPerConn = 100
	maxConnAge             = 5 * time.Minute
)

// run talks to the host. done means the transaction ran and its outcome
// is recorded; otherwise the failure says why this host could not take
// the message. After a transaction, the connection goes on to other due
// messages for the domain (see chain).
func (s *session) run(ctx context.Context) (done bool, f hostFailure) {
	q := s.q
	f.host = s.host.name
	fail := func(e *Error) (bool, hostFailure) {
		f.err = e
		return false, f
	}
	target := net.JoinHostPort(s.addr.String(), strconv.Itoa(q.opts.SMTPPort))
	d := net.Dialer{Timeout: q.opts.ConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return fail(tempErr("4.4.1", "connecting to %s (%s): %v", s.host.name, target, err))
	}
	opened := time.Now()
	c := smtpclient.New(conn, smtpclient.Timeouts{})
	defer c.Close()
	// A host that refuses the session, even with 5xx, is skipped, and
	// the message deferred if no other host takes it: a refusal before
	// the transaction says nothing about the message (RFC 5321 section
	// 3.1 has the client try elsewhere).
	if _, err := c.Greet(ctx); err != nil {
		return fail(temporary(replyOrIOError(err, "greeting from %s", s.host.name)))
	}
	if err := c.Hello(ctx, q.opts.Hostname); err != nil {
		return fail(temporary(replyOrIOError(err, "EHLO to %s", s.host.name)))
	}
	if _, ok := c.Extension("STARTTLS"); ok && s.mode != tlsNever {
		err := c.StartTLS(ctx, s.tlsConfig())
		var te *smtpclient.TLSError
		switch {
		case err == nil:
		case errors.As(err, &te):
			s.tlsBroken = true
			return fail(tempErr("4.7.5", "TLS with %s failed: %v", s.host.name, te.Err))
		case s.mode == tlsVerified:
			return fail(replyOrIOError(err, "STARTTLS with %s", s.host.name))
		default:
			// Refused STARTTLS: go on without, as offered.
			var r *smtpclient.Reply
			if !errors.As(err, &r) {
				return fail(replyOrIOError(err, "STARTTLS with %s", s.host.name))
			}
			q.log.Info("queue: STARTTLS refused, continuing without TLS", "qid", s.m.qid, "mx", s.host.name, "reply", r.String())
		}
	} else if s.mode == tlsVerified {
		return fail(tempErr("4.7.10", "%s does not offer STARTTLS, which the MTA-STS policy or REQUIRETLS requires", s.host.name))
	}
	if s.stsTesting && !s.verified {
		q.log.Warn("mta-sts testing: no TLS with a valid certificate", "qid", s.m.qid, "mx", s.host.name, "tls", c.TLS() != nil)
	}
	done, ferr, usable := s.transact(ctx, c, s.m, s.rcpts, s.body)
	if !done {
		return fail(ferr)
	}
	for n, more := 1, true; more && usable && n < maxTransactionsPerConn && time.Since(opened) < maxConnAge; n++ {
		more, usable = s.chain(ctx, c)
	}
	if usable {
		c.Quit(ctx)
	}
	return true, f
}

// transact runs one mail transaction for m's recipients on the session's
// connection and records its outcome. done false means nothing was
// recorded and err says why this host cannot take m; usable says whether
// the connection can carry another transaction.
func (s *session) transact(ctx context.Context, c *smtpclient.Client, m *message, rcpts []recipient, body io.ReaderAt) (done bool, err *Error, usable bool) {
	q := s.q
	// What the content needs, which this host must support.
	if m.requireTLS {
		if _, ok := c.Extension("REQUIRETLS"); !ok {
			return false, permErr("5.7.30", "REQUIRETLS support required: %s does not offer it", s.host.name), true
		}
	}
	if m.smtputf8 {
		if _, ok := c.Extension("SMTPUTF8"); !ok {
			// RFC 6531 section 3.2: no downgrade of addresses or header
			// fields; the message cannot go there.
			return false, permErr("5.6.7", "%s does not support SMTPUTF8, which the message needs", s.host.name), true
		}
	}
	if m.eightBit {
		if _, ok := c.Extension("8BITMIME"); !ok {
			// RFC 6152 section 3: we do not convert 8-bit content to
			// 7-bit, which would break its DKIM signatures.
			return false, permErr("5.6.3", "%s does not support 8BITMIME, which the message needs", s.host.name), true
		}
	}
	if max := c.MaxSize(); max > 0 && m.size > max {
		// RFC 1870 section 6: larger than the server's fixed limit.
		return false, permErr("5.3.4", "message of %d octets is larger than %s accepts (%d)", m.size, s.host.name, max), true
	}
	_, dsn := c.Extension("DSN")
	mail := smtpclient.Mail{From: m.sender, Size: m.size, EightBit: m.eightBit, SMTPUTF8: m.smtputf8, RequireTLS: m.requireTLS, RET: m.ret, ENVID: m.envid}
	crcpts := make([]smtpclient.Rcpt, len(rcpts))
	for i, r := range rcpts {
		crcpts[i] = smtpclient.Rcpt{Addr: r.addr, Notify: r.notify.Keywords(), ORCPTType: r.orcptType, ORCPT: r.orcpt}
	}
	start := time.Now()
	res, serr := c.Send(ctx, mail, crcpts, io.NewSectionReader(body, 0, m.size))
	if res == nil {
		// The envelope could not even be written (a guard failed).
		return false, permErr("5.5.2", "%v", serr), false
	}
	if serr != nil && res.Mail == nil {
		return false, tempErr("4.4.2", "connection to %s lost: %v", s.host.name, serr), false
	}
	if res.Mail.Code == 421 {
		return false, replyError(res.Mail), false
	}
	q.record(m, s.outcomes(rcpts, res, serr, dsn))
	q.log.Debug("queue: transaction", "qid", m.qid, "mx", s.host.name, "addr", s.addr.String(), "tls", c.TLS() != nil, "verified", s.verified, "took", time.Since(start))
	return true, nil, serr == nil && !closing(res)
}

// closing reports a 421 anywhere in the transaction: the server is
// closing the session (RFC 5321 section 3.8).
func closing(res *smtpclient.Result) bool {
	for _, r := range append([]*smtpclient.Reply{res.Mail, res.Data, res.Final}, res.Rcpts...) {
		if r != nil && r.Code == 421 {
			return true
		}
	}
	return false
}

// chain carries the next due message for the session's domain, if any,
// on the open connection: the connection is known to suit the domain
// (its MX, its MTA-STS policy), so only what the message itself needs is
// checked. A message that does not fit this connection is left for a
// normal attempt. more is false when there was nothing to carry; usable
// says whether the connection can carry another message.
func (s *session) chain(ctx context.Context, c *smtpclient.Client) (more, usable bool) {
	q := s.q
	k, ok := q.claim(ctx, s.rcpts[0].domain, s.unfit)
	if !ok {
		return false, true
	}
	defer q.release(k)
	m, rcpts, err := q.loadJob(ctx, k)
	if err != nil || m == nil || len(rcpts) == 0 {
		return err == nil, true
	}
	// The policy this connection was set up under must do for m: a
	// message that needs verified TLS travels only on a verified
	// connection; one that skipped MTA-STS (TLS-Required: No) may take
	// any, but not the reverse.
	unfit := func() (bool, bool) {
		if s.unfit == nil {
			s.unfit = map[jobKey]bool{}
		}
		s.unfit[k] = true
		return true, true
	}
	if tlsModeFor(m, s.policy) == tlsVerified && (s.mode != tlsVerified || !s.verified) {
		return unfit()
	}
	if !m.tlsOptional && s.m.tlsOptional {
		return unfit()
	}
	body, err := q.spoolBlob(ctx, m)
	if err != nil {
		return unfit() // the normal attempt deals with it
	}
	defer body.Close()
	if err := c.Reset(ctx); err != nil {
		return false, false
	}
	done, _, usable := s.transact(ctx, c, m, rcpts, body)
	if !done && usable {
		// The host cannot take m (it needs an extension the host
		// lacks): its own attempt, which may try other hosts, decides.
		return unfit()
	}
	return true, usable
}

// outcomes turns the replies of a transaction into per-recipient
// outcomes. err is the session's failure after the envelope went out.
func (s *session) outcomes(rcpts []recipient, res *smtpclient.Result, err error, dsn bool) []outcome {
	outs := make([]outcome, len(rcpts))
	lost := func() *Error {
		return tempErr("4.4.2", "connection to %s lost: %v", s.host.name, err)
	}
	for i := range rcpts {
		o := outcome{rcpt: &rcpts[i], remoteMTA: s.host.name, remoteDSN: dsn}
		rr := res.Rcpts[i]
		switch {
		case res.Mail.Code/100 != 2:
			o.err = replyError(res.Mail)
		case rr == nil:
			o.err = lost()
		case rr.Code/100 != 2:
			o.err = replyError(rr)
		case res.Data == nil:
			o.err = lost()
		case res.Data.Code != 354:
			o.err = replyError(res.Data)
		case res.Final == nil:
			// The end of data may or may not have arrived: retrying
			// risks a duplicate, not retrying risks a loss; RFC 5321
			// section 4.1.1.4 (and RFC 1047) chooses the duplicate.
			o.err = lost()
		case res.Final.Code/100 != 2:
			o.err = replyError(res.Final)
		default:
			o.delivered = true
		}
		outs[i] = o
	}
	return outs
}

// tlsConfig is the STARTTLS configuration for the host: its name for SNI
// and verification; in opportunistic mode any certificate is accepted,
// and whether it verified is noted for the log.
func (s *session) tlsConfig() *tls.Config {
	roots := s.q.opts.RootCAs
	name := s.host.name
	return &tls.Config{
		ServerName:         name,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below, in the mode's way
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := verifyPeer(cs, name, roots)
			s.verified = err == nil
			if err != nil && s.mode == tlsVerified {
				return err
			}
			return nil
		},
	}
}

// verifyPeer checks the server's chain against roots (nil: the system's)
// for the host name, as crypto/tls would without InsecureSkipVerify.
func verifyPeer(cs tls.ConnectionState, name string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
	return err
}

// replyError is a remote's negative reply as an Error.
func replyError(r *smtpclient.Reply) *Error {
	return &Error{Code: r.Code, Enhanced: r.Enhanced, Text: r.Text()}
}

// replyOrIOError classifies a failure before the transaction: the
// remote's reply if it gave one, else a temporary network error.
func replyOrIOError(err error, format string, args ...any) *Error {
	var r *smtpclient.Reply
	if errors.As(err, &r) {
		return replyError(r)
	}
	return tempErr("4.4.2", "%s: %v", fmt.Sprintf(format, args...), err)
}

// temporary makes a permanent failure temporary, keeping its words.
func temporary(e *Error) *Error {
	if e.Temporary() {
		return e
	}
	return &Error{Code: 451, Enhanced: "4" + e.status()[1:], Text: fmt.Sprintf("%d %s", e.Code, e.Text)}
}

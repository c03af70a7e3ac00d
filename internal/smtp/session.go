package smtp

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"

	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/auth"
	"postfach/internal/deliver"
)

// session is go-smtp's Session for one connection: go-smtp makes it at
// the first EHLO (and never again, as STARTTLS happens below it, in
// conn) and calls it for MAIL, RCPT, DATA/BDAT, RSET and AUTH.
type session struct {
	srv  *Server
	c    *conn
	kind Listener
	gc   *gosmtp.Conn
	log  *slog.Logger

	// Set by a successful AUTH (submission).
	login      *auth.Session
	stopRevoke chan struct{}
	revokeOnce sync.Once

	tx *transaction // the mail transaction in progress, or nil
}

// transaction is one message's envelope, from MAIL to the end of DATA.
type transaction struct {
	id    string // for Received and logs
	from  deliver.Address
	opts  gosmtp.MailOptions
	rcpts []*recipient
}

// recipient is one accepted RCPT TO.
type recipient struct {
	// raw is the address as go-smtp reports it to LMTPData's status
	// collector.
	raw  string
	addr deliver.Address
	// route is where the MX and LMTP deliver it. For submission, a
	// recipient outside our domains has a zero route and remote set.
	route  deliver.Route
	remote bool
	notify []string
	orcpt  string
}

var (
	_ gosmtp.Session     = (*session)(nil)
	_ gosmtp.LMTPSession = (*session)(nil)
	_ gosmtp.AuthSession = (*session)(nil)
)

func (s *Server) newSession(kind Listener, gc *gosmtp.Conn) (gosmtp.Session, error) {
	c, ok := gc.Conn().(*conn)
	if !ok {
		return nil, errors.New("smtp: connection not made by ServeConn")
	}
	sess := &session{srv: s, c: c, kind: kind, gc: gc, log: c.log.With("helo", gc.Hostname())}
	c.setSession(sess)
	return sess, nil
}

// newID names a transaction in Received and the logs.
func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// Mail implements gosmtp.Session: MAIL FROM.
func (s *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if s.c.needHello.Load() {
		return errHelloAfterTLS
	}
	if s.tx != nil {
		return errNestedMail
	}
	if s.kind.submission() {
		// RFC 3207 section 4 and RFC 4954 section 6.
		if !s.srv.Auth.Secure(s.authConn()) {
			return errTLSFirst
		}
		if s.login == nil {
			return errAuthRequired
		}
		if revoked(s.login) {
			return replyError(535, "5.7.8", "Credential revoked")
		}
	}
	if opts.RequireTLS && s.c.tlsState.Load() == nil {
		return errRequireTLSNoTLS
	}
	var addr deliver.Address
	if from != "" {
		a, err := deliver.ParseAddress(from, opts.UTF8)
		switch {
		case errors.Is(err, deliver.ErrAddressUTF8):
			// RFC 6531 section 3.5.
			return replyError(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8")
		case err != nil:
			return replyError(553, "5.1.7", "Invalid sender address")
		}
		addr = a
	}
	if s.kind.submission() {
		if addr.IsZero() {
			return replyError(550, "5.7.1", "Submission needs a sender address")
		}
		owns, err := s.srv.Resolver.Owns(s.c.ctx, s.login.Account, addr)
		if err != nil {
			s.log.Error("checking sender address", "err", err)
			return storeTrouble(err)
		}
		if !owns {
			s.log.Info("sender address refused", "from", addr.String(), "account", s.login.Account.Address)
			return replyError(550, "5.7.1", "Sender address <"+addr.String()+"> does not belong to "+s.login.Account.Address)
		}
		if !s.srv.rate.allowMessage(s.login.Account.ID) {
			s.log.Warn("sending rate limit reached", "account", s.login.Account.Address, "limit", "messages")
			return replyError(451, "4.7.1", "Too many messages in the last hour; try again later")
		}
	}
	s.tx = &transaction{id: newID(), from: addr, opts: *opts}
	s.c.busy.Store(true)
	return nil
}

// Rcpt implements gosmtp.Session: RCPT TO.
func (s *session) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	tx := s.tx
	if tx == nil {
		return errNoTransaction
	}
	addr, err := deliver.ParseAddress(to, tx.opts.UTF8)
	switch {
	case errors.Is(err, deliver.ErrAddressUTF8):
		return replyError(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8")
	case err != nil:
		return replyError(501, "5.1.3", "Invalid recipient address")
	}
	r := &recipient{raw: to, addr: addr, orcpt: orcpt(opts)}
	for _, n := range opts.Notify {
		r.notify = append(r.notify, string(n))
	}
	ctx := s.c.ctx
	route, err := s.srv.Resolver.Resolve(ctx, addr)
	switch {
	case errors.Is(err, deliver.ErrUnknownRecipient):
		s.log.Info("unknown recipient", "to", addr.String())
		return errNoSuchUser
	case err != nil:
		s.log.Error("resolving recipient", "to", addr.String(), "err", err)
		return storeTrouble(err)
	case !route.Local && !s.kind.submission():
		s.log.Info("relaying denied", "to", addr.String())
		return errRelayDenied
	case !route.Local:
		r.remote = true
		if s.srv.Queue == nil {
			return replyError(451, "4.3.0", "Remote delivery is not available, try again later")
		}
	case len(route.Accounts) == 0 && s.srv.Queue == nil:
		// Only remote alias targets, and nothing to forward with.
		return replyError(451, "4.3.0", "Forwarding is not available, try again later")
	}
	r.route = route
	if s.kind.submission() {
		if !s.srv.rate.allowRecipients(s.login.Account.ID, len(tx.rcpts)+1) {
			s.log.Warn("sending rate limit reached", "account", s.login.Account.Address, "limit", "recipients")
			return replyError(450, "4.7.1", "Too many recipients in the last hour; try again later")
		}
	}
	tx.rcpts = append(tx.rcpts, r)
	return nil
}

// orcpt writes the ORCPT parameter as the queue keeps it: "type;address".
func orcpt(opts *gosmtp.RcptOptions) string {
	if opts.OriginalRecipient == "" {
		return ""
	}
	t := string(opts.OriginalRecipientType)
	if t == "" {
		t = "rfc822"
	}
	return strings.ToLower(t) + ";" + opts.OriginalRecipient
}

// Reset implements gosmtp.Session: RSET, a new EHLO, or the end of a
// transaction.
func (s *session) Reset() {
	s.tx = nil
	s.c.busy.Store(false)
}

// tlsStarted forgets the transaction, as RFC 3207 section 4.2 asks.
func (s *session) tlsStarted() { s.Reset() }

// Logout implements gosmtp.Session: the connection is ending.
func (s *session) Logout() error {
	s.Reset()
	s.revokeOnce.Do(func() {
		if s.stopRevoke != nil {
			close(s.stopRevoke)
		}
	})
	return nil
}

// Data implements gosmtp.Session: the message of DATA or BDAT, with one
// reply for all recipients.
func (s *session) Data(r io.Reader) error {
	return s.data(r, nil)
}

// LMTPData implements gosmtp.LMTPSession: one reply per recipient (RFC
// 2033 section 4.2).
func (s *session) LMTPData(r io.Reader, status gosmtp.StatusCollector) error {
	return s.data(r, status)
}

// data receives a message and delivers it. With status (LMTP), each
// recipient gets its own outcome; the error returned is for the ones
// that did not get one.
func (s *session) data(r io.Reader, status gosmtp.StatusCollector) error {
	tx := s.tx
	if tx == nil || len(tx.rcpts) == 0 {
		// go-smtp's own state thinks a transaction is open, ours was
		// reset by STARTTLS.
		return errNoTransaction
	}
	sp, err := s.srv.spool(r)
	if err != nil {
		var se *gosmtp.SMTPError
		if errors.As(err, &se) {
			s.log.Info("message refused", "tx", tx.id, "reason", se.Message)
			return se
		}
		if err == gosmtp.ErrDataTooLarge {
			return err
		}
		s.log.Warn("receiving message data", "tx", tx.id, "err", err)
		return storeTrouble(err)
	}
	defer sp.Close()
	if s.kind.submission() {
		return s.submit(tx, sp)
	}
	return s.receive(tx, sp, status)
}

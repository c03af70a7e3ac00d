package check

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// verifiedTLS is the configuration of connections that carry the
// password: the certificate must verify for the server name.
func (r *runner) verifiedTLS() *tls.Config {
	return &tls.Config{RootCAs: r.opts.Roots, ServerName: r.serverName, MinVersion: tls.VersionTLS12}
}

// pick returns the first usable probe among services, in order. When
// some were probed but none is usable, it says why on the first one and
// returns nil.
func pick(rep *Report, what string, names ...string) *Probe {
	var firstProbed *Probe
	for _, n := range names {
		for _, p := range rep.Probes {
			if p.Service != n {
				continue
			}
			if p.usable {
				return p
			}
			if firstProbed == nil {
				firstProbed = p
			}
		}
	}
	if firstProbed != nil {
		firstProbed.add(Fail, "login", "not %s: no %s port with a trusted certificate naming the server (the password is sent only there)", what, strings.Join(names, "/"))
	}
	return nil
}

func serviceOf(p *Probe) service {
	for _, s := range services {
		if s.name == p.Service {
			s.port = p.Port
			return s
		}
	}
	panic("check: unknown service " + p.Service)
}

// account logs in where it can: IMAP (and lists mailboxes), POP3 (and
// runs STAT), submission (and, with SendTest, sends the test message
// whose IMAP IDLE push it times).
func (r *runner) account(ctx context.Context, rep *Report) {
	imapP := pick(rep, "logging in over IMAP", "imaps", "imap")
	pop3P := pick(rep, "logging in over POP3", "pop3s", "pop3")
	smtpP := pick(rep, "logging in to send", "submissions", "submission")

	var (
		wg   sync.WaitGroup
		sess *imapSession
		sc   *smtpSession
	)
	if imapP != nil {
		wg.Go(func() { sess = r.imapLogin(ctx, imapP, r.opts.SendTest) })
	}
	if pop3P != nil {
		wg.Go(func() { r.pop3Login(ctx, pop3P) })
	}
	if smtpP != nil {
		wg.Go(func() { sc = r.smtpLogin(ctx, smtpP, r.opts.SendTest) })
	}
	wg.Wait()
	if !r.opts.SendTest {
		return
	}
	switch {
	case sess != nil && sc != nil:
		r.pushTest(ctx, imapP, sess, sc)
	case sess == nil && sc != nil:
		sc.client.Close()
		rep.Findings = append(rep.Findings, Finding{Fail, "push", "no test message sent: no IMAP login to watch for it"})
	case sess != nil && sc == nil:
		sess.close()
		rep.Findings = append(rep.Findings, Finding{Fail, "push", "no test message sent: no submission login"})
	default:
		rep.Findings = append(rep.Findings, Finding{Fail, "push", "no test message sent: no IMAP and no submission login"})
	}
}

// imapSession is a logged-in IMAP connection with INBOX selected.
type imapSession struct {
	client *imapclient.Client
	conn   net.Conn
	exists chan uint32 // EXISTS counts the server pushes
	count  uint32      // messages in INBOX when selected
}

func (s *imapSession) close() {
	s.client.Logout().Wait()
	s.client.Close()
}

// imapLogin logs in, reports the capabilities after login and the
// mailboxes, and returns the session with INBOX selected when keep is
// set.
func (r *runner) imapLogin(ctx context.Context, p *Probe, keep bool) *imapSession {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	s := serviceOf(p)
	raw, _, err := r.dial(ctx, p.Port)
	if err != nil {
		p.add(Fail, "login", "cannot connect again to log in: %v", err)
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	sess := &imapSession{conn: raw, exists: make(chan uint32, 64)}
	opts := &imapclient.Options{
		TLSConfig: r.verifiedTLS(),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case sess.exists <- *d.NumMessages:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	if s.implicit {
		tc := tls.Client(raw, opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			p.add(Fail, "login", "TLS for login: %v", err)
			return nil
		}
		c = imapclient.New(tc, opts)
	} else if c, err = imapclient.NewStartTLS(raw, opts); err != nil {
		raw.Close()
		p.add(Fail, "login", "STARTTLS for login: %v", err)
		return nil
	}
	sess.client = c
	fail := func(format string, args ...any) *imapSession {
		p.add(Fail, "login", format, args...)
		c.Close()
		return nil
	}
	if err := c.WaitGreeting(); err != nil {
		return fail("greeting: %v", err)
	}
	start := time.Now()
	if c.Caps().Has(imap.AuthCap(sasl.Plain)) {
		err = c.Authenticate(sasl.NewPlainClient("", r.opts.User, r.opts.Password))
	} else {
		err = c.Login(r.opts.User, r.opts.Password).Wait()
	}
	if err != nil {
		return fail("login as %s refused: %v", r.opts.User, err)
	}
	p.add(OK, "login", "logged in as %s in %s", r.opts.User, fmtDuration(time.Since(start)))

	capSet, err := c.Capability().Wait()
	if err != nil {
		return fail("CAPABILITY after login: %v", err)
	}
	var caps []string
	for cp := range capSet {
		caps = append(caps, strings.ToUpper(string(cp)))
	}
	slices.Sort(caps)
	p.Capabilities = caps
	imapCapFindings(p, caps, true)

	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return fail("LIST: %v", err)
	}
	names := make([]string, 0, len(list))
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	shown := names
	if len(shown) > 12 {
		shown = append(slices.Clip(shown[:12]), "...")
	}
	level := OK
	if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, "INBOX") }) {
		level = Fail
	}
	p.add(level, "mailboxes", "%d mailboxes: %s", len(names), strings.Join(shown, ", "))
	if !keep {
		sess.close()
		return nil
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return fail("SELECT INBOX: %v", err)
	}
	sess.count = sel.NumMessages
	// EXISTS of the SELECT itself is not a push.
	for len(sess.exists) > 0 {
		<-sess.exists
	}
	return sess
}

// pop3Login logs in and runs STAT (RFC 1939 section 5).
func (r *runner) pop3Login(ctx context.Context, p *Probe) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	s := serviceOf(p)
	raw, _, err := r.dial(ctx, p.Port)
	if err != nil {
		p.add(Fail, "login", "cannot connect again to log in: %v", err)
		return
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	c := newConn(raw)
	if s.implicit {
		if _, err := c.startTLS(ctx, r.verifiedTLS()); err != nil {
			p.add(Fail, "login", "TLS for login: %v", err)
			return
		}
	}
	cmd := func(line string) (string, error) {
		if line != "" {
			if err := c.writeLine(line); err != nil {
				return "", err
			}
		}
		resp, err := c.readLine()
		if err != nil {
			return "", err
		}
		ok, text, err := parsePOP3Status(resp)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("-ERR %s", clip(text))
		}
		return text, nil
	}
	if _, err := cmd(""); err != nil {
		p.add(Fail, "login", "greeting: %v", err)
		return
	}
	if !s.implicit {
		if _, err := cmd("STLS"); err != nil {
			p.add(Fail, "login", "STLS for login: %v", err)
			return
		}
		if _, err := c.startTLS(ctx, r.verifiedTLS()); err != nil {
			p.add(Fail, "login", "TLS for login: %v", err)
			return
		}
	}
	capa, err := pop3ReadCapa(c)
	if err != nil {
		p.add(Fail, "login", "%v", err)
		return
	}
	start := time.Now()
	if slices.Contains(capa.sasl(), "PLAIN") {
		// RFC 5034 section 4: the initial response goes with AUTH;
		// RFC 4616: authzid NUL authcid NUL password.
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + r.opts.User + "\x00" + r.opts.Password))
		_, err = cmd("AUTH PLAIN " + ir)
	} else if _, err = cmd("USER " + r.opts.User); err == nil {
		_, err = cmd("PASS " + r.opts.Password)
	}
	if err != nil {
		p.add(Fail, "login", "login as %s refused: %v", r.opts.User, err)
		return
	}
	p.add(OK, "login", "logged in as %s in %s", r.opts.User, fmtDuration(time.Since(start)))
	text, err := cmd("STAT")
	if err != nil {
		p.add(Fail, "stat", "STAT failed: %v", err)
		return
	}
	// "+OK nn mm": messages and octets (RFC 1939 section 5).
	f := strings.Fields(text)
	n, err1 := strconv.ParseUint(safeIndex(f, 0), 10, 64)
	size, err2 := strconv.ParseUint(safeIndex(f, 1), 10, 64)
	if err1 != nil || err2 != nil {
		p.add(Fail, "stat", "STAT answer %q is not \"count size\"", clip(text))
	} else {
		p.add(OK, "stat", "STAT: %d messages, %d octets", n, size)
	}
	cmd("QUIT")
}

func safeIndex(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// smtpSession is a logged-in submission connection.
type smtpSession struct {
	client *smtp.Client
	p      *Probe
}

// smtpLogin authenticates on the submission port; with keep, the
// session stays open for the test message.
func (r *runner) smtpLogin(ctx context.Context, p *Probe, keep bool) *smtpSession {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	s := serviceOf(p)
	raw, _, err := r.dial(ctx, p.Port)
	if err != nil {
		p.add(Fail, "auth", "cannot connect again to log in: %v", err)
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	var c *smtp.Client
	if s.implicit {
		tc := tls.Client(raw, r.verifiedTLS())
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			p.add(Fail, "auth", "TLS for login: %v", err)
			return nil
		}
		c = smtp.NewClient(tc)
		if err := c.Hello(heloName(raw)); err != nil {
			p.add(Fail, "auth", "EHLO: %v", err)
			c.Close()
			return nil
		}
	} else if c, err = smtp.NewClientStartTLS(raw, r.verifiedTLS()); err != nil {
		// go-smtp says EHLO localhost here; submission servers accept it.
		raw.Close()
		p.add(Fail, "auth", "STARTTLS for login: %v", err)
		return nil
	}
	fail := func(format string, args ...any) *smtpSession {
		p.add(Fail, "auth", format, args...)
		c.Close()
		return nil
	}
	start := time.Now()
	if err := c.Auth(sasl.NewPlainClient("", r.opts.User, r.opts.Password)); err != nil {
		return fail("login as %s refused: %v", r.opts.User, err)
	}
	p.add(OK, "auth", "logged in as %s in %s", r.opts.User, fmtDuration(time.Since(start)))
	if !keep {
		c.Quit()
		c.Close()
		return nil
	}
	return &smtpSession{client: c, p: p}
}

// pushTest sends the account a message through submission while IMAP
// IDLEs on INBOX, and reports the time from the server's acceptance of
// the message to the EXISTS push. The message is removed afterwards.
func (r *runner) pushTest(ctx context.Context, imapP *Probe, sess *imapSession, sc *smtpSession) {
	defer sc.client.Close()
	defer sess.client.Close()
	deadline := time.Now().Add(r.opts.Timeout + r.opts.PushTimeout)
	sess.conn.SetDeadline(deadline)

	idle, err := sess.client.Idle()
	if err != nil {
		imapP.add(Fail, "push", "IDLE: %v", err)
		return
	}
	token := make([]byte, 12)
	rand.Read(token)
	msgID := hex.EncodeToString(token) + ".check@postfach.invalid"
	msg := testMessage(r.opts.User, msgID, r.opts.Now())

	sendStart := time.Now()
	if err := sendMessage(sc.client, r.opts.User, msg); err != nil {
		sc.p.add(Fail, "send", "sending the test message: %v", err)
		idle.Close()
		return
	}
	accepted := time.Now()
	sc.p.add(OK, "send", "test message to %s accepted in %s", r.opts.User, fmtDuration(accepted.Sub(sendStart)))
	sc.client.Quit()

	timer := time.NewTimer(r.opts.PushTimeout)
	defer timer.Stop()
	pushed := false
wait:
	for {
		select {
		case n := <-sess.exists:
			if n > sess.count {
				pushed = true
				break wait
			}
		case <-timer.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	pushTime := time.Since(accepted)
	if err := idle.Close(); err == nil {
		err = idle.Wait()
	}
	if !pushed {
		imapP.add(Fail, "push", "no IDLE push within %v of the server accepting the test message (delivery or IDLE is broken)", r.opts.PushTimeout)
	} else {
		level := OK
		if pushTime > 10*time.Second {
			level = Warn
		}
		imapP.add(level, "push", "IDLE pushed the test message %s after the server accepted it", fmtDuration(pushTime))
	}
	r.removeTestMessage(imapP, sess, msgID)
	sess.client.Logout().Wait()
}

// removeTestMessage deletes the test message, found by its Message-ID.
func (r *runner) removeTestMessage(p *Probe, sess *imapSession, msgID string) {
	c := sess.client
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: msgID}}}, nil).Wait()
	if err != nil || len(data.AllUIDs()) == 0 {
		p.add(Info, "push", "the test message (Message-ID <%s>) could not be found to remove it", msgID)
		return
	}
	uids := imap.UIDSetNum(data.AllUIDs()...)
	if err := c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		p.add(Info, "push", "the test message could not be marked deleted: %v", err)
		return
	}
	var ex *imapclient.ExpungeCommand
	if c.Caps().Has(imap.CapUIDPlus) || c.Caps().Has(imap.CapIMAP4rev2) {
		ex = c.UIDExpunge(uids)
	} else {
		ex = c.Expunge()
	}
	if err := ex.Close(); err != nil {
		p.add(Info, "push", "the test message could not be expunged: %v", err)
	}
}

// testMessage is the message sendTest delivers.
func testMessage(addr, msgID string, now time.Time) string {
	return "From: <" + addr + ">\r\n" +
		"To: <" + addr + ">\r\n" +
		"Subject: postfach check: delivery test\r\n" +
		"Date: " + now.Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + msgID + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Auto-Submitted: auto-generated\r\n" +
		"\r\n" +
		"postfach check --send-test sent this message to time delivery and IMAP\r\n" +
		"IDLE push. It removes it again; if you read this, it could not.\r\n"
}

func sendMessage(c *smtp.Client, addr, msg string) error {
	if err := c.Mail(addr, nil); err != nil {
		return err
	}
	if err := c.Rcpt(addr, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

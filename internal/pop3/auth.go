package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"postfach/internal/auth"
)

// capabilities lists the CAPA response (RFC 2449 section 5) for the
// session's current state.
func (c *session) capabilities() []string {
	caps := []string{"TOP", "UIDL"}
	secure := c.secure()
	if secure {
		// RFC 2595 section 4 and our policy: no USER/PASS in the clear.
		caps = append(caps, "USER")
	}
	if mechs := c.srv.Auth.Mechanisms(c.authConn()); len(mechs) > 0 {
		caps = append(caps, "SASL "+strings.Join(mechs, " "))
	}
	if c.state == stateAuthorization && !c.tls && c.srv.TLS != nil {
		// RFC 2595 section 4: STLS is announced where it is permitted.
		caps = append(caps, "STLS")
	}
	caps = append(caps,
		"RESP-CODES",
		"AUTH-RESP-CODE",
		"PIPELINING",
		// RFC 2449 section 6.7: the server never deletes messages on its
		// own; what DELE does is the client's choice.
		"EXPIRE NEVER",
		// RFC 2449 section 6.5: no delay is imposed between logins.
		"LOGIN-DELAY 0",
	)
	if secure {
		// RFC 6856 section 2.2: UTF-8 user names and passwords are
		// accepted with USER and PASS.
		caps = append(caps, "UTF8 USER")
	} else {
		caps = append(caps, "UTF8")
	}
	return append(caps, "IMPLEMENTATION postfach")
}

func (c *session) cmdCapa(ctx context.Context, cmd *command) error {
	c.ok("Capability list follows")
	for _, cp := range c.capabilities() {
		c.bw.WriteString(cp)
		c.bw.WriteString("\r\n")
	}
	c.bw.WriteString(".\r\n")
	return nil
}

func (c *session) cmdQuit(ctx context.Context, cmd *command) error {
	if c.state == stateTransaction {
		return c.update(ctx)
	}
	c.state = stateDone
	c.ok("postfach POP3 server signing off")
	return nil
}

func (c *session) cmdStls(ctx context.Context, cmd *command) error {
	switch {
	case len(cmd.args) != 0:
		return errSyntax("STLS takes no arguments")
	case c.tls:
		return errResp("", "TLS is already active")
	case c.srv.TLS == nil:
		return errResp("", "TLS is not available")
	case c.utf8:
		// RFC 6856 section 2.1: clients must not issue STLS after UTF8.
		return errResp("", "STLS is not allowed after UTF8")
	}
	c.ok("Begin TLS negotiation")
	if err := c.bw.Flush(); err != nil {
		return errClose
	}
	// Anything the client sent after STLS in the clear would be read as
	// if it came over TLS: refuse such injection (CVE-2011-0411 class).
	if c.br.Buffered() > 0 {
		c.log.Warn("plaintext data after STLS; closing")
		return errClose
	}
	if err := c.startTLS(); err != nil {
		c.log.Debug("STLS handshake failed", "err", err)
		return errClose
	}
	c.user = ""
	return nil
}

// privacyText explains why credentials are refused without TLS.
const privacyText = "Authentication is disabled until TLS is active; use STLS first, or the implicit-TLS port (995)"

func (c *session) cmdUser(ctx context.Context, cmd *command) error {
	c.user = ""
	if !c.secure() {
		// Refused at USER, so that the password is never sent.
		return errResp("AUTH", privacyText)
	}
	name := strings.TrimSpace(cmd.rest)
	if name == "" {
		return errSyntax("USER needs a user name")
	}
	c.user = name
	c.ok("Send PASS")
	return nil
}

func (c *session) cmdPass(ctx context.Context, cmd *command) error {
	user := c.user
	c.user = ""
	switch {
	case user == "":
		return errSyntax("Send USER first")
	case !c.secure():
		return errResp("AUTH", privacyText)
	case cmd.rest == "":
		return errSyntax("PASS needs a password")
	}
	sess, err := c.srv.Auth.Password(ctx, c.authConn(), user, cmd.rest)
	if err != nil {
		return c.authFailed("PASS", err)
	}
	return c.loggedIn(ctx, sess)
}

// cmdAuth runs AUTH (RFC 5034): a SASL exchange through the shared auth
// layer. Without arguments it lists the mechanisms, as older clients
// expect (Outlook sends a bare AUTH).
func (c *session) cmdAuth(ctx context.Context, cmd *command) error {
	if !c.secure() {
		return errResp("AUTH", privacyText)
	}
	conn := c.authConn()
	if len(cmd.args) == 0 {
		c.ok("Mechanisms follow")
		for _, m := range c.srv.Auth.Mechanisms(conn) {
			c.bw.WriteString(m)
			c.bw.WriteString("\r\n")
		}
		c.bw.WriteString(".\r\n")
		return nil
	}
	if len(cmd.args) > 2 {
		return errSyntax("AUTH takes a mechanism and an optional initial response")
	}
	mech := strings.ToUpper(cmd.args[0])
	ex, err := c.srv.Auth.Start(conn, mech)
	if errors.Is(err, auth.ErrPrivacyRequired) {
		return errResp("AUTH", privacyText)
	} else if err != nil {
		return errResp("", "Unsupported authentication mechanism")
	}
	var resp []byte
	if len(cmd.args) == 2 {
		// RFC 5034 section 4: "=" is an empty initial response.
		if cmd.args[1] == "=" {
			resp = []byte{}
		} else if resp, err = base64.StdEncoding.DecodeString(cmd.args[1]); err != nil {
			return errSyntax("Invalid base64 in the initial response")
		}
	}
	for {
		challenge, done, err := ex.Next(ctx, resp)
		if err != nil {
			return c.authFailed(mech, err)
		}
		if done {
			break
		}
		// RFC 5034 section 4: "+ " and the base64 challenge; the client
		// answers with one line, "*" cancels.
		c.bw.WriteString("+ ")
		c.bw.WriteString(base64.StdEncoding.EncodeToString(challenge))
		c.bw.WriteString("\r\n")
		if err := c.bw.Flush(); err != nil {
			return errClose
		}
		line, err := c.readLine()
		switch {
		case errors.Is(err, errLineTooLong):
			return errSyntax("SASL response too long")
		case err != nil:
			// Broken, timed out or interrupted: nothing to answer, except
			// a last word on shutdown.
			c.stopping()
			return errClose
		case string(line) == "*":
			return errResp("", "Authentication cancelled")
		}
		if resp, err = base64.StdEncoding.DecodeString(string(line)); err != nil {
			return errSyntax("Invalid base64 in the SASL response")
		}
	}
	return c.loggedIn(ctx, ex.Session())
}

func (c *session) cmdApop(ctx context.Context, cmd *command) error {
	return errResp("", "APOP is not offered (it rests on MD5); use USER and PASS, or AUTH, over TLS")
}

func (c *session) cmdUTF8(ctx context.Context, cmd *command) error {
	if len(cmd.args) != 0 {
		return errSyntax("UTF8 takes no arguments")
	}
	c.utf8 = true
	c.ok("UTF-8 mode enabled")
	return nil
}

// authFailed maps an auth layer error to the response (RFC 3206: [AUTH]
// for credentials, [SYS/TEMP] for what may pass).
func (c *session) authFailed(mech string, err error) error {
	var re *respError
	if errors.As(err, &re) {
		return err
	}
	out := &respError{code: "AUTH"}
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		c.authFailures++
		out.text = "Authentication failed"
	case errors.Is(err, auth.ErrAuthzid):
		c.authFailures++
		out.text = "Authorization identity must be empty or equal the user"
	case errors.Is(err, auth.ErrMalformed):
		out.code, out.text, out.syntax = "", "Malformed "+mech+" response", true
	case errors.Is(err, auth.ErrPrivacyRequired):
		out.text = privacyText
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		out.code, out.text = "SYS/TEMP", "Server shutting down"
	default:
		var ae *auth.Error
		if errors.As(err, &ae) {
			// The auth layer's own wording: throttling, a ban, an account
			// that needs an app password.
			c.authFailures++
			out.text = ae.Text
			if ae.Temporary {
				out.code = "SYS/TEMP"
			}
			break
		}
		c.log.Error("authentication error", "err", err)
		out.code, out.text = "SYS/TEMP", "Authentication is temporarily unavailable"
	}
	if c.authFailures >= c.limits.MaxAuthFailures {
		out.text += "; too many failures, closing"
		out.close = true
	}
	return out
}

// loggedIn takes the maildrop lock, reads the maildrop and enters the
// TRANSACTION state (RFC 1939 section 6).
func (c *session) loggedIn(ctx context.Context, sess auth.Session) error {
	acct := sess.Account
	if !c.srv.lock(acct.ID) {
		sess.Close()
		c.log.Info("maildrop in use", "account", acct.Address)
		// RFC 2449 section 8.1.2.
		return errResp("IN-USE", "Maildrop is in use by another POP3 session; try again later")
	}
	c.acct, c.locked = acct, true
	mail := c.srv.Store.Mail(acct.ID)
	md, err := mail.POP3Maildrop(ctx)
	if err != nil {
		c.release()
		sess.Close()
		if errors.Is(err, context.Canceled) {
			return err
		}
		c.log.Error("reading maildrop", "account", acct.Address, "err", err)
		return errResp("SYS/TEMP", "Cannot open the maildrop; try again later")
	}
	c.mail, c.authSess = mail, sess
	c.drop = newMaildrop(md, c.srv.policy())
	c.state = stateTransaction
	c.log = c.log.With("account", acct.Address)
	c.log.Info("logged in", "credential", sess.Credential, "messages", c.drop.count, "octets", c.drop.size)
	c.watchRevoked(sess.Revoked)
	c.ok("Logged in; " + strconv.Itoa(c.drop.count) + " messages (" + strconv.FormatInt(c.drop.size, 10) + " octets)")
	return nil
}

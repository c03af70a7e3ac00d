package imap

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"postfach/internal/auth"
	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// capabilities lists what the server offers in the session's current
// state. ENABLE never changes it (RFC 9051 section 6.3.1).
func (c *session) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2"}
	if c.state == stateNotAuthenticated {
		if !c.tls && c.srv.TLS != nil {
			caps = append(caps, "STARTTLS")
		}
		if mechs := c.srv.Auth.Mechanisms(c.authConn()); len(mechs) > 0 {
			for _, m := range mechs {
				caps = append(caps, "AUTH="+m)
			}
			// RFC 4959: SASL-IR goes with the mechanisms.
			caps = append(caps, "SASL-IR")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
		return append(caps, "LITERAL+", "ENABLE", "ID", "IDLE")
	}
	return append(caps,
		"LITERAL+", "ENABLE", "ID", "IDLE", "NAMESPACE", "UNSELECT",
		"UIDPLUS", "MOVE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS",
		"SPECIAL-USE", "CREATE-SPECIAL-USE", "ESEARCH", "SEARCHRES",
		"MULTIAPPEND", "BINARY", "STATUS=SIZE", "WITHIN", "UNAUTHENTICATE",
		"COMPRESS=DEFLATE", "CONDSTORE", "QRESYNC",
		"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE",
		"SORT", "ESORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
		"OBJECTID", "SAVEDATE", "REPLACE", "PARTIAL", "NOTIFY", "METADATA",
		"CATENATE", "MULTISEARCH", "LIST-METADATA", "UIDONLY", "SEARCH=FUZZY", "PREVIEW",
		"APPENDLIMIT="+strconv.FormatInt(c.limits.MaxMessageSize, 10),
	)
}

func (c *session) writeCapabilities() {
	for i, cp := range c.capabilities() {
		if i > 0 {
			c.w.SP()
		}
		c.w.Atom(cp)
	}
}

func (c *session) cmdCapability(ctx context.Context, cmd *wire.Command) error {
	c.w.Raw("* CAPABILITY ")
	c.writeCapabilities()
	c.w.CRLF()
	return nil
}

func (c *session) cmdNoop(ctx context.Context, cmd *wire.Command) error {
	// NOOP and CHECK exist to poll for changes: look even without a
	// wake-up, in case one was lost.
	if c.sel != nil {
		return c.syncSelected(ctx, true, true)
	}
	return nil
}

func (c *session) cmdLogout(ctx context.Context, cmd *wire.Command) error {
	c.statusLine("*", "BYE", "", "Logging out")
	c.statusLine(cmd.Tag, "OK", "", "LOGOUT completed")
	c.state = stateLogout
	return nil
}

// cmdID answers RFC 2971 ID with what a client may log; it keeps the
// client's values only for our log.
func (c *session) cmdID(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.IDArgs)
	if len(args.Fields) > 0 {
		attrs := make([]any, 0, 2*len(args.Fields))
		for i, f := range args.Fields {
			if i == 30 {
				break
			}
			v := "NIL"
			if f.Value != nil {
				v = *f.Value
			}
			attrs = append(attrs, "id."+strings.ToLower(f.Key), v)
		}
		c.log.Info("client identified", attrs...)
	}
	c.w.Raw(`* ID ("name" "postfach" "vendor" "postfach")`)
	c.w.CRLF()
	return nil
}

func (c *session) cmdStartTLS(ctx context.Context, cmd *wire.Command) error {
	if c.tls {
		return errBad("", "TLS is already active")
	}
	if c.srv.TLS == nil {
		return errNo("", "TLS is not configured")
	}
	c.statusLine(cmd.Tag, "OK", "", "Begin TLS negotiation now")
	if err := c.w.Flush(); err != nil {
		return errBye
	}
	// Anything the client sent after STARTTLS in the clear would be
	// read as if it came over TLS: refuse such injection (RFC 9051
	// section 11.1, CVE-2011-0411 class).
	if c.r.Buffered() > 0 {
		c.log.Warn("plaintext data after STARTTLS; closing")
		return errBye
	}
	if err := c.startTLS(); err != nil {
		c.log.Debug("STARTTLS handshake failed", "err", err)
		return errBye
	}
	// The tagged OK is already sent; nothing more for this command.
	return errAnswered
}

// errAnswered: the handler already wrote the tagged response.
var errAnswered = errors.New("imap: answered")

func (c *session) cmdLogin(ctx context.Context, cmd *wire.Command) error {
	if !c.secure() {
		return errNo("PRIVACYREQUIRED", "LOGIN is disabled until TLS is active; use STARTTLS or port 993")
	}
	args := cmd.Args.(*wire.LoginArgs)
	return c.login(ctx, args.User, args.Password)
}

func (c *session) cmdAuthenticate(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.AuthenticateArgs)
	if !c.secure() {
		return errNo("PRIVACYREQUIRED", "Authentication is disabled until TLS is active; use STARTTLS or port 993")
	}
	conn := c.authConn()
	ex, err := c.srv.Auth.Start(conn, args.Mechanism)
	if err != nil {
		return errNo("CANNOT", "Unsupported authentication mechanism")
	}
	var resp []byte
	if args.HasInitial {
		// RFC 4959: "=" stands for an empty initial response; the
		// parser has decoded it to an empty slice.
		resp = args.Initial
		if resp == nil {
			resp = []byte{}
		}
	}
	for {
		challenge, done, err := ex.Next(ctx, resp)
		if done || err != nil {
			if err != nil {
				return c.authFailed(args.Mechanism, err)
			}
			break
		}
		// RFC 9051 section 6.2.2: a challenge is a continuation with
		// base64 data; the client answers with one line, "*" cancels.
		if err := c.continuation(base64.StdEncoding.EncodeToString(challenge)); err != nil {
			return errBye
		}
		line, err := c.r.ReadLine()
		if err != nil {
			var werr *wire.Error
			if errors.As(err, &werr) {
				return errBad("", werr.Text)
			}
			return errBye
		}
		if string(line) == "*" {
			return errBad("", "Authentication cancelled")
		}
		if string(line) == "=" {
			// RFC 4959's spelling of an empty initial response; go-imap
			// v2 also sends it to answer a challenge (SCRAM's
			// server-final message) with nothing.
			resp = []byte{}
		} else if resp, err = base64.StdEncoding.DecodeString(string(line)); err != nil {
			return errBad("", "Invalid base64 in the SASL response")
		}
	}
	return c.loggedIn(ex.Session())
}

// login checks a user name and password (LOGIN) and enters the
// authenticated state.
func (c *session) login(ctx context.Context, user, pass string) error {
	sess, err := c.srv.Auth.Password(ctx, c.authConn(), user, pass)
	if err != nil {
		return c.authFailed("LOGIN", err)
	}
	return c.loggedIn(sess)
}

// authFailed maps an auth layer error to the tagged response.
func (c *session) authFailed(mech string, err error) error {
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		return errNo("AUTHENTICATIONFAILED", "Invalid credentials")
	case errors.Is(err, auth.ErrAuthzid):
		// RFC 5530: acting as another user is not offered.
		return errNo("AUTHORIZATIONFAILED", "Authorization identity must be empty or equal the user")
	case errors.Is(err, auth.ErrMalformed):
		return errBad("", "Malformed "+mech+" response")
	case errors.Is(err, auth.ErrPrivacyRequired):
		return errNo("PRIVACYREQUIRED", "Authentication is disabled until TLS is active")
	}
	var re *respError
	if errors.As(err, &re) {
		return err
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		// The auth layer's own wording: throttling, 2FA needs an app
		// password.
		return errNo(ae.IMAPCode, ae.Text)
	}
	c.log.Error("authentication error", "err", err)
	return errNo("UNAVAILABLE", "Authentication is temporarily unavailable")
}

// loggedIn enters the authenticated state.
func (c *session) loggedIn(sess auth.Session) error {
	acct := sess.Account
	c.acct = acct
	c.mail = c.srv.Store.Mail(acct.ID)
	c.sub = c.srv.Hub.Subscribe(int64(acct.ID))
	c.state = stateAuthenticated
	c.watchLogin(sess)
	c.log = c.log.With("account", acct.Address)
	c.log.Info("logged in", "credential", sess.Credential)
	// RFC 9051 section 6.2.2: the OK may carry the capabilities, which
	// change with authentication.
	var b strings.Builder
	b.WriteString("CAPABILITY")
	for _, cp := range c.capabilities() {
		b.WriteByte(' ')
		b.WriteString(cp)
	}
	c.okCode = b.String()
	return nil
}

func (c *session) cmdUnauthenticate(ctx context.Context, cmd *wire.Command) error {
	// RFC 8437: back to the not-authenticated state, as if just
	// connected over the same TLS.
	c.sel = nil
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
	c.endLogin()
	c.acct, c.mail, c.rev2 = store.Account{}, nil, false
	// RFC 8437 section 3: what ENABLE turned on ends with the login; so
	// do the NOTIFY settings, which name the account's mailboxes.
	c.condstore, c.qresync, c.uidOnly, c.notify = false, false, false, nil
	c.w.SetUTF8(false)
	c.state = stateNotAuthenticated
	return nil
}

func (c *session) cmdEnable(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.EnableArgs)
	var enabled []string
	for _, cp := range args.Capabilities {
		switch cp {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2 = true
				c.w.SetUTF8(true)
				enabled = append(enabled, "IMAP4rev2")
			}
		case "CONDSTORE":
			if !c.condstore {
				c.enableCondStore()
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			// RFC 7162 section 3.2.3: QRESYNC implies CONDSTORE.
			if !c.qresync {
				c.qresync = true
				c.enableCondStore()
				enabled = append(enabled, "QRESYNC")
			}
		case "UIDONLY":
			// RFC 9586 (uidonly.go).
			if !c.uidOnly {
				c.uidOnly = true
				enabled = append(enabled, "UIDONLY")
			}
		}
	}
	c.w.Raw("* ENABLED")
	for _, e := range enabled {
		c.w.SP()
		c.w.Atom(e)
	}
	c.w.CRLF()
	return nil
}

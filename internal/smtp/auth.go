package smtp

import (
	"errors"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"postfach/internal/auth"
)

// authConn describes the connection to the auth layer.
func (s *session) authConn() auth.Conn {
	return auth.Conn{Protocol: "smtp", Remote: s.c.remote, TLS: s.c.tlsState.Load()}
}

// AuthMechanisms implements gosmtp.AuthSession: what EHLO advertises.
// Only submission authenticates, and only where credentials may travel
// (after TLS; RFC 4954 section 4): elsewhere AUTH is not advertised.
func (s *session) AuthMechanisms() []string {
	if !s.kind.submission() || s.login != nil {
		return nil
	}
	return s.srv.Auth.Mechanisms(s.authConn())
}

// Auth implements gosmtp.AuthSession: AUTH begins an exchange of the
// shared auth layer, which go-smtp then drives.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !s.kind.submission() {
		return nil, gosmtp.ErrAuthUnsupported
	}
	if s.tx != nil {
		// RFC 4954 section 4: not during a mail transaction.
		return nil, replyError(503, "5.5.1", "AUTH is not permitted during a mail transaction")
	}
	ex, err := s.srv.Auth.Start(s.authConn(), mech)
	if err != nil {
		return nil, s.authFailed(mech, err)
	}
	return &saslServer{s: s, ex: ex, mech: mech}, nil
}

// saslServer adapts an auth.Exchange to go-sasl's Server, which go-smtp's
// AUTH loop drives: challenges go out as 334, "*" cancels (go-smtp).
type saslServer struct {
	s    *session
	ex   auth.Exchange
	mech string
}

func (a *saslServer) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := a.ex.Next(a.s.c.ctx, response)
	if err != nil {
		return nil, true, a.s.authFailed(a.mech, err)
	}
	if !done {
		return challenge, false, nil
	}
	a.s.loggedIn(a.ex.Session())
	return nil, true, nil
}

// authFailed maps an auth layer error to the reply (RFC 4954 section 6).
func (s *session) authFailed(mech string, err error) error {
	s.log.Info("authentication failed", "mechanism", mech, "err", err)
	var ae *auth.Error
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		return replyError(535, "5.7.8", "Authentication credentials invalid")
	case errors.Is(err, auth.ErrAuthzid):
		return replyError(535, "5.7.8", "Authorization identity must be empty or equal the user")
	case errors.Is(err, auth.ErrMalformed):
		return replyError(501, "5.5.2", "Malformed "+mech+" response")
	case errors.Is(err, auth.ErrPrivacyRequired):
		return replyError(538, "5.7.11", "Encryption required for requested authentication mechanism")
	case errors.Is(err, auth.ErrUnsupportedMechanism):
		return replyError(504, "5.5.4", "Unrecognized authentication type")
	case errors.As(err, &ae):
		// The auth layer's own words: throttling, bans, "use an app
		// password".
		code, enh := ae.SMTPCode, ae.Enhanced
		if code == 0 {
			code, enh = 535, "5.7.8"
			if ae.Temporary {
				code, enh = 454, "4.7.0"
			}
		}
		return replyError(code, enh, ae.Text)
	}
	s.log.Error("authentication error", "err", err)
	return replyError(454, "4.7.0", "Temporary authentication failure")
}

// loggedIn records a successful AUTH and ends the session when the
// credential is revoked.
func (s *session) loggedIn(sess auth.Session) {
	s.login = &sess
	s.c.authed.Store(true)
	s.log = s.log.With("account", sess.Account.Address)
	s.log.Info("logged in", "credential", sess.Credential)
	if sess.Revoked == nil {
		return
	}
	s.stopRevoke = make(chan struct{})
	log, c := s.log, s.c
	go func(revoked <-chan struct{}, stop <-chan struct{}) {
		select {
		case <-revoked:
			log.Info("credential revoked; closing the session")
			c.Abort()
		case <-stop:
		}
	}(sess.Revoked, s.stopRevoke)
}

// revoked reports whether a login's credential has been revoked.
func revoked(login *auth.Session) bool {
	if login.Revoked == nil {
		return false
	}
	select {
	case <-login.Revoked:
		return true
	default:
		return false
	}
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"postfach/internal/store"
)

// twoFactorText is the refusal of a right account password once
// two-factor login is on.
const twoFactorText = "Two-factor login is on for this account: use an app password (postfach app-password add)"

// errTwoFactor is returned only after the password was verified: someone
// without the password learns nothing from it.
func errTwoFactor() *Error {
	return &Error{Text: twoFactorText, IMAPCode: "AUTHENTICATIONFAILED", SMTPCode: 535, Enhanced: "5.7.8"}
}

// errScope refuses a right app password on a protocol outside its scope.
func errScope(ap store.AppPassword, protocol string) *Error {
	return &Error{
		Text:     fmt.Sprintf("App password %q is not for %s; its scope is %s", ap.Name, strings.ToUpper(protocol), strings.Join(ap.Scope, ",")),
		IMAPCode: "AUTHENTICATIONFAILED", SMTPCode: 535, Enhanced: "5.7.8",
	}
}

// mailProtocol reports whether p is a protocol app passwords can open.
func mailProtocol(p string) bool {
	return p == "imap" || p == "pop3" || p == "smtp"
}

// authenticate checks a password given in full (LOGIN, PLAIN, USER/PASS):
// an app password of the account whose scope has conn.Protocol, or the
// account password unless two-factor login is on. On failure it returns
// the reason, for the failure log.
//
// Every attempt, known user or not, looks the password up among app
// passwords (one indexed query by hash) and, unless it is one of the
// user's, runs argon2id: the work does not tell whether the user exists.
func (s *Service) authenticate(ctx context.Context, conn Conn, user, password string) (Session, string, error) {
	if s.creds != nil && mailProtocol(conn.Protocol) {
		ap, err := s.creds.AppPasswordByHash(ctx, appPasswordHash(password))
		switch {
		case err == nil:
			acct, err := s.accounts.AccountByAddress(ctx, user)
			if err == nil && acct.ID == ap.Account && acct.PasswordHash != "" {
				if !scopeHas(ap.Scope, conn.Protocol) {
					return Session{}, "app password " + ap.Name + " is not for " + conn.Protocol, errScope(ap, conn.Protocol)
				}
				s.touch(ctx, ap)
				return Session{Account: acct, Credential: "app-password:" + ap.Name, appPassword: ap.ID}, "", nil
			} else if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalidName) {
				return Session{}, "", fmt.Errorf("auth: looking up %s: %w", user, err)
			}
			// Another account's app password: a wrong password here.
		case !errors.Is(err, store.ErrNotFound):
			return Session{}, "", fmt.Errorf("auth: looking up app password: %w", err)
		}
	}
	acct, reason, err := s.login(ctx, user, password)
	if err != nil {
		return Session{}, reason, err
	}
	s.ensureSCRAMKeys(ctx, acct, password)
	on, err := s.twoFactorOn(ctx, acct.ID)
	if err != nil {
		return Session{}, "", err
	}
	if on {
		return Session{}, "account password while two-factor login is on", errTwoFactor()
	}
	return Session{Account: acct, Credential: "password"}, "", nil
}

// twoFactorOn reports whether the account has two-factor login.
func (s *Service) twoFactorOn(ctx context.Context, id store.AccountID) (bool, error) {
	if s.creds == nil {
		return false, nil
	}
	_, err := s.creds.TOTP(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("auth: reading two-factor state: %w", err)
}

// VerifyPassword checks an account password for a login that asks for
// the second factor itself: the web login. It returns the account and
// whether two-factor login is on, in which case the caller must then get
// a code through VerifyTOTP before it treats the user as logged in. App
// passwords are not accepted: they are for mail clients. Failures are
// those of Login, counted by the Limiter.
func (s *Service) VerifyPassword(ctx context.Context, conn Conn, username, password string) (acct store.Account, needsTOTP bool, err error) {
	user := NormalizeUsername(username)
	if s.limiter != nil {
		if err := s.limiter.Allow(ctx, conn.Remote, user); err != nil {
			return store.Account{}, false, err
		}
	}
	acct, reason, err := s.login(ctx, user, password)
	if err == nil {
		s.ensureSCRAMKeys(ctx, acct, password)
		needsTOTP, err = s.twoFactorOn(ctx, acct.ID)
		if err != nil {
			return store.Account{}, false, err
		}
	} else if !errors.Is(err, ErrInvalidCredentials) {
		return store.Account{}, false, err
	}
	if s.limiter != nil {
		s.limiter.Done(conn.Remote, user, err == nil)
	}
	if err != nil {
		logFailure(s.log, conn, user, reason)
		return store.Account{}, false, err
	}
	return acct, needsTOTP, nil
}

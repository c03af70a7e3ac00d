package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/netip"
	"strings"

	"postfach/internal/store"
)

// Errors of the SASL layer. Protocols map them to their own replies.
var (
	// ErrUnsupportedMechanism: the mechanism is not offered on this
	// connection (unknown, or a -PLUS variant without TLS).
	ErrUnsupportedMechanism = errors.New("auth: unsupported SASL mechanism")
	// ErrPrivacyRequired: a credential was offered on a connection that is
	// not secure (see Service.Secure).
	ErrPrivacyRequired = errors.New("auth: TLS is required before authentication")
	// ErrMalformed: the client's SASL message breaks the mechanism's
	// syntax (a protocol error, not a failed login).
	ErrMalformed = errors.New("auth: malformed SASL message")
)

// Error is a refusal the auth layer words itself, the same for every
// protocol: throttling ("too many failures, wait"), a ban, or an account
// with two-factor login that needs an app password. Protocols send Text
// to the client with their own status (IMAP NO with IMAPCode as the
// response code, POP3 -ERR [AUTH], SMTP Code/Enhanced).
type Error struct {
	Text     string
	IMAPCode string // RFC 5530 code, e.g. "UNAVAILABLE", "AUTHENTICATIONFAILED"
	SMTPCode int    // e.g. 454, 535
	Enhanced string // e.g. "4.7.0", "5.7.8"
	// Temporary is true when trying later may succeed (throttling, bans).
	Temporary bool
}

func (e *Error) Error() string { return "auth: " + e.Text }

// Conn describes the connection a login arrives on. Every protocol fills
// it the same way, so that one policy (TLS required, throttling, app
// password scopes, channel binding) applies to IMAP, POP3 and SMTP alike.
type Conn struct {
	// Protocol is "imap", "pop3" or "smtp": logs and app-password scopes.
	Protocol string
	Remote   netip.Addr
	// TLS is the connection's TLS state, nil on a plaintext connection.
	// SCRAM-SHA-256-PLUS takes its channel binding from it.
	TLS *tls.ConnectionState
	// ServerCertificate is the certificate the server presented in the
	// TLS handshake, for tls-server-end-point channel binding (RFC 5929
	// section 4); crypto/tls does not report it, CaptureCertificate does.
	// When nil, SCRAM-SHA-256-PLUS offers tls-exporter only (TLS 1.3).
	ServerCertificate *x509.Certificate
}

// Session is a successful login.
type Session struct {
	Account store.Account
	// Credential names what authenticated, for logs: "password" or
	// "app-password:NAME".
	Credential string
	// Revoked is closed when the credential stops being valid (an app
	// password revoked, the password changed, two-factor login turned
	// on, the account removed); the session must then end. A nil channel
	// never fires. Revocations made by other processes (the admin
	// commands) arrive within Options.RevocationPoll.
	Revoked <-chan struct{}

	// appPassword is the app password's id, 0 for the account password.
	appPassword int64
	// release ends the revocation watch (Close).
	release func()
}

// Close tells the auth layer that the session is over (the connection
// closed, or the client logged out or sent UNAUTHENTICATE), so that it
// stops watching the credential for revocation. Protocols call it once
// the session ends; more calls do nothing. A session never closed costs
// a little memory until its credential changes.
func (s Session) Close() {
	if s.release != nil {
		s.release()
	}
}

// Exchange is one SASL authentication in progress (RFC 4422 section 3).
//
// The protocol loop is the same for every mechanism and protocol:
//
//	challenge, done, err := ex.Next(ctx, initialResponse) // nil: none sent
//	for !done && err == nil {
//		send challenge; read the client's response (a "*" line cancels)
//		challenge, done, err = ex.Next(ctx, response)
//	}
//	err == nil: ex.Session() is the login
//
// Additional data with success (SCRAM's server-final message) is a
// challenge like any other: the client answers it with an empty response
// and the exchange then ends; this is how IMAP (RFC 9051 section 6.2.2),
// POP3 (RFC 5034 section 4) and SMTP (RFC 4954 section 4) carry it.
type Exchange interface {
	// Next takes the client's response to the previous challenge, or the
	// initial response (nil when the client sent none; an empty initial
	// response is a non-nil empty slice). It returns the next challenge
	// to send, or done. When done, err is nil on success,
	// ErrInvalidCredentials on a failed login, ErrMalformed for a broken
	// message, ErrAuthzid for a refused authorization identity, or
	// another error (throttling, store failure: answer "try later").
	Next(ctx context.Context, response []byte) (challenge []byte, done bool, err error)
	// Session returns the login after Next reported success.
	Session() Session
}

// Authenticator is what protocol servers need of the auth layer; Service
// implements it. IMAP, POP3 and SMTP all authenticate through it.
type Authenticator interface {
	Secure(conn Conn) bool
	Mechanisms(conn Conn) []string
	Start(conn Conn, mechanism string) (Exchange, error)
	Password(ctx context.Context, conn Conn, username, password string) (Session, error)
}

var _ Authenticator = (*Service)(nil)

// Secure reports whether credentials may be used on conn: over TLS, or
// over plaintext loopback when the operator allowed it (a TLS terminator
// on the same host).
func (s *Service) Secure(conn Conn) bool {
	if conn.TLS != nil {
		return true
	}
	return s.allowPlaintextLoopback && conn.Remote.Unmap().IsLoopback()
}

// Mechanisms lists the SASL mechanisms to advertise on conn, in order of
// preference. It is empty when the connection is not secure: protocols
// then advertise that login is disabled (IMAP LOGINDISABLED) instead.
//
// SCRAM needs the store's Credentials. SCRAM-SHA-256-PLUS is offered only
// on TLS, when a channel binding type is available there (see
// channelBindingTypes); a client that supports channel binding and sees
// it offered must use it (the "y" flag is refused then, RFC 5802 section
// 6).
func (s *Service) Mechanisms(conn Conn) []string {
	if !s.Secure(conn) {
		return nil
	}
	if s.creds == nil {
		return []string{"PLAIN", "LOGIN"}
	}
	if s.offersPlus(conn) {
		return []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"}
	}
	return []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}
}

// offersPlus reports whether SCRAM-SHA-256-PLUS is offered on conn.
func (s *Service) offersPlus(conn Conn) bool {
	exporter, endPoint := channelBindingTypes(conn)
	return s.creds != nil && (exporter || endPoint)
}

// Start begins a SASL exchange with the named mechanism (case-insensitive).
func (s *Service) Start(conn Conn, mechanism string) (Exchange, error) {
	if !s.Secure(conn) {
		return nil, ErrPrivacyRequired
	}
	switch strings.ToUpper(mechanism) {
	case "PLAIN":
		return &plainExchange{s: s, conn: conn}, nil
	case "LOGIN":
		return &loginExchange{s: s, conn: conn}, nil
	case "SCRAM-SHA-256":
		if s.creds != nil {
			return &scramExchange{s: s, conn: conn}, nil
		}
	case "SCRAM-SHA-256-PLUS":
		if s.offersPlus(conn) {
			return &scramExchange{s: s, conn: conn, plus: true}, nil
		}
	}
	return nil, ErrUnsupportedMechanism
}

// Password checks a user name and password given outside SASL (IMAP
// LOGIN, POP3 USER/PASS), and for PLAIN and LOGIN. The password is the
// account password or one of its app passwords whose scope has
// conn.Protocol. Once two-factor login is on, the account password is
// refused with an *Error saying so, but only when it was right; a wrong
// one is ErrInvalidCredentials as always.
func (s *Service) Password(ctx context.Context, conn Conn, username, password string) (Session, error) {
	if !s.Secure(conn) {
		return Session{}, ErrPrivacyRequired
	}
	sess, err := s.loginConn(ctx, conn, username, password)
	if err != nil {
		return Session{}, err
	}
	return s.watch(sess), nil
}

// plainExchange is SASL PLAIN (RFC 4616): one message, sent as the
// initial response or after an empty challenge.
type plainExchange struct {
	s       *Service
	conn    Conn
	asked   bool
	session Session
}

func (e *plainExchange) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	if resp == nil && !e.asked {
		e.asked = true
		return []byte{}, false, nil
	}
	_, user, pass, err := ParsePlain(resp)
	switch {
	case errors.Is(err, ErrAuthzid):
		return nil, true, ErrAuthzid
	case err != nil:
		return nil, true, ErrMalformed
	}
	e.session, err = e.s.Password(ctx, e.conn, user, pass)
	return nil, true, err
}

func (e *plainExchange) Session() Session { return e.session }

// loginExchange is the LOGIN mechanism (draft-murchison-sasl-login): the
// server asks "Username:" then "Password:". SMTP clients still use it.
// An initial response, when sent, is the user name.
type loginExchange struct {
	s       *Service
	conn    Conn
	step    int
	user    string
	session Session
}

func (e *loginExchange) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch e.step {
	case 0:
		e.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		if len(resp) == 0 || len(resp) > maxPlainField || !validField(resp) {
			return nil, true, ErrMalformed
		}
		e.user = string(resp)
		e.step = 2
		return []byte("Password:"), false, nil
	default:
		if len(resp) == 0 || len(resp) > maxPlainField || !validField(resp) {
			return nil, true, ErrMalformed
		}
		var err error
		e.session, err = e.s.Password(ctx, e.conn, e.user, string(resp))
		return nil, true, err
	}
}

func (e *loginExchange) Session() Session { return e.session }

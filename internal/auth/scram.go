package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"postfach/internal/store"
)

// scramExchange is SCRAM-SHA-256 or SCRAM-SHA-256-PLUS (RFC 5802, RFC
// 7677) on the server side:
//
//	C: client-first-message    n,,n=user,r=<client nonce>
//	S: server-first-message    r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//	C: client-final-message    c=<channel binding>,r=<nonce>,p=<proof>
//	S: server-final-message    v=<server signature>   (a challenge: additional data with success)
//	C: (empty response)
//
// The server never runs PBKDF2 here: it checks the proof against stored
// keys. One exchange tries the account password's keys and those of every
// app password of the account (they share the salt and iteration count,
// see credentials.go): the client's proof tells which one it holds.
//
// Unknown users, accounts without SCRAM keys and disabled logins get the
// same server-first message as a real account (a salt derived from the
// name, the configured count) and fail at the proof, with the same
// answer and the same work as a wrong password.
type scramExchange struct {
	s    *Service
	conn Conn
	plus bool // SCRAM-SHA-256-PLUS

	step        int
	first       clientFirstMessage
	cbData      []byte // channel binding data, for "p"
	user        string // normalized
	acct        store.Account
	known       bool // the user exists and may log in
	password    store.SCRAMKeys
	apps        []store.AppPassword
	salt        []byte
	iterations  int
	nonce       string
	serverFirst string
	session     Session
}

const (
	scramStart       = iota // nothing received yet
	scramClientFirst        // waiting for client-first (after an empty challenge)
	scramClientFinal        // server-first sent
	scramDone               // server-final sent; waiting for the empty response
)

func (e *scramExchange) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch e.step {
	case scramStart:
		if resp == nil {
			// No initial response: an empty challenge asks for it.
			e.step = scramClientFirst
			return []byte{}, false, nil
		}
		return e.clientFirst(ctx, resp)
	case scramClientFirst:
		return e.clientFirst(ctx, resp)
	case scramClientFinal:
		return e.clientFinal(ctx, resp)
	case scramDone:
		// RFC 5802 section 5: the client checked the server signature
		// and answers the additional data with an empty response.
		if len(resp) != 0 {
			return nil, true, ErrMalformed
		}
		e.session = e.s.watch(e.session)
		return nil, true, nil
	}
	return nil, true, ErrMalformed
}

func (e *scramExchange) Session() Session { return e.session }

// errDowngrade refuses the "y" flag where channel binding is offered.
func errDowngrade() *Error {
	return &Error{
		Text:     "Channel binding was stripped: this server offers SCRAM-SHA-256-PLUS (possible man in the middle)",
		IMAPCode: "AUTHENTICATIONFAILED", SMTPCode: 535, Enhanced: "5.7.8",
	}
}

// errBindingType refuses a channel binding type the connection lacks.
func errBindingType(name string) *Error {
	return &Error{
		Text:     fmt.Sprintf("Channel binding type %.40q is not available on this connection; use tls-exporter on TLS 1.3, tls-server-end-point on TLS 1.2", name),
		IMAPCode: "CANNOT", SMTPCode: 535, Enhanced: "5.7.8",
	}
}

func (e *scramExchange) clientFirst(ctx context.Context, resp []byte) ([]byte, bool, error) {
	m, err := parseClientFirst(resp)
	if err != nil {
		return nil, true, ErrMalformed
	}
	e.first = m
	e.user = NormalizeUsername(m.user)
	// RFC 5802 section 6: "p" only with the -PLUS name, which requires
	// it; "y" means the client could bind but believes the server
	// cannot, so if this server offers -PLUS on the connection, someone
	// removed it from the list on the way.
	switch {
	case e.plus && m.flag != 'p', !e.plus && m.flag == 'p':
		return nil, true, ErrMalformed
	case m.flag == 'y' && e.s.offersPlus(e.conn):
		logFailure(e.s.log, e.conn, e.user, "SCRAM channel binding downgrade")
		return nil, true, errDowngrade()
	case m.flag == 'p':
		if e.cbData, err = channelBinding(e.conn, m.cbName); err != nil {
			return nil, true, errBindingType(m.cbName)
		}
	}
	if m.authzid != "" && NormalizeUsername(m.authzid) != e.user {
		return nil, true, ErrAuthzid
	}
	if err := e.load(ctx); err != nil {
		return nil, true, err
	}
	e.nonce = m.nonce + e.s.scramNonce()
	e.serverFirst = "r=" + e.nonce + ",s=" + base64.StdEncoding.EncodeToString(e.salt) + ",i=" + strconv.Itoa(e.iterations)
	e.step = scramClientFinal
	return []byte(e.serverFirst), false, nil
}

// load reads the user's SCRAM keys. An unknown user runs the same
// queries (for account id 0, which matches nothing).
func (e *scramExchange) load(ctx context.Context) error {
	s := e.s
	acct, err := s.accounts.AccountByAddress(ctx, e.user)
	switch {
	case err == nil:
		e.known = acct.PasswordHash != ""
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidName):
	default:
		return fmt.Errorf("auth: looking up %s: %w", e.user, err)
	}
	if !e.known {
		acct = store.Account{}
	}
	e.acct = acct
	keys, err := s.creds.SCRAMKeys(ctx, acct.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("auth: reading SCRAM keys: %w", err)
	}
	apps, err := s.creds.AppPasswords(ctx, acct.ID)
	if err != nil {
		return fmt.Errorf("auth: reading app passwords: %w", err)
	}
	if e.salt, err = s.scramSalt(ctx, e.user); err != nil {
		return err
	}
	e.iterations = s.scramIterations
	e.password = keys
	for _, ap := range apps {
		if !ap.SCRAM.IsZero() {
			e.apps = append(e.apps, ap)
		}
	}
	switch {
	case !keys.IsZero():
		e.salt, e.iterations = keys.Salt, keys.Iterations
	case len(e.apps) > 0:
		e.salt, e.iterations = e.apps[0].SCRAM.Salt, e.apps[0].SCRAM.Iterations
	}
	return nil
}

func (e *scramExchange) clientFinal(ctx context.Context, resp []byte) ([]byte, bool, error) {
	m, err := parseClientFinal(resp)
	if err != nil || m.nonce != e.nonce {
		return nil, true, ErrMalformed
	}
	s := e.s
	if s.limiter != nil {
		if err := s.limiter.Allow(ctx, e.conn.Remote, e.user); err != nil {
			return nil, true, err
		}
	}
	serverKey, reason, err := e.verify(ctx, m)
	var refusal *Error
	if err != nil && !errors.Is(err, ErrInvalidCredentials) && !errors.As(err, &refusal) {
		return nil, true, err // the store failed: not an attempt
	}
	if s.limiter != nil {
		s.limiter.Done(e.conn.Remote, e.user, err == nil)
	}
	if err != nil {
		logFailure(s.log, e.conn, e.user, reason)
		return nil, true, err
	}
	authMessage := e.first.bare + "," + e.serverFirst + "," + m.withoutProof
	e.step = scramDone
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSHA256(serverKey, []byte(authMessage)))), false, nil
}

// verify checks the client's proof (RFC 5802 section 3) against the
// password's keys and each app password's, and returns the matching
// ServerKey, or the reason for the log and the error.
func (e *scramExchange) verify(ctx context.Context, m clientFinalMessage) (serverKey []byte, reason string, err error) {
	// The client signs its gs2 header and, with "p", the channel binding
	// data it sees: a man in the middle has different data.
	want := append([]byte(e.first.gs2Header), e.cbData...)
	cbOK := subtle.ConstantTimeCompare(m.cbind, want) == 1
	authMessage := []byte(e.first.bare + "," + e.serverFirst + "," + m.withoutProof)

	matches := func(k store.SCRAMKeys) bool {
		if k.IsZero() || k.Iterations != e.iterations || !hmac.Equal(k.Salt, e.salt) {
			return false
		}
		// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage);
		// the proof is right when H(ClientKey) = StoredKey.
		sig := hmacSHA256(k.StoredKey, authMessage)
		clientKey := make([]byte, len(sig))
		subtle.XORBytes(clientKey, m.proof, sig)
		h := sha256.Sum256(clientKey)
		return subtle.ConstantTimeCompare(h[:], k.StoredKey) == 1
	}
	passwordOK := matches(e.password)
	var app *store.AppPassword
	for i := range e.apps {
		if matches(e.apps[i].SCRAM) && app == nil {
			app = &e.apps[i]
		}
	}
	switch {
	case !e.known:
		return nil, "unknown user or login disabled", ErrInvalidCredentials
	case !passwordOK && app == nil:
		if e.password.IsZero() && len(e.apps) == 0 {
			return nil, "no SCRAM keys yet (stored at the next PLAIN or LOGIN login)", ErrInvalidCredentials
		}
		return nil, "wrong password", ErrInvalidCredentials
	case !cbOK:
		// A right proof over the wrong channel: a relayed exchange.
		return nil, "SCRAM channel binding mismatch", ErrInvalidCredentials
	case passwordOK:
		on, err := e.s.twoFactorOn(ctx, e.acct.ID)
		if err != nil {
			return nil, "", err
		}
		if on {
			return nil, "account password while two-factor login is on", errTwoFactor()
		}
		e.session = Session{Account: e.acct, Credential: "password"}
		return e.password.ServerKey, "", nil
	}
	if !scopeHas(app.Scope, e.conn.Protocol) {
		return nil, "app password " + app.Name + " is not for " + e.conn.Protocol, errScope(*app, e.conn.Protocol)
	}
	e.s.touch(ctx, *app)
	e.session = Session{Account: e.acct, Credential: "app-password:" + app.Name, appPassword: app.ID}
	return app.SCRAM.ServerKey, "", nil
}

// randomNonce is the server's part of the SCRAM nonce: 18 random octets
// (144 bits) in base64, which has no ",".
func randomNonce() string {
	var b [18]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.StdEncoding.EncodeToString(b[:])
}

package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"postfach/internal/store"
)

// Two-factor login with TOTP (RFC 6238). Once it is on, the account
// password no longer opens IMAP, POP3 or SMTP (authenticate refuses it,
// saying why, only when it was right): mail clients use app passwords, as
// with the large providers. The web login asks for the password
// (VerifyPassword) and then a code (VerifyTOTP).
//
// Parameters are those every authenticator app supports: HMAC-SHA-1, six
// digits, 30-second steps, a 160-bit secret (RFC 4226 section 4
// recommends it). A code is accepted for the step before and after the
// current one (clock drift, RFC 6238 section 5.2), and only once: the
// store records the last step used and refuses any step not after it.
// Ten recovery codes, each 60 random bits, open one login each when the
// phone is lost; only their hashes are stored.
const (
	totpPeriod        = 30
	totpDigits        = otp.DigitsSix
	totpSkew          = 1
	totpSecretSize    = 20
	recoveryCodeCount = 10
	recoveryCodeChars = 12
)

// ErrInvalidCode: a TOTP or recovery code is wrong, or was used already.
var ErrInvalidCode = errors.New("auth: wrong or already used code")

// ErrTwoFactorOff: the account has no two-factor login.
var ErrTwoFactorOff = errors.New("auth: two-factor login is off for this account")

// TOTPEnrollment is a two-factor login being set up: the user adds the
// secret to an authenticator app (URI, as a QR code, or Secret typed in)
// and confirms with a first code (ConfirmTOTP). Nothing is stored before.
type TOTPEnrollment struct {
	Account store.Account
	// URI is the otpauth:// URI authenticator apps read from a QR code.
	URI string
	// Secret is the secret in base32, for typing into an app.
	Secret string
	secret []byte
}

// BeginTOTP draws a new TOTP secret for the account. issuer names the
// service in the authenticator app (the server's host name).
func (s *Service) BeginTOTP(acct store.Account, issuer string) (*TOTPEnrollment, error) {
	if s.creds == nil {
		return nil, ErrNoCredentials
	}
	secret := make([]byte, totpSecretSize)
	rand.Read(secret)
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: acct.Address, Period: totpPeriod, Secret: secret,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return &TOTPEnrollment{Account: acct, URI: key.URL(), Secret: key.Secret(), secret: secret}, nil
}

// ConfirmTOTP checks the first code from the user's app and, when it is
// right, turns two-factor login on and returns the recovery codes, to
// show once. Sessions logged in with the account password end.
func (s *Service) ConfirmTOTP(ctx context.Context, e *TOTPEnrollment, code string) ([]string, error) {
	step, ok := matchTOTP(e.secret, code, s.now().Unix())
	if !ok {
		return nil, ErrInvalidCode
	}
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		codes[i] = generateRecoveryCode()
		hashes[i] = recoveryCodeHash(e.Account.ID, codes[i])
	}
	t := store.TOTP{Secret: e.secret, Enabled: s.now(), LastStep: step}
	if err := s.creds.EnableTOTP(ctx, e.Account.ID, t, hashes); err != nil {
		return nil, err
	}
	s.revocations.kick()
	return codes, nil
}

// DisableTOTP turns two-factor login off: the account password opens the
// mail protocols again. ErrTwoFactorOff when it was off.
func (s *Service) DisableTOTP(ctx context.Context, acct store.Account) error {
	if s.creds == nil {
		return ErrNoCredentials
	}
	err := s.creds.DisableTOTP(ctx, acct.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTwoFactorOff
	}
	return err
}

// TOTPStatus returns the account's enrollment; ErrTwoFactorOff when off.
func (s *Service) TOTPStatus(ctx context.Context, acct store.Account) (store.TOTP, error) {
	if s.creds == nil {
		return store.TOTP{}, ErrNoCredentials
	}
	t, err := s.creds.TOTP(ctx, acct.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.TOTP{}, ErrTwoFactorOff
	}
	return t, err
}

// VerifyTOTP checks the second factor of a login whose password
// VerifyPassword accepted: a six-digit TOTP code, or one of the recovery
// codes (which is then used up). Each TOTP code is accepted once. The
// attempt goes through the Limiter like a password, so codes cannot be
// guessed at speed. A wrong or replayed code is ErrInvalidCode.
func (s *Service) VerifyTOTP(ctx context.Context, conn Conn, acct store.Account, code string) error {
	if s.creds == nil {
		return ErrNoCredentials
	}
	user := NormalizeUsername(acct.Address)
	if s.limiter != nil {
		if err := s.limiter.Allow(ctx, conn.Remote, user); err != nil {
			return err
		}
	}
	reason, err := s.verifySecondFactor(ctx, acct, code)
	if errors.Is(err, ErrTwoFactorOff) {
		reason = "second factor for an account without two-factor login"
	} else if err != nil && !errors.Is(err, ErrInvalidCode) {
		return err
	}
	if s.limiter != nil {
		s.limiter.Done(conn.Remote, user, err == nil)
	}
	if err != nil {
		logFailure(s.log, conn, user, reason)
	}
	return err
}

func (s *Service) verifySecondFactor(ctx context.Context, acct store.Account, code string) (reason string, err error) {
	t, err := s.creds.TOTP(ctx, acct.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrTwoFactorOff
	} else if err != nil {
		return "", err
	}
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) == int(totpDigits) && strings.Trim(code, "0123456789") == "" {
		step, ok := matchTOTP(t.Secret, code, s.now().Unix())
		if !ok {
			return "wrong TOTP code", ErrInvalidCode
		}
		err := s.creds.UseTOTPStep(ctx, acct.ID, step)
		if errors.Is(err, store.ErrNotAllowed) {
			return "TOTP code used before", ErrInvalidCode
		}
		return "", err
	}
	err = s.creds.UseRecoveryCode(ctx, acct.ID, recoveryCodeHash(acct.ID, code))
	if errors.Is(err, store.ErrNotFound) {
		return "wrong recovery code", ErrInvalidCode
	} else if err != nil {
		return "", err
	}
	s.log.Info("recovery code used", "user", acct.Address, "left", max(t.RecoveryCodes-1, 0))
	return "", nil
}

// matchTOTP returns the time step, within the allowed skew of now, whose
// code is code. Every candidate is computed and compared in constant
// time.
func matchTOTP(secret []byte, code string, now int64) (int64, bool) {
	enc := base32.StdEncoding.EncodeToString(secret)
	cur := now / totpPeriod
	var step int64
	found := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := hotp.GenerateCodeCustom(enc, uint64(cur+d), hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			step, found = cur+d, 1
		}
	}
	return step, found == 1
}

// generateRecoveryCode draws a code shown as "abcd-efgh-ijkm" (60 bits).
func generateRecoveryCode() string {
	var b strings.Builder
	for i := 0; i < recoveryCodeChars; i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		var r [1]byte
		rand.Read(r[:])
		b.WriteByte(appPasswordAlphabet[r[0]&31])
	}
	return b.String()
}

// recoveryCodeHash is what the store keeps of a recovery code: SHA-256 of
// the account id and the code (without dashes, lower case). 60 random
// bits make a slow hash pointless, as for app passwords; the account id
// keeps one computation from testing a guess against every account.
func recoveryCodeHash(id store.AccountID, code string) []byte {
	h := sha256.New()
	h.Write([]byte("postfach recovery code v1\x00"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(id))
	h.Write(n[:])
	h.Write([]byte(normalizeAppPassword(code)))
	return h.Sum(nil)
}

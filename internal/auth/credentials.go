package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"postfach/internal/store"
)

// SCRAM keys live beside the argon2id hash (store.Credentials.SCRAMKeys),
// bound to it: they count only while the account keeps that hash, so a
// password change through any path retires them. They are made whenever
// the password is known: when it is set (SetPassword, StoreSCRAMKeys) and
// at every PLAIN or LOGIN login that finds them missing or made with
// another iteration count (ensureSCRAMKeys). Existing accounts thus gain
// SCRAM after one such login.
//
// An account's SCRAM salt is derived from a secret of the store and the
// address (scramSalt), not drawn at random: the password, its app
// passwords and an unknown user all get a salt that never changes, so
// the server-first message does not tell whether an address exists, nor
// whether its keys were made yet. To anyone without the store's secret
// the salt is as good as random, and it differs between accounts and
// servers. All SCRAM keys of an account share the salt and the iteration
// count, so that one exchange can try the password and every app
// password (scram.go).

// scramSaltSecret names the store secret SCRAM salts are derived from.
const scramSaltSecret = "scram-salt"

// secretCache keeps the store's secrets once read.
type secretCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *Service) secret(ctx context.Context, name string) ([]byte, error) {
	s.secrets.mu.Lock()
	v, ok := s.secrets.m[name]
	s.secrets.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := s.creds.CredentialSecret(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("auth: reading secret %s: %w", name, err)
	}
	s.secrets.mu.Lock()
	if s.secrets.m == nil {
		s.secrets.m = make(map[string][]byte)
	}
	s.secrets.m[name] = v
	s.secrets.mu.Unlock()
	return v, nil
}

// deriveSCRAMSalt is the SCRAM salt of a (normalized) user name.
func deriveSCRAMSalt(secret []byte, user string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("postfach scram salt\x00"))
	m.Write([]byte(user))
	return m.Sum(nil)[:scramSaltLen]
}

// scramSalt is the SCRAM salt of user, known or not.
func (s *Service) scramSalt(ctx context.Context, user string) ([]byte, error) {
	secret, err := s.secret(ctx, scramSaltSecret)
	if err != nil {
		return nil, err
	}
	return deriveSCRAMSalt(secret, user), nil
}

// accountIterations is the iteration count the account's SCRAM keys must
// have: that of its app passwords' keys when it has any (they cannot be
// remade without the app passwords, which are not stored), else the
// configured one.
func (s *Service) accountIterations(ctx context.Context, id store.AccountID) (int, error) {
	apps, err := s.creds.AppPasswords(ctx, id)
	if err != nil {
		return 0, err
	}
	for _, ap := range apps {
		if !ap.SCRAM.IsZero() {
			return ap.SCRAM.Iterations, nil
		}
	}
	return s.scramIterations, nil
}

// ensureSCRAMKeys makes the SCRAM keys of a verified password when they
// are missing or have the wrong iteration count. A failure costs only
// SCRAM for now; it is logged.
func (s *Service) ensureSCRAMKeys(ctx context.Context, acct store.Account, password string) {
	if s.creds == nil {
		return
	}
	keys, err := s.creds.SCRAMKeys(ctx, acct.ID)
	if err == nil && keys.Iterations == s.scramIterations {
		return
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("reading SCRAM keys failed", "user", acct.Address, "err", err)
		return
	}
	iterations, err := s.accountIterations(ctx, acct.ID)
	if err != nil {
		s.log.Warn("reading app passwords failed", "user", acct.Address, "err", err)
		return
	}
	if !keys.IsZero() && keys.Iterations == iterations {
		return
	}
	if err := s.storeSCRAMKeys(ctx, acct, password, iterations); err != nil {
		s.log.Warn("storing SCRAM keys failed", "user", acct.Address, "err", err)
		return
	}
	s.log.Debug("SCRAM keys stored", "user", acct.Address, "iterations", iterations)
}

// storeSCRAMKeys computes and stores the keys of password, bound to
// acct.PasswordHash. A password SASLprep refuses gets none (nil error):
// it works with PLAIN and LOGIN only.
func (s *Service) storeSCRAMKeys(ctx context.Context, acct store.Account, password string, iterations int) error {
	salt, err := s.scramSalt(ctx, NormalizeUsername(acct.Address))
	if err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	keys, err := SCRAMKeys(password, salt, iterations)
	s.release()
	if errors.Is(err, ErrSASLprep) {
		s.log.Info("password cannot be used with SCRAM (SASLprep refuses it); PLAIN and LOGIN still work", "user", acct.Address)
		return nil
	} else if err != nil {
		return err
	}
	return s.creds.SetSCRAMKeys(ctx, acct.ID, acct.PasswordHash, keys)
}

// StoreSCRAMKeys stores the SCRAM keys of an account's password, which the
// caller has just set (acct.PasswordHash is its hash): `postfach user
// add` and test helpers that create accounts through the store. It does
// nothing without Credentials.
func (s *Service) StoreSCRAMKeys(ctx context.Context, acct store.Account, password string) error {
	if s.creds == nil {
		return nil
	}
	iterations, err := s.accountIterations(ctx, acct.ID)
	if err != nil {
		return err
	}
	return s.storeSCRAMKeys(ctx, acct, password, iterations)
}

// StoreSCRAMKeys is Service.StoreSCRAMKeys for callers without a Service
// (test helpers that fill a store): the keys of password, with the
// account's derived salt and the given iteration count.
func StoreSCRAMKeys(ctx context.Context, creds store.Credentials, acct store.Account, password string, iterations int) error {
	secret, err := creds.CredentialSecret(ctx, scramSaltSecret)
	if err != nil {
		return err
	}
	keys, err := SCRAMKeys(password, deriveSCRAMSalt(secret, NormalizeUsername(acct.Address)), iterations)
	if err != nil {
		return err
	}
	return creds.SetSCRAMKeys(ctx, acct.ID, acct.PasswordHash, keys)
}

// HashNewPassword checks a new password against the password policy (for
// the account address) and returns its argon2id hash: for `postfach user
// add`, which creates the account with the hash and then calls
// StoreSCRAMKeys.
func (s *Service) HashNewPassword(ctx context.Context, address, password string) (string, error) {
	if err := s.policy.Check(password, address); err != nil {
		return "", err
	}
	return s.Hash(ctx, password)
}

// SetPassword checks a new password against the policy and makes it the
// account's: hash and SCRAM keys. Sessions logged in with the old password
// end (Session.Revoked), in this process and, within RevocationPoll, in a
// server that shares the store.
func (s *Service) SetPassword(ctx context.Context, acct store.Account, password string) error {
	hash, err := s.HashNewPassword(ctx, acct.Address, password)
	if err != nil {
		return err
	}
	if err := s.accounts.SetPasswordHash(ctx, acct.Address, hash); err != nil {
		return err
	}
	acct.PasswordHash = hash
	if err := s.StoreSCRAMKeys(ctx, acct, password); err != nil {
		return fmt.Errorf("password set, but its SCRAM keys were not stored (a PLAIN login will store them): %w", err)
	}
	return nil
}

// PasswordPolicy returns the policy new passwords must meet.
func (s *Service) PasswordPolicy() PasswordPolicy { return s.policy }

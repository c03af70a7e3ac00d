package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"postfach/internal/store"
)

// ErrInvalidCredentials is the one answer to a failed login: unknown user,
// wrong password and disabled login are not told apart.
var ErrInvalidCredentials = errors.New("auth: invalid credentials")

// Accounts is what Service needs of the store; store.Store has it.
type Accounts interface {
	AccountByAddress(ctx context.Context, address string) (store.Account, error)
	SetPasswordHash(ctx context.Context, address, hash string) error
}

// Limiter throttles login attempts, per address and per account. Service
// asks it before doing any work and tells it the outcome of every attempt
// it let through.
type Limiter interface {
	// Allow returns nil when the attempt may proceed, else the error
	// Login returns (without doing any work).
	Allow(ctx context.Context, remote netip.Addr, username string) error
	// Done records the outcome of an allowed attempt.
	Done(remote netip.Addr, username string, success bool)
}

// Options configure a Service. Zero fields take defaults.
type Options struct {
	// Params are the argon2id parameters for new hashes; stored hashes
	// with other parameters are upgraded at login. Default DefaultParams().
	Params Params
	// MaxConcurrent bounds simultaneous argon2id computations, and so the
	// memory they take (MaxConcurrent * Params.MemoryKiB). Default
	// runtime.GOMAXPROCS(0).
	MaxConcurrent int
	// CacheTTL is how long a successful verification is remembered (see
	// verifyCache); negative disables the cache. Default 30 minutes.
	CacheTTL time.Duration
	// CacheSize bounds the remembered verifications. Default 10000.
	CacheSize int
	// Limiter, when set, throttles attempts.
	Limiter Limiter
	// AllowPlaintextLoopback lets credentials be used without TLS on
	// loopback connections (see Secure).
	AllowPlaintextLoopback bool
	Logger                 *slog.Logger

	// Credentials stores SCRAM keys, app passwords and two-factor
	// logins. Default: the Accounts given to NewService, when it
	// implements store.Credentials (the SQLite store does). Without it
	// the service offers PLAIN and LOGIN with account passwords only.
	Credentials store.Credentials
	// SCRAMIterations is the PBKDF2 iteration count of new SCRAM keys
	// (see DefaultSCRAMIterations); at least MinSCRAMIterations.
	SCRAMIterations int
	// MinPasswordLength is the password policy's minimum length, in
	// characters (see DefaultMinPasswordLength).
	MinPasswordLength int
	// RevocationPoll is how often a server looks for credentials revoked
	// by other processes while sessions that depend on them exist.
	// Default 2 seconds.
	RevocationPoll time.Duration
}

// Service checks logins against the store's accounts.
type Service struct {
	accounts               Accounts
	params                 Params
	sem                    chan struct{}
	cache                  *verifyCache // nil when disabled
	limiter                Limiter
	allowPlaintextLoopback bool
	log                    *slog.Logger
	now                    func() time.Time

	// verifications counts argon2id verifications done (tests).
	verifications atomic.Int64

	// Credentials beyond the password hash (credentials.go); creds is
	// nil when the store has none.
	creds           store.Credentials
	scramIterations int
	policy          PasswordPolicy
	secrets         secretCache
	revocations     *revocations
	touches         touchLog
	// scramNonce makes the server's SCRAM nonce (tests fix it).
	scramNonce func() string

	// dummy is a hash, with the current parameters, of a random password:
	// unknown users and disabled logins are verified against it, so they
	// cost what a wrong password costs.
	dummy *phc
}

// NewService returns a Service over accounts. It computes one hash (for
// unknown users), so it takes as long as one login.
func NewService(accounts Accounts, opts Options) (*Service, error) {
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams()
	}
	if err := opts.Params.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 30 * time.Minute
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Credentials == nil {
		opts.Credentials, _ = accounts.(store.Credentials)
	}
	if opts.SCRAMIterations == 0 {
		opts.SCRAMIterations = DefaultSCRAMIterations
	}
	if opts.SCRAMIterations < MinSCRAMIterations || opts.SCRAMIterations > maxSCRAMIterations {
		return nil, fmt.Errorf("auth: SCRAM iteration count %d out of range %d..%d", opts.SCRAMIterations, MinSCRAMIterations, maxSCRAMIterations)
	}
	if opts.MinPasswordLength == 0 {
		opts.MinPasswordLength = DefaultMinPasswordLength
	}
	if opts.MinPasswordLength < 1 || opts.MinPasswordLength > MaxPasswordLen {
		return nil, fmt.Errorf("auth: minimum password length %d out of range 1..%d", opts.MinPasswordLength, MaxPasswordLen)
	}
	if opts.RevocationPoll <= 0 {
		opts.RevocationPoll = 2 * time.Second
	}
	s := &Service{
		accounts:               accounts,
		params:                 opts.Params,
		sem:                    make(chan struct{}, opts.MaxConcurrent),
		limiter:                opts.Limiter,
		allowPlaintextLoopback: opts.AllowPlaintextLoopback,
		log:                    opts.Logger,
		now:                    time.Now,
		creds:                  opts.Credentials,
		scramIterations:        opts.SCRAMIterations,
		policy:                 PasswordPolicy{MinLength: opts.MinPasswordLength},
		scramNonce:             randomNonce,
	}
	s.revocations = newRevocations(s, opts.RevocationPoll)
	if opts.CacheTTL > 0 {
		s.cache = newVerifyCache(opts.CacheTTL, opts.CacheSize)
	}
	var random [24]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	enc, err := Hash(base64.StdEncoding.EncodeToString(random[:]), s.params)
	if err != nil {
		return nil, err
	}
	if s.dummy, err = decodePHC(enc); err != nil {
		return nil, err
	}
	return s, nil
}

// Params returns the parameters new hashes get.
func (s *Service) Params() Params { return s.params }

// Hash hashes a password with the service's parameters, within its
// concurrency limit.
func (s *Service) Hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return Hash(password, s.params)
}

// Login checks a username (the full address, case-insensitive, spaces
// trimmed) and password, and returns the account. A failure is
// ErrInvalidCredentials, the Limiter's refusal, ctx's error, or a store
// error (the service cannot tell; protocols answer "try later").
//
// Login takes the account password only, not app passwords, and refuses
// it with the two-factor error when two-factor login is on (see
// Password). It starts no revocation watch.
func (s *Service) Login(ctx context.Context, username, password string, remote netip.Addr) (store.Account, error) {
	sess, err := s.loginConn(ctx, Conn{Remote: remote}, username, password)
	return sess.Account, err
}

// loginConn is Login for a login arriving on conn: the work of Password
// (authenticate), between the Limiter's Allow and Done.
func (s *Service) loginConn(ctx context.Context, conn Conn, username, password string) (Session, error) {
	remote := conn.Remote
	user := NormalizeUsername(username)
	if s.limiter != nil {
		if err := s.limiter.Allow(ctx, remote, user); err != nil {
			return Session{}, err
		}
	}
	sess, reason, err := s.authenticate(ctx, conn, user, password)
	var refusal *Error
	if err != nil && !errors.Is(err, ErrInvalidCredentials) && !errors.As(err, &refusal) {
		// A store failure or cancellation says nothing about the
		// credentials: do not count it as a failed attempt.
		return Session{}, err
	}
	if s.limiter != nil {
		s.limiter.Done(remote, user, err == nil)
	}
	if err != nil {
		logFailure(s.log, conn, user, reason)
		return Session{}, err
	}
	return sess, nil
}

// login does Login's work. On a credentials failure it returns
// ErrInvalidCredentials and the reason, for the log.
func (s *Service) login(ctx context.Context, user, password string) (acct store.Account, reason string, err error) {
	acct, err = s.accounts.AccountByAddress(ctx, user)
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidName):
		return store.Account{}, "unknown user", s.burn(ctx, password)
	case err != nil:
		return store.Account{}, "", fmt.Errorf("auth: looking up %s: %w", user, err)
	case acct.PasswordHash == "":
		return store.Account{}, "login disabled", s.burn(ctx, password)
	}
	h, err := decodePHC(acct.PasswordHash)
	if err != nil {
		s.log.Error("stored password hash is unusable; set a new password", "user", user, "err", err)
		return store.Account{}, "unusable stored hash", s.burn(ctx, password)
	}

	var key [32]byte
	ok, needsRehash := false, false
	if s.cache != nil {
		key = s.cache.sum(acct.PasswordHash, password)
		if s.cache.hit(key, s.now()) {
			ok = true
			needsRehash = h.params != s.params || len(h.key) != keyLen || len(h.salt) != saltLen
		}
	}
	if !ok {
		if err := s.acquire(ctx); err != nil {
			return store.Account{}, "", err
		}
		ok, needsRehash, _ = h.verify(password, s.params)
		s.verifications.Add(1)
		s.release()
		if !ok {
			return store.Account{}, "wrong password", ErrInvalidCredentials
		}
		if s.cache != nil {
			s.cache.add(key, s.now())
		}
	}
	if needsRehash {
		acct.PasswordHash = s.rehash(ctx, acct, password)
	}
	return acct, "", nil
}

// burn does the work of a wrong password against the dummy hash and
// returns ErrInvalidCredentials (or ctx's error).
func (s *Service) burn(ctx context.Context, password string) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	s.dummy.verify(password, s.params)
	s.verifications.Add(1)
	s.release()
	return ErrInvalidCredentials
}

// rehash stores a hash of password with the current parameters. A failure
// only costs the upgrade: the login stands. The store has no
// compare-and-swap, so re-read the hash first: if an administrator set a
// new password meanwhile, keep it (a narrow race remains). It returns the
// hash the account has afterwards, as far as it knows.
func (s *Service) rehash(ctx context.Context, acct store.Account, password string) string {
	enc, err := s.Hash(ctx, password)
	if err != nil {
		s.log.Warn("password rehash failed", "user", acct.Address, "err", err)
		return acct.PasswordHash
	}
	cur, err := s.accounts.AccountByAddress(ctx, acct.Address)
	if err != nil || cur.PasswordHash != acct.PasswordHash {
		return acct.PasswordHash
	}
	// Sessions logged in with this password stay: the new hash is of
	// the same password (revoke.go).
	s.revocations.rehashed(acct.ID, acct.PasswordHash, enc)
	if err := s.accounts.SetPasswordHash(ctx, acct.Address, enc); err != nil {
		s.log.Warn("storing upgraded password hash failed", "user", acct.Address, "err", err)
		return acct.PasswordHash
	}
	s.log.Info("password hash upgraded to current parameters", "user", acct.Address,
		"time", s.params.Time, "memory_kib", s.params.MemoryKiB, "threads", s.params.Threads)
	return enc
}

// acquire takes one of the argon2id slots, or fails when ctx ends first.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) release() { <-s.sem }

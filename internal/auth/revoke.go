package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"postfach/internal/store"
)

// Revocation: a session ends when the credential it logged in with stops
// being valid. Revocations happen in other processes (the admin commands
// open the same store), so the server must learn of them from the store.
//
// Design: the store keeps one counter, CredentialGeneration, that every
// revoking write increments in its own transaction (an app password
// revoked, two-factor login turned on) and that triggers increment on any
// password change or account removal. While sessions depend on
// credentials, one goroutine reads that counter every RevocationPoll (a
// one-row primary-key read) and, only when it changed, checks each
// watched credential again. With no session it does not run.
//
// Watches are shared: all sessions logged in with the same credential
// (one app password, or one account's password hash) share one entry and
// one channel, closed when the credential goes. Memory is bounded by the
// number of distinct credentials in use, even for protocols that forget
// Session.Close.
//
// A change that commits between a login's check and its watch's first
// check is caught: a new watch is checked at the next poll whatever the
// counter says, and the counter is read before the checks.
//
// Password sessions end when the account's password hash changes, except
// for this process's own rehash (same password, new parameters), which
// registers the new hash first (rehashed).

// watchKey identifies one watched credential.
type watchKey struct {
	account     store.AccountID
	appPassword int64  // 0: the account password
	hash        string // the password hash at login (password sessions)
}

type watchEntry struct {
	address string
	hashes  []string // hashes of the same password (after rehash)
	ch      chan struct{}
	refs    int
	pending bool // not checked since it was added
}

type revocations struct {
	s        *Service
	interval time.Duration

	mu      sync.Mutex
	entries map[watchKey]*watchEntry
	running bool
	wake    chan struct{} // kick: check now (this process revoked)
}

func newRevocations(s *Service, interval time.Duration) *revocations {
	return &revocations{s: s, interval: interval, entries: make(map[watchKey]*watchEntry), wake: make(chan struct{}, 1)}
}

// watch returns sess with Revoked and its release set. Without
// Credentials there is nothing to poll and Revoked stays nil.
func (s *Service) watch(sess Session) Session {
	if s.creds == nil {
		return sess
	}
	r := s.revocations
	k := watchKey{account: sess.Account.ID, appPassword: sess.appPassword}
	if sess.appPassword == 0 {
		k.hash = sess.Account.PasswordHash
	}
	r.mu.Lock()
	e := r.entries[k]
	if e == nil {
		e = &watchEntry{address: sess.Account.Address, hashes: []string{k.hash}, ch: make(chan struct{}), pending: true}
		r.entries[k] = e
	}
	e.refs++
	if !r.running {
		r.running = true
		go r.run()
	}
	r.mu.Unlock()
	sess.Revoked = e.ch
	var once sync.Once
	sess.release = func() { once.Do(func() { r.release(k, e) }) }
	return sess
}

func (r *revocations) release(k watchKey, e *watchEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.refs--
	if e.refs <= 0 && r.entries[k] == e {
		delete(r.entries, k)
	}
}

// rehashed tells the watches that newHash is of the same password as
// oldHash, before it is stored.
func (r *revocations) rehashed(account store.AccountID, oldHash, newHash string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, e := range r.entries {
		if k.account == account && k.appPassword == 0 && slices.Contains(e.hashes, oldHash) && !slices.Contains(e.hashes, newHash) {
			e.hashes = append(e.hashes, newHash)
		}
	}
}

// kick asks for a check now: this process itself revoked something.
func (r *revocations) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// count returns the number of watched credentials (tests).
func (r *revocations) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

func (r *revocations) run() {
	t := time.NewTimer(r.interval)
	defer t.Stop()
	var last int64
	known := false
	for {
		select {
		case <-t.C:
		case <-r.wake:
		}
		// Go 1.23 timers: Reset drops a pending expiry.
		t.Reset(r.interval)
		r.mu.Lock()
		if len(r.entries) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		gen, err := r.s.creds.CredentialGeneration(ctx)
		if err != nil {
			cancel()
			r.s.log.Warn("reading the credential generation failed", "err", err)
			continue
		}
		all := !known || gen != last
		last, known = gen, true
		type item struct {
			k watchKey
			e *watchEntry
		}
		var check []item
		r.mu.Lock()
		for k, e := range r.entries {
			if all || e.pending {
				e.pending = false
				check = append(check, item{k, e})
			}
		}
		r.mu.Unlock()
		for _, it := range check {
			revoked, err := r.revoked(ctx, it.k, it.e)
			if err != nil {
				r.s.log.Warn("checking a credential for revocation failed", "user", it.e.address, "err", err)
				// Check it again at the next poll.
				r.mu.Lock()
				it.e.pending = true
				r.mu.Unlock()
				continue
			}
			if revoked {
				r.mu.Lock()
				if r.entries[it.k] == it.e {
					delete(r.entries, it.k)
				}
				r.mu.Unlock()
				close(it.e.ch)
				r.s.log.Info("credential revoked; ending its sessions", "user", it.e.address, "app_password_id", it.k.appPassword)
			}
		}
		cancel()
	}
}

// revoked reports whether a watched credential no longer opens the mail
// protocols.
func (r *revocations) revoked(ctx context.Context, k watchKey, e *watchEntry) (bool, error) {
	s := r.s
	if k.appPassword != 0 {
		ap, err := s.creds.AppPasswordByID(ctx, k.appPassword)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
		return ap.Account != k.account, nil
	}
	acct, err := s.accounts.AccountByAddress(ctx, e.address)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidName) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	r.mu.Lock()
	same := slices.Contains(e.hashes, acct.PasswordHash)
	r.mu.Unlock()
	if acct.ID != k.account || !same {
		return true, nil
	}
	return s.twoFactorOn(ctx, acct.ID)
}

package auth

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/store"
)

// fakeAccounts is an in-memory Accounts.
type fakeAccounts struct {
	mu       sync.Mutex
	accounts map[string]store.Account
	err      error // returned by every lookup when set
	sets     int
}

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{accounts: make(map[string]store.Account)}
}

func (f *fakeAccounts) add(t testing.TB, address, password string, p Params) {
	t.Helper()
	hash := ""
	if password != "" {
		var err error
		if hash, err = Hash(password, p); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[address] = store.Account{ID: store.AccountID(len(f.accounts) + 1), Address: address, PasswordHash: hash}
}

func (f *fakeAccounts) AccountByAddress(ctx context.Context, address string) (store.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.Account{}, f.err
	}
	if !strings.Contains(address, "@") {
		return store.Account{}, store.ErrInvalidName
	}
	a, ok := f.accounts[address]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (f *fakeAccounts) SetPasswordHash(ctx context.Context, address, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[address]
	if !ok {
		return store.ErrNotFound
	}
	a.PasswordHash = hash
	f.accounts[address] = a
	f.sets++
	return nil
}

func (f *fakeAccounts) hash(address string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accounts[address].PasswordHash
}

var remote = netip.MustParseAddr("192.0.2.7")

func newTestService(t testing.TB, accts Accounts, opts Options) *Service {
	t.Helper()
	if opts.Params == (Params{}) {
		opts.Params = testParams
	}
	s, err := NewService(accts, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "tanstaaf", testParams)
	accts.add(t, "off@example.org", "", testParams)
	accts.mu.Lock()
	accts.accounts["bad@example.org"] = store.Account{ID: 9, Address: "bad@example.org", PasswordHash: "$2b$12$notargon"}
	accts.mu.Unlock()

	tests := []struct {
		name, user, password string
		err                  error
	}{
		{"ok", "tim@example.org", "tanstaaf", nil},
		{"case and spaces", "  Tim@EXAMPLE.org ", "tanstaaf", nil},
		{"wrong password", "tim@example.org", "tanstaaF", ErrInvalidCredentials},
		{"empty password", "tim@example.org", "", ErrInvalidCredentials},
		{"unknown user", "nobody@example.org", "tanstaaf", ErrInvalidCredentials},
		{"invalid name", "tim", "tanstaaf", ErrInvalidCredentials},
		{"disabled", "off@example.org", "", ErrInvalidCredentials},
		{"unusable hash", "bad@example.org", "x", ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh service each time: no cache from earlier cases.
			s := newTestService(t, accts, Options{})
			acct, err := s.Login(ctx, tt.user, tt.password, remote)
			if tt.err == nil {
				if err != nil || acct.Address != "tim@example.org" {
					t.Fatalf("Login = %+v, %v", acct, err)
				}
			} else if err != tt.err {
				// Exactly the sentinel: nothing that could leak a reason.
				t.Fatalf("Login err = %v, want %v", err, tt.err)
			}
			// Every outcome costs exactly one argon2id verification, so
			// timing does not reveal whether the account exists.
			if n := s.verifications.Load(); n != 1 {
				t.Errorf("%d verifications, want 1", n)
			}
		})
	}
}

func TestLoginStoreError(t *testing.T) {
	accts := newFakeAccounts()
	accts.err = errors.New("database is locked")
	s := newTestService(t, accts, Options{})
	_, err := s.Login(context.Background(), "tim@example.org", "pw", remote)
	if err == nil || errors.Is(err, ErrInvalidCredentials) || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("err = %v, want the store's error", err)
	}
}

func TestLoginRehash(t *testing.T) {
	ctx := context.Background()
	accts := newFakeAccounts()
	old := Params{Time: 2, MemoryKiB: 32, Threads: 1}
	accts.add(t, "tim@example.org", "pw", old)
	before := accts.hash("tim@example.org")

	s := newTestService(t, accts, Options{})
	if _, err := s.Login(ctx, "tim@example.org", "pw", remote); err != nil {
		t.Fatal(err)
	}
	after := accts.hash("tim@example.org")
	if after == before || !strings.HasPrefix(after, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %q", after)
	}
	// The upgraded hash still takes the same password, and needs nothing.
	if ok, rehash, err := VerifyParams(after, "pw", testParams); !ok || rehash || err != nil {
		t.Errorf("upgraded hash: %v %v %v", ok, rehash, err)
	}
	if _, err := s.Login(ctx, "tim@example.org", "pw", remote); err != nil {
		t.Fatal(err)
	}
	if accts.sets != 1 {
		t.Errorf("%d hash updates, want 1", accts.sets)
	}
}

// TestLoginRehashKeepsNewPassword: a password set by an administrator
// while a login was upgrading the old hash is not overwritten.
func TestLoginRehashKeepsNewPassword(t *testing.T) {
	ctx := context.Background()
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "old", Params{Time: 2, MemoryKiB: 32, Threads: 1})
	s := newTestService(t, accts, Options{})
	// The login read the account and verified "old"; then the
	// administrator set a new password; then the login upgrades.
	stale, _ := accts.AccountByAddress(ctx, "tim@example.org")
	newHash, _ := Hash("new", testParams)
	if err := accts.SetPasswordHash(ctx, "tim@example.org", newHash); err != nil {
		t.Fatal(err)
	}
	s.rehash(ctx, stale, "old")
	if got := accts.hash("tim@example.org"); got != newHash {
		t.Errorf("administrator's new hash overwritten by a rehash")
	}
}

func TestLoginCache(t *testing.T) {
	ctx := context.Background()
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "pw", testParams)
	s := newTestService(t, accts, Options{CacheTTL: time.Minute})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	login := func(pw string) error {
		_, err := s.Login(ctx, "tim@example.org", pw, remote)
		return err
	}
	steps := []struct {
		name          string
		do            func()
		password      string
		err           error
		verifications int64 // total so far
	}{
		{"first login computes", nil, "pw", nil, 1},
		{"second login is cached", nil, "pw", nil, 1},
		{"wrong password still computes", nil, "px", ErrInvalidCredentials, 2},
		{"wrong password is not cached", nil, "px", ErrInvalidCredentials, 3},
		{"expired entry computes", func() { now = now.Add(time.Minute) }, "pw", nil, 4},
		{"cached again", func() { now = now.Add(59 * time.Second) }, "pw", nil, 4},
		{"after passwd the old password fails", func() {
			h, _ := Hash("new", testParams)
			accts.SetPasswordHash(ctx, "tim@example.org", h)
		}, "pw", ErrInvalidCredentials, 5},
		{"and the new one works", nil, "new", nil, 6},
		{"cached", nil, "new", nil, 6},
		{"disabled login is never cached", func() { accts.SetPasswordHash(ctx, "tim@example.org", "") }, "new", ErrInvalidCredentials, 7},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		if err := login(st.password); err != st.err {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.err)
		}
		if n := s.verifications.Load(); n != st.verifications {
			t.Fatalf("%s: %d verifications, want %d", st.name, n, st.verifications)
		}
	}
}

func TestLoginCacheDisabled(t *testing.T) {
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "pw", testParams)
	s := newTestService(t, accts, Options{CacheTTL: -1})
	for range 3 {
		if _, err := s.Login(context.Background(), "tim@example.org", "pw", remote); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.verifications.Load(); n != 3 {
		t.Errorf("%d verifications, want 3", n)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	c := newVerifyCache(time.Minute, 4)
	now := time.Now()
	var keys [][32]byte
	for i := range 10 {
		k := c.sum("hash", string(rune('a'+i)))
		keys = append(keys, k)
		c.add(k, now)
		if c.len() > 4 {
			t.Fatalf("cache grew to %d", c.len())
		}
	}
	if !c.hit(keys[9], now) {
		t.Error("newest entry missing")
	}
	if c.sum("ab", "c") == c.sum("a", "bc") {
		t.Error("cache keys collide across the hash/password boundary")
	}
}

// testLimiter refuses a listed address and records outcomes.
type testLimiter struct {
	mu      sync.Mutex
	refuse  netip.Addr
	allowed []string
	results []bool
}

var errThrottled = errors.New("too many attempts")

func (l *testLimiter) Allow(ctx context.Context, remote netip.Addr, username string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if remote == l.refuse {
		return errThrottled
	}
	l.allowed = append(l.allowed, username)
	return nil
}

func (l *testLimiter) Done(remote netip.Addr, username string, success bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.results = append(l.results, success)
}

func TestLoginLimiter(t *testing.T) {
	ctx := context.Background()
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "pw", testParams)
	lim := &testLimiter{refuse: netip.MustParseAddr("198.51.100.1")}
	s := newTestService(t, accts, Options{Limiter: lim})

	if _, err := s.Login(ctx, "tim@example.org", "pw", lim.refuse); err != errThrottled {
		t.Errorf("refused attempt: err = %v", err)
	}
	if n := s.verifications.Load(); n != 0 {
		t.Errorf("refused attempt did %d verifications", n)
	}
	s.Login(ctx, "Tim@example.org", "pw", remote)
	s.Login(ctx, "tim@example.org", "bad", remote)
	s.Login(ctx, "who@example.org", "pw", remote)
	accts.err = errors.New("store down")
	s.Login(ctx, "tim@example.org", "pw", remote)

	want := []bool{true, false, false} // the store failure is not an outcome
	if len(lim.results) != len(want) {
		t.Fatalf("outcomes %v, want %v", lim.results, want)
	}
	for i := range want {
		if lim.results[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", lim.results, want)
		}
	}
	if lim.allowed[0] != "tim@example.org" {
		t.Errorf("limiter saw %q, want the normalized name", lim.allowed[0])
	}
}

// TestLoginConcurrencyLimit: with every argon2id slot taken, a login
// waits, and gives up when its context ends.
func TestLoginConcurrencyLimit(t *testing.T) {
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "pw", testParams)
	s := newTestService(t, accts, Options{MaxConcurrent: 1})
	s.sem <- struct{}{} // occupy the only slot

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Login(ctx, "tim@example.org", "pw", remote); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Login(ctx2, "nobody@example.org", "pw", remote); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unknown user: err = %v, want DeadlineExceeded", err)
	}

	// Freed, many concurrent logins all finish.
	<-s.sem
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := s.Login(context.Background(), "tim@example.org", "pw", remote)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestNewServiceBadParams(t *testing.T) {
	if _, err := NewService(newFakeAccounts(), Options{Params: Params{Time: 1, MemoryKiB: 1, Threads: 1}}); err == nil {
		t.Error("NewService accepted invalid params")
	}
}

// BenchmarkLogin compares a login that computes argon2id (default
// parameters) with one answered from the verification cache.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	accts := newFakeAccounts()
	accts.add(b, "tim@example.org", "correct horse", DefaultParams())
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"uncached", -1}, {"cached", time.Hour}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newTestService(b, accts, Options{Params: DefaultParams(), CacheTTL: bc.ttl})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Login(ctx, "tim@example.org", "correct horse", remote); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("unknown", func(b *testing.B) {
		s := newTestService(b, accts, Options{Params: DefaultParams()})
		for b.Loop() {
			s.Login(ctx, "nobody@example.org", "correct horse", remote)
		}
	})
}

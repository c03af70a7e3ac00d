package sqlite

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"postfach/internal/store"
)

func credStore(t *testing.T) (*Store, store.Account) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	t.Cleanup(func() { s.Close() })
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, "tim@example.org", "$hash1")
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func generation(t *testing.T, s *Store) int64 {
	t.Helper()
	g, err := s.CredentialGeneration(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCredentialSecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	a, err := s.CredentialSecret(ctx, "x")
	if err != nil || len(a) != 32 {
		t.Fatalf("CredentialSecret = %x, %v", a, err)
	}
	b, _ := s.CredentialSecret(ctx, "y")
	if bytes.Equal(a, b) {
		t.Error("two names share a secret")
	}
	// Another opener (an admin command) and a reopened store see it.
	other := openTest(t, dir, Options{})
	if c, err := other.CredentialSecret(ctx, "x"); err != nil || !bytes.Equal(a, c) {
		t.Errorf("second opener: %x, %v; want %x", c, err, a)
	}
	other.Close()
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	if c, _ := s.CredentialSecret(ctx, "x"); !bytes.Equal(a, c) {
		t.Error("secret changed across reopening")
	}
}

func TestSCRAMKeysBoundToHash(t *testing.T) {
	ctx := context.Background()
	s, a := credStore(t)
	if _, err := s.SCRAMKeys(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no keys yet: %v", err)
	}
	k := store.SCRAMKeys{Salt: []byte("salt"), Iterations: 4096, StoredKey: []byte("stored"), ServerKey: []byte("server")}
	if err := s.SetSCRAMKeys(ctx, a.ID, "$hash1", k); err != nil {
		t.Fatal(err)
	}
	got, err := s.SCRAMKeys(ctx, a.ID)
	if err != nil || got.Iterations != 4096 || string(got.StoredKey) != "stored" || string(got.ServerKey) != "server" || string(got.Salt) != "salt" {
		t.Fatalf("SCRAMKeys = %+v, %v", got, err)
	}
	// Keys made for another hash than the account's do not count.
	if err := s.SetSCRAMKeys(ctx, a.ID, "$other", k); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SCRAMKeys(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("keys of another hash: %v", err)
	}
	s.SetSCRAMKeys(ctx, a.ID, "$hash1", k)
	// A password change through Store retires them.
	if err := s.SetPasswordHash(ctx, a.Address, "$hash2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SCRAMKeys(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("keys after a password change: %v", err)
	}
	if err := s.SetSCRAMKeys(ctx, a.ID, "$hash1", store.SCRAMKeys{}); err == nil {
		t.Error("empty keys stored")
	}
	// Keys of an account that does not exist are not stored.
	if err := s.SetSCRAMKeys(ctx, 999, "$hash1", k); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SCRAMKeys(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("keys of a missing account: %v", err)
	}
}

func TestAppPasswords(t *testing.T) {
	ctx := context.Background()
	s, a := credStore(t)
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	keys := store.SCRAMKeys{Salt: []byte("s"), Iterations: 4096, StoredKey: []byte("k1"), ServerKey: []byte("k2")}
	phone, err := s.AddAppPassword(ctx, store.AppPassword{Account: a.ID, Name: "phone", Scope: []string{"imap", "smtp"}, Hash: []byte("h-phone"), SCRAM: keys})
	if err != nil {
		t.Fatal(err)
	}
	if phone.ID == 0 || !phone.Created.Equal(now) || !phone.LastUsed.IsZero() {
		t.Errorf("added %+v", phone)
	}
	laptop, err := s.AddAppPassword(ctx, store.AppPassword{Account: a.ID, Name: "laptop", Scope: []string{"pop3"}, Hash: []byte("h-laptop")})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []store.AppPassword{
		{Account: a.ID, Name: "phone", Scope: []string{"imap"}, Hash: []byte("h3")},
	} {
		if _, err := s.AddAppPassword(ctx, bad); !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate name: %v", err)
		}
	}
	for _, bad := range []store.AppPassword{
		{Account: a.ID, Name: "x", Scope: []string{"http"}, Hash: []byte("h4")},
		{Account: a.ID, Name: "x", Scope: nil, Hash: []byte("h4")},
		{Account: a.ID, Name: "x", Scope: []string{"imap", "imap"}, Hash: []byte("h4")},
		{Account: a.ID, Name: "", Scope: []string{"imap"}, Hash: []byte("h4")},
	} {
		if _, err := s.AddAppPassword(ctx, bad); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("AddAppPassword(%+v) = %v, want ErrInvalidName", bad, err)
		}
	}
	if _, err := s.AddAppPassword(ctx, store.AppPassword{Account: 999, Name: "x", Scope: []string{"imap"}, Hash: []byte("h5")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app password of a missing account: %v", err)
	}

	list, err := s.AppPasswords(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].Name != "laptop" || list[1].Name != "phone" {
		t.Fatalf("AppPasswords = %+v, %v", list, err)
	}
	if !slices.Equal(list[1].Scope, []string{"imap", "smtp"}) || list[1].SCRAM.Iterations != 4096 || string(list[1].SCRAM.StoredKey) != "k1" {
		t.Errorf("phone = %+v", list[1])
	}
	if !list[0].SCRAM.IsZero() {
		t.Errorf("laptop has SCRAM keys: %+v", list[0].SCRAM)
	}
	byHash, err := s.AppPasswordByHash(ctx, []byte("h-phone"))
	if err != nil || byHash.ID != phone.ID || byHash.Account != a.ID {
		t.Errorf("AppPasswordByHash = %+v, %v", byHash, err)
	}
	if _, err := s.AppPasswordByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}

	used := now.Add(time.Hour)
	if err := s.TouchAppPassword(ctx, phone.ID, used); err != nil {
		t.Fatal(err)
	}
	s.TouchAppPassword(ctx, phone.ID, now) // older: ignored
	if got, _ := s.AppPasswordByID(ctx, phone.ID); !got.LastUsed.Equal(used) {
		t.Errorf("LastUsed = %v, want %v", got.LastUsed, used)
	}

	g := generation(t, s)
	if err := s.RevokeAppPassword(ctx, a.ID, "phone"); err != nil {
		t.Fatal(err)
	}
	if generation(t, s) == g {
		t.Error("revocation did not change the credential generation")
	}
	if err := s.RevokeAppPassword(ctx, a.ID, "phone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
	if _, err := s.AppPasswordByID(ctx, phone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked by id: %v", err)
	}
	// Ids are never reused: a server watching a revoked id must not see
	// a new app password under it.
	again, err := s.AddAppPassword(ctx, store.AppPassword{Account: a.ID, Name: "phone", Scope: []string{"imap"}, Hash: []byte("h-phone2")})
	if err != nil || again.ID <= laptop.ID {
		t.Errorf("re-added = %+v, %v (laptop %d)", again, err, laptop.ID)
	}
}

func TestTOTP(t *testing.T) {
	ctx := context.Background()
	s, a := credStore(t)
	if _, err := s.TOTP(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTP before enabling: %v", err)
	}
	g := generation(t, s)
	enabled := time.Unix(1700000000, 0).UTC()
	codes := [][]byte{[]byte("c1"), []byte("c2"), []byte("c3")}
	if err := s.EnableTOTP(ctx, a.ID, store.TOTP{Secret: []byte("secret"), Enabled: enabled, LastStep: 100}, codes); err != nil {
		t.Fatal(err)
	}
	if generation(t, s) == g {
		t.Error("enabling two-factor login did not change the credential generation")
	}
	got, err := s.TOTP(ctx, a.ID)
	if err != nil || string(got.Secret) != "secret" || !got.Enabled.Equal(enabled) || got.LastStep != 100 || got.RecoveryCodes != 3 {
		t.Fatalf("TOTP = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		step int64
		err  error
	}{{100, store.ErrNotAllowed}, {99, store.ErrNotAllowed}, {101, nil}, {101, store.ErrNotAllowed}, {105, nil}} {
		if err := s.UseTOTPStep(ctx, a.ID, tc.step); !errors.Is(err, tc.err) {
			t.Errorf("UseTOTPStep(%d) = %v, want %v", tc.step, err, tc.err)
		}
	}
	if err := s.UseTOTPStep(ctx, 999, 200); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseTOTPStep without TOTP: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, a.ID, []byte("c2")); err != nil {
		t.Fatal(err)
	}
	if err := s.UseRecoveryCode(ctx, a.ID, []byte("c2")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recovery code used twice: %v", err)
	}
	if got, _ := s.TOTP(ctx, a.ID); got.RecoveryCodes != 2 {
		t.Errorf("%d recovery codes left, want 2", got.RecoveryCodes)
	}
	// Re-enrolling replaces secret and codes.
	if err := s.EnableTOTP(ctx, a.ID, store.TOTP{Secret: []byte("new"), Enabled: enabled, LastStep: 7}, [][]byte{[]byte("c9")}); err != nil {
		t.Fatal(err)
	}
	if err := s.UseRecoveryCode(ctx, a.ID, []byte("c1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old recovery code after re-enrolling: %v", err)
	}
	if err := s.DisableTOTP(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableTOTP(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second disable: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, a.ID, []byte("c9")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recovery code after disabling: %v", err)
	}
	if err := s.EnableTOTP(ctx, 999, store.TOTP{Secret: []byte("x")}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EnableTOTP of a missing account: %v", err)
	}
}

// TestCredentialsFollowAccount: credentials go with their account, and
// the triggers move the generation on password changes and removals.
func TestCredentialsFollowAccount(t *testing.T) {
	ctx := context.Background()
	s, a := credStore(t)
	keys := store.SCRAMKeys{Salt: []byte("s"), Iterations: 4096, StoredKey: []byte("k1"), ServerKey: []byte("k2")}
	s.SetSCRAMKeys(ctx, a.ID, "$hash1", keys)
	s.AddAppPassword(ctx, store.AppPassword{Account: a.ID, Name: "phone", Scope: []string{"imap"}, Hash: []byte("h")})
	s.EnableTOTP(ctx, a.ID, store.TOTP{Secret: []byte("x")}, [][]byte{[]byte("c")})

	g := generation(t, s)
	if err := s.SetPasswordHash(ctx, a.Address, "$hash1"); err != nil {
		t.Fatal(err)
	}
	if generation(t, s) != g {
		t.Error("setting the same hash changed the generation")
	}
	s.SetPasswordHash(ctx, a.Address, "$hash2")
	if g2 := generation(t, s); g2 == g {
		t.Error("a password change did not change the generation")
	}
	g = generation(t, s)
	if err := s.RemoveAccount(ctx, a.Address); err != nil {
		t.Fatal(err)
	}
	if generation(t, s) == g {
		t.Error("removing the account did not change the generation")
	}
	// A new account, possibly with the same id, starts clean.
	b, err := s.AddAccount(ctx, "tim@example.org", "$hash1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SCRAMKeys(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SCRAM keys survived the account: %v", err)
	}
	if list, _ := s.AppPasswords(ctx, b.ID); len(list) != 0 {
		t.Errorf("app passwords survived the account: %+v", list)
	}
	if _, err := s.AppPasswordByHash(ctx, []byte("h")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app password survived the account: %v", err)
	}
	if _, err := s.TOTP(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TOTP survived the account: %v", err)
	}
}

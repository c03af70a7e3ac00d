package auth_test

import (
	"context"
	"testing"
	"time"

	"postfach/internal/auth"
)

// revokedWithin reports whether ch closes within d.
func revokedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// waitUnwatched waits until the service watches no credential (its
// poller then stops).
func waitUnwatched(t *testing.T, svc *auth.Service) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for auth.WatchedCredentials(svc) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d credentials still watched", auth.WatchedCredentials(svc))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRevocationFromAnotherProcess: revocations made through another
// handle on the store (an admin command) end the sessions that depend on
// the credential, and only those.
func TestRevocationFromAnotherProcess(t *testing.T) {
	const poll = 20 * time.Millisecond
	e := newCredEnv(t, auth.Options{RevocationPoll: poll})
	ctx := context.Background()
	admin := e.service(auth.Options{})
	adminStore := e.other()
	phonePW, _, err := admin.AddAppPassword(ctx, e.acct, "phone", nil)
	if err != nil {
		t.Fatal(err)
	}
	laptopPW, _, err := admin.AddAppPassword(ctx, e.acct, "laptop", nil)
	if err != nil {
		t.Fatal(err)
	}
	login := func(pw string) auth.Session {
		t.Helper()
		sess, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", pw)
		if err != nil {
			t.Fatal(err)
		}
		return sess
	}
	phone1, phone2, laptop, password := login(phonePW), login(phonePW), login(laptopPW), login(strongPassword)
	if n := auth.WatchedCredentials(e.svc); n != 3 {
		t.Errorf("%d credentials watched, want 3 (two sessions share one)", n)
	}

	// Revoking through the other store handle.
	if err := adminStore.RevokeAppPassword(ctx, e.acct.ID, "phone"); err != nil {
		t.Fatal(err)
	}
	if !revokedWithin(phone1.Revoked, 2*time.Second) || !revokedWithin(phone2.Revoked, time.Second) {
		t.Fatal("sessions of the revoked app password did not end")
	}
	if revokedWithin(laptop.Revoked, 5*poll) || revokedWithin(password.Revoked, 5*poll) {
		t.Fatal("other sessions ended too")
	}

	// A password change (another process) ends password sessions; app
	// password sessions stay.
	if err := admin.SetPassword(ctx, e.acct, "a completely new passphrase"); err != nil {
		t.Fatal(err)
	}
	if !revokedWithin(password.Revoked, 2*time.Second) {
		t.Fatal("password session survived a password change")
	}
	if revokedWithin(laptop.Revoked, 5*poll) {
		t.Fatal("an app password session ended with the password change")
	}

	// Two-factor login turned on ends password sessions too.
	password = login("a completely new passphrase")
	en, err := admin.BeginTOTP(e.acct, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ConfirmTOTP(ctx, en, code(t, en.Secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	if !revokedWithin(password.Revoked, 2*time.Second) {
		t.Fatal("password session survived two-factor login being turned on")
	}

	// Removing the account ends every session.
	if err := adminStore.RemoveAccount(ctx, e.acct.Address); err != nil {
		t.Fatal(err)
	}
	if !revokedWithin(laptop.Revoked, 2*time.Second) {
		t.Fatal("session survived the account's removal")
	}
	waitUnwatched(t, e.svc)
}

// TestRevocationRaceAtLogin: a revocation committed between a login's
// check and its watch is still caught (a new watch is checked at the
// next poll, whatever the generation says).
func TestRevocationRaceAtLogin(t *testing.T) {
	const poll = 20 * time.Millisecond
	e := newCredEnv(t, auth.Options{RevocationPoll: poll})
	ctx := context.Background()
	pw, _, err := e.svc.AddAppPassword(ctx, e.acct, "phone", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A first session starts the poller, which then knows the
	// generation.
	first, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", strongPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	time.Sleep(3 * poll)
	// Revoke behind the store's back: no generation change, as if the
	// revocation had committed just before the watch began.
	sess, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeAppPassword(ctx, e.acct.ID, "phone"); err != nil {
		t.Fatal(err)
	}
	if !revokedWithin(sess.Revoked, 2*time.Second) {
		t.Fatal("revocation racing the login was missed")
	}
}

// TestRevocationRehash: a rehash to new argon2id parameters keeps the
// password's sessions; Close releases watches and the poller stops.
func TestRevocationRehash(t *testing.T) {
	const poll = 20 * time.Millisecond
	e := newCredEnv(t, auth.Options{RevocationPoll: poll})
	ctx := context.Background()
	sess, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", strongPassword)
	if err != nil {
		t.Fatal(err)
	}
	stronger := e.service(auth.Options{Params: auth.Params{Time: 2, MemoryKiB: 64, Threads: 1}, RevocationPoll: poll})
	sess2, err := stronger.Password(ctx, connFor("imap"), "tim@example.org", strongPassword)
	if err != nil {
		t.Fatal(err)
	}
	before := e.acct.PasswordHash
	if a, _ := e.store.AccountByAddress(ctx, "tim@example.org"); a.PasswordHash == before {
		t.Fatal("no rehash happened")
	}
	if revokedWithin(sess2.Revoked, 10*poll) {
		t.Error("the rehashing service ended its own session")
	}
	// The first service did not rehash: to it the hash changed, as if
	// the password had.
	if !revokedWithin(sess.Revoked, 2*time.Second) {
		t.Error("another service's session survived a hash change it did not make")
	}
	// The rehash kept the SCRAM keys usable: they are remade for the new
	// hash at that login.
	if _, err := e.store.SCRAMKeys(ctx, e.acct.ID); err != nil {
		t.Errorf("SCRAM keys after the rehash: %v", err)
	}
	sess.Close()
	sess2.Close()
	sess2.Close() // twice is harmless
	waitUnwatched(t, e.svc)
	waitUnwatched(t, stronger)
}

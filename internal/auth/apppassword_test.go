package auth_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"postfach/internal/auth"
	"postfach/internal/auth/scramclient"
	"postfach/internal/store"
)

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{"imap", "pop3", "smtp"}},
		{"imap", []string{"imap"}},
		{"SMTP, imap", []string{"imap", "smtp"}},
		{"pop3,imap,pop3", []string{"imap", "pop3"}},
	} {
		if got, err := auth.ParseScope(tc.in); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"http", "imap,", "imap,web", "imaps"} {
		if _, err := auth.ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) accepted", bad)
		}
	}
}

func TestAppPasswordLogin(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	auth.SetNow(e.svc, func() time.Time { return now })
	pw, ap, err := e.svc.AddAppPassword(ctx, e.acct, "phone", []string{"imap", "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-km-z2-9]{4}(-[a-km-z2-9]{4}){4}$`).MatchString(pw) || strings.ContainsAny(pw, "01lo") {
		t.Errorf("app password %q does not have the documented form", pw)
	}
	if ap.Name != "phone" || !slices.Equal(ap.Scope, []string{"imap", "smtp"}) || ap.SCRAM.IsZero() {
		t.Errorf("stored %+v", ap)
	}
	if _, _, err := e.svc.AddAppPassword(ctx, e.acct, "phone", nil); !errors.Is(err, store.ErrExists) {
		t.Errorf("second app password named phone: %v", err)
	}
	if _, _, err := e.svc.AddAppPassword(ctx, e.acct, "", nil); err == nil {
		t.Error("empty name accepted")
	}
	bob := e.addUser("bob@example.org", "another long passphrase here")

	for _, tc := range []struct {
		name, proto, user, pass string
		err                     error
		refusal                 bool // an *auth.Error
	}{
		{"imap", "imap", "tim@example.org", pw, nil, false},
		{"smtp", "smtp", "tim@example.org", pw, nil, false},
		{"without dashes, upper case", "imap", "tim@example.org", strings.ToUpper(strings.ReplaceAll(pw, "-", "")), nil, false},
		{"spaces for dashes", "imap", "tim@example.org", strings.ReplaceAll(pw, "-", " "), nil, false},
		{"out of scope", "pop3", "tim@example.org", pw, nil, true},
		{"another account's user name", "imap", "bob@example.org", pw, auth.ErrInvalidCredentials, false},
		{"unknown user", "imap", "who@example.org", pw, auth.ErrInvalidCredentials, false},
		{"one character off", "imap", "tim@example.org", pw[:len(pw)-1] + "x", auth.ErrInvalidCredentials, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := e.svc.Password(ctx, connFor(tc.proto), tc.user, tc.pass)
			switch {
			case tc.refusal:
				want := `App password "phone" is not for ` + strings.ToUpper(tc.proto) + "; its scope is imap,smtp"
				if !isError(err, want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
			case !errors.Is(err, tc.err):
				t.Fatalf("err = %v, want %v", err, tc.err)
			case err == nil:
				if sess.Account.ID != e.acct.ID || sess.Credential != "app-password:phone" || sess.Revoked == nil {
					t.Errorf("session = %+v", sess)
				}
				sess.Close()
			}
		})
	}
	_ = bob

	// SCRAM with the app password as shown.
	c := &scramclient.Client{User: "tim@example.org", Password: pw}
	sess, err := runSASL(t, e.svc, connFor("imap"), c)
	if err != nil || sess.Credential != "app-password:phone" || !c.Verified {
		t.Fatalf("SCRAM with the app password: %+v, %v", sess, err)
	}
	sess.Close()
	c = &scramclient.Client{User: "tim@example.org", Password: pw}
	if _, err := runSASL(t, e.svc, connFor("pop3"), c); !isError(err, `App password "phone" is not for POP3; its scope is imap,smtp`) {
		t.Errorf("SCRAM out of scope: %v", err)
	}
	// The account password still works by SCRAM, in the same exchange
	// shape (shared salt).
	c = &scramclient.Client{User: "tim@example.org", Password: strongPassword}
	if sess, err := runSASL(t, e.svc, connFor("imap"), c); err != nil || sess.Credential != "password" {
		t.Errorf("SCRAM with the password next to app passwords: %+v, %v", sess, err)
	}

	// Last use: recorded, but at most once a minute.
	list, _ := e.svc.AppPasswords(ctx, e.acct)
	if len(list) != 1 || !list[0].LastUsed.Equal(now) {
		t.Fatalf("last use = %+v", list)
	}
	now = now.Add(30 * time.Second)
	e.svc.Password(ctx, connFor("imap"), "tim@example.org", pw)
	if list, _ := e.svc.AppPasswords(ctx, e.acct); !list[0].LastUsed.Equal(now.Add(-30 * time.Second)) {
		t.Errorf("last use written within a minute: %v", list[0].LastUsed)
	}
	now = now.Add(time.Minute)
	e.svc.Password(ctx, connFor("imap"), "tim@example.org", pw)
	if list, _ := e.svc.AppPasswords(ctx, e.acct); !list[0].LastUsed.Equal(now) {
		t.Errorf("last use after a minute = %v, want %v", list[0].LastUsed, now)
	}

	// Login's generic path takes account passwords only.
	if _, err := e.svc.Login(ctx, "tim@example.org", pw, remoteAddr); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("Login with an app password: %v", err)
	}

	// Revoked: the next login fails.
	if err := e.svc.RevokeAppPassword(ctx, e.acct, "phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", pw); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("revoked app password: %v", err)
	}
	if err := e.svc.RevokeAppPassword(ctx, e.acct, "phone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
}

// TestAppPasswordDisabledAccount: an account whose login is disabled (no
// password hash) does not open with its app passwords either.
func TestAppPasswordDisabledAccount(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	ctx := context.Background()
	pw, _, err := e.svc.AddAppPassword(ctx, e.acct, "phone", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPasswordHash(ctx, e.acct.Address, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", pw); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("app password of a disabled account: %v", err)
	}
	c := &scramclient.Client{User: "tim@example.org", Password: pw}
	if _, err := runSASL(t, e.svc, connFor("imap"), c); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("SCRAM with an app password of a disabled account: %v", err)
	}
}

// BenchmarkAppPasswordLogin is a PLAIN login with an app password: one
// SHA-256 and two indexed reads, no argon2id.
func BenchmarkAppPasswordLogin(b *testing.B) {
	e := newCredEnv(b, auth.Options{Params: auth.DefaultParams()})
	ctx := context.Background()
	pw, _, err := e.svc.AddAppPassword(ctx, e.acct, "phone", nil)
	if err != nil {
		b.Fatal(err)
	}
	conn := connFor("imap")
	for b.Loop() {
		sess, err := e.svc.Password(ctx, conn, "tim@example.org", pw)
		if err != nil {
			b.Fatal(err)
		}
		sess.Close()
	}
}

// BenchmarkPasswordLogin is a PLAIN login with the account password at
// the default argon2id parameters, with the verification cache off (the
// cost of a first login, and of every wrong password).
func BenchmarkPasswordLogin(b *testing.B) {
	e := newCredEnv(b, auth.Options{Params: auth.DefaultParams(), CacheTTL: -1})
	ctx := context.Background()
	conn := connFor("imap")
	for b.Loop() {
		sess, err := e.svc.Password(ctx, conn, "tim@example.org", strongPassword)
		if err != nil {
			b.Fatal(err)
		}
		sess.Close()
	}
}

package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"postfach/internal/auth"
	"postfach/internal/auth/scramclient"
)

func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTwoFactor(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	auth.SetNow(e.svc, func() time.Time { return now })
	appPW, _, err := e.svc.AddAppPassword(ctx, e.acct, "phone", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.TOTPStatus(ctx, e.acct); !errors.Is(err, auth.ErrTwoFactorOff) {
		t.Fatalf("status before: %v", err)
	}

	en, err := e.svc.BeginTOTP(e.acct, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != en.Secret ||
		u.Query().Get("issuer") != "mail.example.org" || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" ||
		!strings.Contains(u.Path, "tim@example.org") {
		t.Errorf("URI %q", en.URI)
	}
	if _, err := e.svc.ConfirmTOTP(ctx, en, "000000"); !errors.Is(err, auth.ErrInvalidCode) {
		t.Fatalf("wrong first code: %v", err)
	}
	if _, err := e.svc.TOTPStatus(ctx, e.acct); !errors.Is(err, auth.ErrTwoFactorOff) {
		t.Fatal("a wrong first code turned two-factor login on")
	}
	first := code(t, en.Secret, now)
	recovery, err := e.svc.ConfirmTOTP(ctx, en, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes", len(recovery))
	}
	seen := map[string]bool{}
	for _, rc := range recovery {
		if !regexp.MustCompile(`^[a-km-z2-9]{4}-[a-km-z2-9]{4}-[a-km-z2-9]{4}$`).MatchString(rc) || seen[rc] {
			t.Errorf("recovery code %q", rc)
		}
		seen[rc] = true
	}
	st, err := e.svc.TOTPStatus(ctx, e.acct)
	if err != nil || st.RecoveryCodes != 10 || !st.Enabled.Equal(now) {
		t.Errorf("status = %+v, %v", st, err)
	}

	// The account password: refused with the message when right, the
	// usual answer when wrong; by PLAIN, LOGIN-style Password and SCRAM.
	if _, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", strongPassword); !isError(err, auth.TwoFactorText) {
		t.Errorf("right password under 2FA: %v", err)
	}
	var ae *auth.Error
	if _, err := plain(e.svc, connFor("smtp"), "tim@example.org", strongPassword); !errors.As(err, &ae) ||
		ae.IMAPCode != "AUTHENTICATIONFAILED" || ae.SMTPCode != 535 || ae.Enhanced != "5.7.8" || ae.Temporary {
		t.Errorf("PLAIN under 2FA: %#v", err)
	}
	if _, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", "wrong password here"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("wrong password under 2FA: %v", err)
	}
	c := &scramclient.Client{User: "tim@example.org", Password: strongPassword}
	if _, err := runSASL(t, e.svc, connFor("imap"), c); !isError(err, auth.TwoFactorText) {
		t.Errorf("SCRAM with the password under 2FA: %v", err)
	}
	if _, err := e.svc.Login(ctx, "tim@example.org", strongPassword, remoteAddr); !isError(err, auth.TwoFactorText) {
		t.Errorf("Login under 2FA: %v", err)
	}
	// App passwords still work.
	if sess, err := e.svc.Password(ctx, connFor("pop3"), "tim@example.org", appPW); err != nil || sess.Credential != "app-password:phone" {
		t.Errorf("app password under 2FA: %+v, %v", sess, err)
	} else {
		sess.Close()
	}
	c = &scramclient.Client{User: "tim@example.org", Password: appPW}
	if sess, err := runSASL(t, e.svc, connFor("imap"), c); err != nil {
		t.Errorf("SCRAM with an app password under 2FA: %v", err)
	} else {
		sess.Close()
	}

	// The web login: password first, then a code, each code once.
	acct, needs, err := e.svc.VerifyPassword(ctx, connFor("http"), "tim@example.org", strongPassword)
	if err != nil || !needs || acct.ID != e.acct.ID {
		t.Fatalf("VerifyPassword = %+v, %v, %v", acct, needs, err)
	}
	if _, _, err := e.svc.VerifyPassword(ctx, connFor("http"), "tim@example.org", appPW); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("VerifyPassword with an app password: %v", err)
	}
	web := connFor("http")
	if err := e.svc.VerifyTOTP(ctx, web, acct, first); !errors.Is(err, auth.ErrInvalidCode) {
		t.Errorf("the enrollment code replayed: %v", err)
	}
	now = now.Add(30 * time.Second)
	cur := code(t, en.Secret, now)
	if err := e.svc.VerifyTOTP(ctx, web, acct, cur[:3]+" "+cur[3:]); err != nil {
		t.Errorf("current code (with a space): %v", err)
	}
	if err := e.svc.VerifyTOTP(ctx, web, acct, cur); !errors.Is(err, auth.ErrInvalidCode) {
		t.Errorf("current code again: %v", err)
	}
	// Clock drift: the next step's code is accepted, then the previous
	// step's no longer is.
	if err := e.svc.VerifyTOTP(ctx, web, acct, code(t, en.Secret, now.Add(30*time.Second))); err != nil {
		t.Errorf("next step's code: %v", err)
	}
	if err := e.svc.VerifyTOTP(ctx, web, acct, code(t, en.Secret, now.Add(-30*time.Second))); !errors.Is(err, auth.ErrInvalidCode) {
		t.Errorf("an older step after a newer one: %v", err)
	}
	if err := e.svc.VerifyTOTP(ctx, web, acct, code(t, en.Secret, now.Add(5*time.Minute))); !errors.Is(err, auth.ErrInvalidCode) {
		t.Errorf("a code five minutes ahead: %v", err)
	}
	// Recovery codes: once each, any case, dashes optional.
	if err := e.svc.VerifyTOTP(ctx, web, acct, strings.ToUpper(strings.ReplaceAll(recovery[3], "-", ""))); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	if err := e.svc.VerifyTOTP(ctx, web, acct, recovery[3]); !errors.Is(err, auth.ErrInvalidCode) {
		t.Errorf("recovery code twice: %v", err)
	}
	if err := e.svc.VerifyTOTP(ctx, web, acct, "abcd-efgh-ijkm"); !errors.Is(err, auth.ErrInvalidCode) {
		t.Errorf("made-up recovery code: %v", err)
	}
	if st, _ := e.svc.TOTPStatus(ctx, e.acct); st.RecoveryCodes != 9 {
		t.Errorf("%d recovery codes left", st.RecoveryCodes)
	}

	// Off again: the password opens the mail protocols.
	if err := e.svc.DisableTOTP(ctx, e.acct); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DisableTOTP(ctx, e.acct); !errors.Is(err, auth.ErrTwoFactorOff) {
		t.Errorf("disable twice: %v", err)
	}
	if sess, err := e.svc.Password(ctx, connFor("imap"), "tim@example.org", strongPassword); err != nil {
		t.Errorf("password after disabling 2FA: %v", err)
	} else {
		sess.Close()
	}
	if err := e.svc.VerifyTOTP(ctx, web, acct, code(t, en.Secret, now)); !errors.Is(err, auth.ErrTwoFactorOff) {
		t.Errorf("VerifyTOTP with 2FA off: %v", err)
	}
}

// countingLimiter records outcomes, to check that second-factor guesses
// are counted like password guesses.
type countingLimiter struct {
	mu         sync.Mutex
	ok, failed int
}

func (l *countingLimiter) Allow(ctx context.Context, remote netip.Addr, user string) error {
	return nil
}

func (l *countingLimiter) Done(remote netip.Addr, user string, success bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if success {
		l.ok++
	} else {
		l.failed++
	}
}

func TestVerifyTOTPCounted(t *testing.T) {
	lim := &countingLimiter{}
	e := newCredEnv(t, auth.Options{Limiter: lim})
	ctx := context.Background()
	en, err := e.svc.BeginTOTP(e.acct, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ConfirmTOTP(ctx, en, code(t, en.Secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, guess := range []string{"123456", "654321", "abcd-abcd-abcd"} {
		e.svc.VerifyTOTP(ctx, connFor("http"), e.acct, guess)
	}
	if lim.failed != 3 || lim.ok != 0 {
		t.Errorf("limiter saw %d failures, %d successes; want 3, 0", lim.failed, lim.ok)
	}
}

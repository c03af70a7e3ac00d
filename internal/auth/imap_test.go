package auth_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/auth"
	"postfach/internal/auth/scramclient"
	"postfach/internal/imaptest"
	"postfach/internal/store/sqlite"
)

// Over a real postfach server, real TLS and go-imap's client: SCRAM with
// and without channel binding, app passwords and their scope, two-factor
// login, and a revocation by another process closing an IDLE session.

// dialIMAPS connects with implicit TLS, at most version maxVersion.
func dialIMAPS(t *testing.T, env *imaptest.Env, maxVersion uint16) (*imapclient.Client, *tls.Conn) {
	t.Helper()
	conf := imaptest.ClientTLS()
	conf.MaxVersion = maxVersion
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", env.IMAPS, conf)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	return c, conn
}

func TestIMAPSCRAM(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	// Accounts made through the store have no SCRAM keys yet: one
	// password login stores them.
	first := imaptest.Login(t, env, "alice@example.org")
	first.MustOK("LOGOUT")

	for _, tc := range []struct {
		name    string
		version uint16
		binding scramclient.Binding
	}{
		{"SCRAM-SHA-256, TLS 1.3", tls.VersionTLS13, scramclient.None},
		{"SCRAM-SHA-256-PLUS tls-exporter, TLS 1.3", tls.VersionTLS13, scramclient.TLSExporter},
		{"SCRAM-SHA-256-PLUS tls-server-end-point, TLS 1.3", tls.VersionTLS13, scramclient.TLSServerEndPoint},
		{"SCRAM-SHA-256-PLUS tls-server-end-point, TLS 1.2", tls.VersionTLS12, scramclient.TLSServerEndPoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, conn := dialIMAPS(t, env, tc.version)
			caps := c.Caps()
			if !caps.Has("AUTH=SCRAM-SHA-256") || !caps.Has("AUTH=SCRAM-SHA-256-PLUS") {
				t.Fatalf("capabilities %v", caps)
			}
			st := conn.ConnectionState()
			sc := &scramclient.Client{User: "alice@example.org", Password: imaptest.Password, Binding: tc.binding, TLS: &st}
			if err := c.Authenticate(sc); err != nil {
				t.Fatalf("AUTHENTICATE: %v", err)
			}
			if !sc.Verified {
				t.Error("the server's signature was not checked")
			}
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Errorf("SELECT after SCRAM: %v", err)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		c, conn := dialIMAPS(t, env, tls.VersionTLS13)
		st := conn.ConnectionState()
		err := c.Authenticate(&scramclient.Client{User: "alice@example.org", Password: "not the password", Binding: scramclient.TLSExporter, TLS: &st})
		if err == nil || !strings.Contains(err.Error(), "AUTHENTICATIONFAILED") {
			t.Errorf("AUTHENTICATE with a wrong password: %v", err)
		}
	})
	t.Run("downgrade refused", func(t *testing.T) {
		c, _ := dialIMAPS(t, env, tls.VersionTLS13)
		err := c.Authenticate(&scramclient.Client{User: "alice@example.org", Password: imaptest.Password, ClaimSupport: true})
		if err == nil || !strings.Contains(err.Error(), "Channel binding was stripped") {
			t.Errorf("AUTHENTICATE with the y flag: %v", err)
		}
	})
}

func TestIMAPAppPasswordsAndTwoFactor(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	ctx := context.Background()
	svc := env.Server.Auth
	bob, err := env.Server.Store.AccountByAddress(ctx, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	popOnly, _, err := svc.AddAppPassword(ctx, bob, "pop-client", []string{"pop3"})
	if err != nil {
		t.Fatal(err)
	}
	phone, _, err := svc.AddAppPassword(ctx, bob, "phone", []string{"imap", "smtp"})
	if err != nil {
		t.Fatal(err)
	}

	c := imaptest.Dial(t, env.IMAPS, true)
	r := c.Expect(`LOGIN bob@example.org "`+popOnly+`"`, "NO")
	if want := `[AUTHENTICATIONFAILED] App password "pop-client" is not for IMAP; its scope is pop3`; r.Text != want {
		t.Errorf("out of scope: %q, want %q", r.Text, want)
	}
	c.MustOK(`LOGIN bob@example.org "` + phone + `"`)

	// Two-factor login on: the password is refused with the reason, an
	// app password still opens IMAP, over LOGIN and SCRAM.
	en, err := svc.BeginTOTP(bob, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmTOTP(ctx, en, code(t, en.Secret, time.Now())); err != nil {
		t.Fatal(err)
	}
	c = imaptest.Dial(t, env.IMAPS, true)
	r = c.Expect("LOGIN bob@example.org "+imaptest.Password, "NO")
	if want := "[AUTHENTICATIONFAILED] " + auth.TwoFactorText; r.Text != want {
		t.Errorf("password under 2FA: %q, want %q", r.Text, want)
	}
	c.Expect("LOGIN bob@example.org wrong-password", "NO")
	c.MustOK(`LOGIN bob@example.org "` + phone + `"`)

	gc, conn := dialIMAPS(t, env, tls.VersionTLS13)
	st := conn.ConnectionState()
	if err := gc.Authenticate(&scramclient.Client{User: "bob@example.org", Password: phone, Binding: scramclient.TLSExporter, TLS: &st}); err != nil {
		t.Errorf("SCRAM-SHA-256-PLUS with an app password under 2FA: %v", err)
	}
}

// TestIMAPRevokeEndsIdle: `postfach app-password revoke` runs in another
// process; the server learns of it from the store and ends the IDLE
// session that logged in with the app password, while the password's
// session stays.
func TestIMAPRevokeEndsIdle(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	ctx := context.Background()
	bob, err := env.Server.Store.AccountByAddress(ctx, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	phone, _, err := env.Server.Auth.AddAppPassword(ctx, bob, "phone", nil)
	if err != nil {
		t.Fatal(err)
	}
	idler := imaptest.Dial(t, env.IMAPS, true)
	idler.MustOK(`LOGIN bob@example.org "` + phone + `"`)
	idler.MustOK("SELECT INBOX")
	idler.Write("i1 IDLE\r\n")
	if line := idler.ReadLine(); !strings.HasPrefix(line, "+") {
		t.Fatalf("IDLE: %q", line)
	}
	other := imaptest.Login(t, env, "bob@example.org")
	other.MustOK("SELECT INBOX")

	// The admin command's own handle on the data directory.
	admin, err := sqlite.Open(ctx, sqlite.Options{Dir: env.Config.DataDir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	revoked := time.Now()
	if err := admin.RevokeAppPassword(ctx, bob.ID, "phone"); err != nil {
		t.Fatal(err)
	}
	idler.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))
	lines := idler.ExpectClosed()
	if len(lines) == 0 || lines[len(lines)-1] != "* BYE Credentials revoked; log in again" {
		t.Errorf("IDLE session ended with %q", lines)
	}
	t.Logf("IDLE session closed %v after the revocation", time.Since(revoked).Round(time.Millisecond))
	other.MustOK("NOOP")
	again := imaptest.Dial(t, env.IMAPS, true)
	again.Expect(`LOGIN bob@example.org "`+phone+`"`, "NO")
}

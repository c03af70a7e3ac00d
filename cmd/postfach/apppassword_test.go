package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"postfach/internal/auth"
	"postfach/internal/store/sqlite"
)

// cliAccount makes a config with example.org and tim@example.org.
func cliAccount(t *testing.T) (cfg, dataDir string) {
	t.Helper()
	cfg = testConfig(t)
	postfach(t, nil, "", "domain", "add", "example.org", "--config", cfg).expect(t, 0)
	postfach(t, nil, "correct horse battery staple\n", "user", "add", "tim@example.org", "--config", cfg).expect(t, 0)
	return cfg, filepath.Join(filepath.Dir(cfg), "data")
}

// serverService is the auth layer a server over dataDir would use.
func serverService(t *testing.T, st *sqlite.Store) *auth.Service {
	t.Helper()
	svc, err := auth.NewService(st, auth.Options{Params: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func mailConn(proto string) auth.Conn {
	return auth.Conn{Protocol: proto, Remote: netip.MustParseAddr("127.0.0.1"), TLS: &tls.ConnectionState{}}
}

var appPasswordRE = regexp.MustCompile(`\n    ([a-z2-9]{4}(?:-[a-z2-9]{4}){4})\n`)

func TestAppPasswordCommands(t *testing.T) {
	cfg, dataDir := cliAccount(t)
	run := func(args ...string) result {
		t.Helper()
		return postfach(t, nil, "", append(args, "--config", cfg)...)
	}
	r := run("app-password", "add", "Tim@example.org", "--name", "phone", "--scope", "imap,smtp")
	r.expect(t, 0, `out:App password "phone" of tim@example.org (imap, smtp):`, "out:It is shown only now.")
	m := appPasswordRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no app password in %q", r.stdout)
	}
	phone := m[1]
	run("app-password", "add", "tim@example.org", "--name", "laptop").expect(t, 0, "out:(imap, pop3, smtp)")
	run("app-password", "add", "tim@example.org", "--name", "phone").expect(t, 1,
		`err:tim@example.org already has an app password named "phone"; revoke it first: postfach app-password revoke tim@example.org "phone"`)
	run("app-password", "add", "tim@example.org").expect(t, 2, "err:--name is required")
	run("app-password", "add", "tim@example.org", "--name", "x", "--scope", "imap,web").expect(t, 2, "err:--scope: scope")
	run("app-password", "add", "who@example.org", "--name", "x").expect(t, 1, "err:account who@example.org does not exist")

	r = run("app-password", "list", "tim@example.org")
	r.expect(t, 0, "out:NAME", "out:LAST USED")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^laptop +imap,pop3,smtp +\d{4}-\d\d-\d\d \d\d:\d\d UTC +never$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^phone +imap,smtp +`).MatchString(lines[2]) {
		t.Errorf("list:\n%s", r.stdout)
	}

	// A server over the same data logs in with it, within its scope.
	st := openStore(t, dataDir)
	svc := serverService(t, st)
	ctx := context.Background()
	sess, err := svc.Password(ctx, mailConn("imap"), "tim@example.org", phone)
	if err != nil || sess.Credential != "app-password:phone" {
		t.Fatalf("login with the printed app password: %+v, %v", sess, err)
	}
	if _, err := svc.Password(ctx, mailConn("pop3"), "tim@example.org", phone); err == nil {
		t.Error("app password opened POP3 outside its scope")
	}
	if r := run("app-password", "list", "tim@example.org"); !regexp.MustCompile(`phone +imap,smtp +\S+ \S+ UTC +\d{4}-\d\d-\d\d`).MatchString(r.stdout) {
		t.Errorf("last use not shown:\n%s", r.stdout)
	}

	run("app-password", "revoke", "tim@example.org", "phone").expect(t, 0, `out:revoked app password "phone" of tim@example.org`)
	run("app-password", "revoke", "tim@example.org", "phone").expect(t, 1, `err:tim@example.org has no app password named "phone"`)
	if _, err := svc.Password(ctx, mailConn("imap"), "tim@example.org", phone); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("revoked app password: %v", err)
	}
	run("app-password", "revoke", "tim@example.org", "laptop").expect(t, 0)
	run("app-password", "list", "tim@example.org").expect(t, 0, "out:tim@example.org has no app passwords")
	sess.Close()
}

// TestUserCommandsStoreSCRAMKeys: user add and user passwd store SCRAM
// keys with the configured iteration count.
func TestUserCommandsStoreSCRAMKeys(t *testing.T) {
	cfg, dataDir := cliAccount(t)
	st := openStore(t, dataDir)
	acct := mustAccount(t, st, "tim@example.org")
	k, err := st.SCRAMKeys(context.Background(), acct.ID)
	if err != nil || k.Iterations != auth.DefaultSCRAMIterations {
		t.Fatalf("SCRAM keys after user add: %+v, %v", k, err)
	}
	postfach(t, nil, "another long passphrase\n", "user", "passwd", "tim@example.org", "--config", cfg).expect(t, 0)
	k2, err := st.SCRAMKeys(context.Background(), acct.ID)
	if err != nil || string(k2.StoredKey) == string(k.StoredKey) {
		t.Errorf("SCRAM keys after user passwd: %+v, %v", k2, err)
	}
}

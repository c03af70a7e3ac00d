package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postfach/internal/auth"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// testConfig writes a configuration with cheap argon2id parameters and
// returns its path; the data directory is <dir>/data.
func testConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "postfach.toml")
	err := os.WriteFile(path, []byte(`
hostname = "mail.example.org"
data_dir = "data"

[listen]
imap = "127.0.0.1:0"
imaps = ""

[auth]
time = 1
memory_kib = 64
threads = 1
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

var netipLoopback = netip.MustParseAddr("127.0.0.1")

type result struct {
	code           int
	stdout, stderr string
}

// postfach runs the program in-process. env maps environment variables
// (nothing else of the real environment is seen).
func postfach(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := runEnv(context.Background(), args, strings.NewReader(stdin), &out, &errb,
		func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

// expect checks the exit status and that each want string appears in
// stdout or stderr as marked ("out:" or "err:" prefix).
func (r result) expect(t *testing.T, code int, wants ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range wants {
		stream, text, _ := strings.Cut(w, ":")
		got := r.stdout
		if stream == "err" {
			got = r.stderr
		}
		if !strings.Contains(got, text) {
			t.Errorf("std%s %q does not contain %q", stream, got, text)
		}
	}
}

func TestUsage(t *testing.T) {
	cfg := testConfig(t)
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"no arguments", nil, 2, []string{"err:Usage:", "err:user add ADDRESS"}},
		{"help", []string{"help"}, 0, []string{"out:serve", "out:domain add DOMAIN", "out:domain list", "out:domain remove DOMAIN",
			"out:user add ADDRESS", "out:user list [DOMAIN]", "out:user passwd ADDRESS", "out:user remove ADDRESS", "out:version", "out:--config FILE"}},
		{"-h", []string{"-h"}, 0, []string{"out:Commands:"}},
		{"--help", []string{"--help"}, 0, []string{"out:Commands:"}},
		{"help command", []string{"help", "user", "add"}, 0, []string{"out:Usage: postfach user add [--config FILE] ADDRESS", "out:standard input"}},
		{"help unknown", []string{"help", "frob"}, 2, []string{`err:unknown command "frob"`}},
		{"command -h", []string{"user", "passwd", "-h"}, 0, []string{"out:Usage: postfach user passwd"}},
		{"unknown command", []string{"frob"}, 2, []string{`err:unknown command "frob"`, "err:postfach help"}},
		{"group without subcommand", []string{"user"}, 2, []string{"err:user: missing subcommand (add, list, passwd, remove, quota)"}},
		{"unknown subcommand", []string{"domain", "frob"}, 2, []string{`err:domain: unknown subcommand "frob" (add, list, remove)`}},
		{"missing argument", []string{"domain", "add", "--config", cfg}, 2, []string{"err:missing DOMAIN", "err:Usage: postfach domain add [--config FILE] DOMAIN"}},
		{"extra argument", []string{"domain", "add", "a.org", "b.org", "--config", cfg}, 2, []string{`err:unexpected argument "b.org"`}},
		{"extra argument to list", []string{"user", "list", "a.org", "b.org"}, 2, []string{`err:unexpected argument "b.org"`}},
		{"unknown flag", []string{"domain", "list", "--verbose"}, 2, []string{"err:flag provided but not defined: -verbose"}},
		{"unknown top flag", []string{"--verbose", "domain", "list"}, 2, []string{"err:flag provided but not defined"}},
		{"flag without value", []string{"domain", "list", "--config"}, 2, []string{"err:flag needs an argument"}},
		{"password argument", []string{"user", "add", "tim@example.org", "secret", "--config", cfg}, 2, []string{`err:unexpected argument "secret"`}},
		{"not an address", []string{"user", "add", "tim", "--config", cfg}, 2, []string{`err:"tim" is not a full address`}},
		{"version", []string{"version"}, 0, []string{"out:postfach ", "out:go1."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			postfach(t, nil, "", tt.args...).expect(t, tt.code, tt.wants...)
		})
	}
}

// TestAdmin walks domains and accounts through their life.
func TestAdmin(t *testing.T) {
	cfg := testConfig(t)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	c := []string{"--config", cfg}
	run := func(stdin string, args ...string) result {
		t.Helper()
		return postfach(t, nil, stdin, append(args, c...)...)
	}

	run("", "domain", "list").expect(t, 1, "err:data directory "+dataDir+" does not exist")
	if _, err := os.Stat(dataDir); err == nil {
		t.Fatal("a list command created the data directory")
	}
	run("", "domain", "add", "Example.ORG.").expect(t, 0, "out:added domain example.org", "err:creating data directory "+dataDir)
	run("", "domain", "add", "example.org").expect(t, 1, "err:domain example.org already exists")
	run("", "domain", "add", "bad domain!").expect(t, 1, `err:"bad domain!" is not a valid domain name`)
	run("", "domain", "add", "example.net").expect(t, 0)
	if r := run("", "domain", "list"); r.stdout != "example.net\nexample.org\n" {
		t.Errorf("domain list = %q", r.stdout)
	}

	run("secret\n", "user", "add", "other@missing.org").expect(t, 1,
		"err:domain missing.org does not exist; add it with: postfach domain add missing.org")
	run("secret horse battery\n", "user", "add", " Tim@Example.org").expect(t, 0, "out:added account tim@example.org")
	run("short\n", "user", "add", "weak@example.org").expect(t, 1, "err:password refused: it has 5 characters; at least 12 are needed")
	run("Password2024!\n", "user", "add", "weak@example.org").expect(t, 1, "err:password refused: it is one of the most common passwords")
	run("weak@example.org\n", "user", "add", "weak@example.org").expect(t, 1, "err:password refused: it is the address or part of it")
	run("secret\n", "user", "add", "tim@example.org").expect(t, 1, "err:account tim@example.org already exists; to set its password: postfach user passwd tim@example.org")
	run("", "user", "add", "empty@example.org").expect(t, 1, "err:no password on standard input")
	run("\n", "user", "add", "empty@example.org").expect(t, 1, "err:no password on standard input")
	run(strings.Repeat("x", 256)+"\n", "user", "add", "long@example.org").expect(t, 1, "err:longer than 255")
	run(strings.Repeat("x", 5000), "user", "add", "long@example.org").expect(t, 1, "err:longer than 255")
	run("pass word with spaces \r\nsecond line\n", "user", "add", "crlf@example.org").expect(t, 0)
	run("no-newline-at-the-end", "user", "add", "ann@example.net").expect(t, 0)

	if r := run("", "user", "list"); r.stdout != "ann@example.net\ncrlf@example.org\ntim@example.org\n" {
		t.Errorf("user list = %q", r.stdout)
	}
	if r := run("", "user", "list", "EXAMPLE.net"); r.stdout != "ann@example.net\n" {
		t.Errorf("user list example.net = %q", r.stdout)
	}
	run("", "user", "list", "nowhere.org").expect(t, 1, "err:domain nowhere.org does not exist")

	st := openStore(t, dataDir)
	checkPassword(t, st, "tim@example.org", "secret horse battery")
	checkPassword(t, st, "crlf@example.org", "pass word with spaces ")
	checkPassword(t, st, "ann@example.net", "no-newline-at-the-end")

	before := accountHash(t, st, "tim@example.org")
	run("a new long passphrase\n", "user", "passwd", "TIM@example.org").expect(t, 0, "out:password of tim@example.org changed")
	if accountHash(t, st, "tim@example.org") == before {
		t.Error("passwd did not change the hash")
	}
	checkPassword(t, st, "tim@example.org", "a new long passphrase")
	run("letmein\n", "user", "passwd", "tim@example.org").expect(t, 1, "err:password refused")
	run("x\n", "user", "passwd", "who@example.org").expect(t, 1,
		"err:account who@example.org does not exist; add it with: postfach user add who@example.org")
	run("bad\x00pw\n", "user", "passwd", "tim@example.org").expect(t, 1, "err:password contains NUL")

	run("", "domain", "remove", "example.org").expect(t, 1, "err:domain example.org still has accounts")
	run("", "user", "remove", "tim@example.org").expect(t, 0, "out:removed account tim@example.org")
	run("", "user", "remove", "tim@example.org").expect(t, 1, "err:account tim@example.org does not exist")
	run("", "user", "remove", "crlf@example.org").expect(t, 0)
	run("", "domain", "remove", "example.org").expect(t, 0, "out:removed domain example.org")
	run("", "domain", "remove", "example.org").expect(t, 1, "err:domain example.org does not exist")
	if r := run("", "domain", "list"); r.stdout != "example.net\n" {
		t.Errorf("domain list = %q", r.stdout)
	}
}

// TestConfigFlag: --config may stand before the command, after it, after
// the arguments, or come from $POSTFACH_CONFIG.
func TestConfigFlag(t *testing.T) {
	cfg := testConfig(t)
	postfach(t, nil, "", "--config", cfg, "domain", "add", "a.org").expect(t, 0)
	postfach(t, nil, "", "domain", "--config", cfg, "add", "b.org").expect(t, 2) // not a subcommand position
	postfach(t, nil, "", "domain", "add", "--config", cfg, "b.org").expect(t, 0)
	postfach(t, nil, "", "domain", "add", "c.org", "-config="+cfg).expect(t, 0)
	postfach(t, map[string]string{configEnv: cfg}, "", "domain", "add", "d.org").expect(t, 0)
	// The flag wins over the environment.
	postfach(t, map[string]string{configEnv: "/nonexistent.toml"}, "", "domain", "list", "--config", cfg).expect(t, 0, "out:a.org\nb.org\nc.org\nd.org\n")
	postfach(t, map[string]string{configEnv: "/nonexistent.toml"}, "", "domain", "list").expect(t, 1, "err:/nonexistent.toml")
	// "--" ends flags.
	postfach(t, nil, "", "domain", "add", "--config", cfg, "--", "-x.org").expect(t, 1, "is not a valid domain name")
}

func TestBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("hostname = \"example.org\"\n[listen]\npop3 = \":110\"\nimapp = \":1\"\n"), 0o644)
	postfach(t, nil, "", "domain", "list", "--config", path).expect(t, 1, `err:bad.toml:4: unknown key "listen.imapp"`)
	os.WriteFile(path, []byte("hostname = \"example.org\"\n[listen]\n"), 0o644)
	postfach(t, nil, "", "serve", "--config", path).expect(t, 1, "err:listen: no listener this version serves is set")
}

// TestAdminWhileServing: admin commands work on a store that another
// opener (as a running server is) holds open and locked, and the server's
// handle sees their changes at once.
func TestAdminWhileServing(t *testing.T) {
	cfg := testConfig(t)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	lock, err := sqlite.LockDataDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	server := openStore(t, dataDir)

	postfach(t, nil, "", "domain", "add", "example.org", "--config", cfg).expect(t, 0)
	postfach(t, nil, "first long passphrase\n", "user", "add", "tim@example.org", "--config", cfg).expect(t, 0)

	svc, err := auth.NewService(server, auth.Options{Params: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Login(ctx, "tim@example.org", "first long passphrase", netipLoopback); err != nil {
		t.Fatalf("login through the server's handle: %v", err)
	}
	postfach(t, nil, "second long passphrase\n", "user", "passwd", "tim@example.org", "--config", cfg).expect(t, 0)
	if _, err := svc.Login(ctx, "tim@example.org", "first long passphrase", netipLoopback); err != auth.ErrInvalidCredentials {
		t.Errorf("old password after passwd: %v", err)
	}
	if _, err := svc.Login(ctx, "tim@example.org", "second long passphrase", netipLoopback); err != nil {
		t.Errorf("new password after passwd: %v", err)
	}
	// The server's handle keeps working after the admin command closed its own.
	mail := server.Mail(mustAccount(t, server, "tim@example.org").ID)
	if _, err := mail.Mailbox(ctx, "INBOX"); err != nil {
		t.Errorf("INBOX of the new account: %v", err)
	}
	postfach(t, nil, "", "user", "remove", "tim@example.org", "--config", cfg).expect(t, 0)
	if _, err := server.AccountByAddress(ctx, "tim@example.org"); err == nil {
		t.Error("removed account still visible to the server")
	}
}

func TestReadPasswordLine(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"secret\n", "secret", ""},
		{"secret\r\n", "secret", ""},
		{"secret", "secret", ""},
		{" spaced out \n", " spaced out ", ""},
		{"first\nsecond\n", "first", ""},
		{"a\rb\n", "a\rb", ""}, // CheckPassword refuses it later
		{strings.Repeat("y", 255) + "\n", strings.Repeat("y", 255), ""},
		{strings.Repeat("y", 255) + "\r\n", strings.Repeat("y", 255), ""},
		{strings.Repeat("y", 256), "", "longer than 255"},
		{"", "", "no password"},
		{"\r\n", "", "no password"},
	}
	for _, tt := range tests {
		got, err := readPasswordLine(strings.NewReader(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("readPasswordLine(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("readPasswordLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func openStore(t *testing.T, dataDir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func mustAccount(t *testing.T, st store.Store, address string) store.Account {
	t.Helper()
	a, err := st.AccountByAddress(context.Background(), address)
	if err != nil {
		t.Fatalf("account %s: %v", address, err)
	}
	return a
}

func accountHash(t *testing.T, st store.Store, address string) string {
	t.Helper()
	return mustAccount(t, st, address).PasswordHash
}

func checkPassword(t *testing.T, st store.Store, address, password string) {
	t.Helper()
	hash := accountHash(t, st, address)
	ok, _, err := auth.VerifyParams(hash, password, auth.Params{Time: 1, MemoryKiB: 64, Threads: 1})
	if err != nil || !ok {
		t.Errorf("password of %s is not %q (%v)", address, password, err)
	}
}

package check

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The check against Dovecot from Debian (dovecot-imapd, dovecot-pop3d):
// a second, independent server, so that the check is known to judge
// servers other than postfach correctly.

const (
	dovecotPath = "/usr/sbin/dovecot"
	doveadmPath = "/usr/bin/doveadm"
	// requireEnv turns a missing Dovecot into a failure (CI sets it).
	requireEnv = "POSTFACH_REQUIRE_CLIENTS"
)

// dovecotConf follows /work/shared/reference/dovecot.conf (a loopback
// Dovecot 2.3 with TLS required and no plaintext login before it), on
// ports chosen by the test and with its own directory.
const dovecotConf = `instance_name = postfach-check-test
base_dir = {{DIR}}/run
state_dir = {{DIR}}/state
log_path = {{DIR}}/log/dovecot.log
info_log_path = {{DIR}}/log/dovecot-info.log
protocols = imap pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <{{DIR}}/tls/cert.pem
ssl_key = <{{DIR}}/tls/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login scram-sha-256
# Tests only: no pause after a failed login.
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 100
last_valid_uid = 0
first_valid_gid = 100
mail_location = maildir:{{DIR}}/mail/%u/Maildir
mail_home = {{DIR}}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{DIR}}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u {{DIR}}/users
  default_fields = uid=nobody gid=nogroup home={{DIR}}/mail/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    auto = create
    special_use = \Drafts
  }
  mailbox Junk {
    auto = create
    special_use = \Junk
  }
  mailbox Archive {
    auto = create
    special_use = \Archive
  }
  mailbox Sent {
    auto = create
    special_use = \Sent
  }
  mailbox Trash {
    auto = create
    special_use = \Trash
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{IMAP}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{IMAPS}}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = {{POP3}}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = {{POP3S}}
    ssl = yes
  }
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
}
`

// The account the test Dovecot has.
const (
	dovecotUser     = "tim@example.org"
	dovecotPassword = "dovecot-secret"
)

// startDovecot runs Dovecot on four free loopback ports with a
// certificate from ca and one user, and returns the ports; edit, if not
// nil, changes the configuration. It skips the test when Dovecot cannot
// run here, unless POSTFACH_REQUIRE_CLIENTS=1.
func startDovecot(t testing.TB, ca *testCA, edit func(conf string) string) map[string]int {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s, and %s=1 requires Dovecot", why, requireEnv)
		}
		t.Skipf("%s; skipping (set %s=1 to make this a failure)", why, requireEnv)
	}
	if _, err := os.Stat(dovecotPath); err != nil {
		unavailable(dovecotPath + " is not installed (Debian packages dovecot-imapd dovecot-pop3d)")
	}
	if os.Geteuid() != 0 {
		unavailable("Dovecot must start as root to switch to its users")
	}

	dir := t.TempDir()
	// Dovecot's processes run as dovecot, dovenull and nobody: they need
	// to reach the directory.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	for _, sub := range []string{"run", "state", "log", "tls", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("chown", "nobody:nogroup", filepath.Join(dir, "mail")).Run(); err != nil {
		t.Fatalf("chown mail directory: %v", err)
	}
	ca.issue(t, filepath.Join(dir, "tls"), goodLeaf())
	os.Chmod(filepath.Join(dir, "tls", "key.pem"), 0o600)
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(dovecotUser+":{PLAIN}"+dovecotPassword+"::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ports := map[string]int{}
	conf := strings.ReplaceAll(dovecotConf, "{{DIR}}", dir)
	for _, name := range []string{"imap", "imaps", "pop3", "pop3s"} {
		ports[name] = freePort(t)
		conf = strings.ReplaceAll(conf, "{{"+strings.ToUpper(name)+"}}", strconv.Itoa(ports[name]))
	}
	if edit != nil {
		conf = edit(conf)
	}
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// The master goes to the background; its output goes to a file, not
	// a pipe, which the daemon would hold open.
	outFile := filepath.Join(dir, "log", "start.log")
	out, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dovecotPath, "-c", confFile)
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	out.Close()
	if err != nil {
		startLog, _ := os.ReadFile(outFile)
		log, _ := os.ReadFile(filepath.Join(dir, "log", "dovecot.log"))
		t.Fatalf("starting Dovecot: %v\n%s\n%s", err, startLog, log)
	}
	t.Cleanup(func() { stopDovecot(t, dir, confFile) })
	// Ready when every listener answers.
	deadline := time.Now().Add(15 * time.Second)
	for _, port := range ports {
		for {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, "log", "dovecot.log"))
				t.Fatalf("Dovecot does not listen on %d: %v\n%s", port, err, log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return ports
}

func stopDovecot(t testing.TB, dir, confFile string) {
	if err := exec.Command(doveadmPath, "-c", confFile, "stop").Run(); err == nil {
		// Wait for the master to exit (it removes its pid file).
		for range 100 {
			if _, err := os.Stat(filepath.Join(dir, "run", "master.pid")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The master's own process, by the pid it wrote.
	if b, err := os.ReadFile(filepath.Join(dir, "run", "master.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// dovecotOptions probes the test Dovecot from 127.0.0.2: Dovecot treats
// a client whose address is its own (127.0.0.1 to 127.0.0.1) as secure
// and then offers passwords without TLS, which is not what a client
// elsewhere sees.
func dovecotOptions(ports map[string]int, ca *testCA) Options {
	return Options{Host: "127.0.0.1", Ports: ports, Only: []string{"imap", "pop3"}, Roots: ca.pool, Timeout: 10 * time.Second,
		Source: netip.MustParseAddr("127.0.0.2")}
}

func TestDovecot(t *testing.T) {
	ca := newTestCA(t)
	ports := startDovecot(t, ca, nil)
	opts := dovecotOptions(ports, ca)
	opts.User, opts.Password = dovecotUser, dovecotPassword
	rep := runCheck(t, opts)
	if rep.Verdict != OK {
		t.Errorf("verdict %v", rep.Verdict)
	}
	for _, p := range rep.Probes {
		if !p.Reachable || p.Verdict != OK || p.TLS == nil || p.Certificate == nil || !p.Certificate.Trusted || !p.Certificate.NameMatch || p.PlaintextLogin {
			t.Errorf("%s: %+v", p.Service, p)
		}
		expectFinding(t, p, OK, "certificate", "valid for 127.0.0.1, issued by postfach test CA")
		expectFinding(t, p, OK, "greeting", "greeting after")
	}
	imap := probe(t, rep, "imap")
	expectFinding(t, imap, OK, "plaintext-login", "LOGINDISABLED")
	if imap.TLS.Mode != "starttls" {
		t.Errorf("imap TLS %+v", imap.TLS)
	}
	expectFinding(t, probe(t, rep, "pop3"), OK, "plaintext-login", "no password login before STLS")
	imaps := probe(t, rep, "imaps")
	expectFinding(t, imaps, OK, "login", "logged in as tim@example.org")
	expectFinding(t, imaps, OK, "mailboxes", "6 mailboxes")
	for _, mb := range []string{"INBOX", "Drafts", "Junk", "Archive", "Sent", "Trash"} {
		expectFinding(t, imaps, OK, "mailboxes", mb)
	}
	for _, c := range []string{"IDLE", "CONDSTORE", "QRESYNC"} {
		if !slices.Contains(imaps.Capabilities, c) {
			t.Errorf("imaps capabilities after login lack %s: %v", c, imaps.Capabilities)
		}
	}
	expectFinding(t, probe(t, rep, "pop3s"), OK, "stat", "STAT: 0 messages, 0 octets")

	// From the server's own address Dovecot offers passwords before
	// TLS, and the check says so.
	local := dovecotOptions(ports, ca)
	local.Source = netip.Addr{}
	rep = runCheck(t, local)
	expectFinding(t, probe(t, rep, "imap"), Warn, "plaintext-login", "LOGIN and AUTH=PLAIN AUTH=LOGIN offered before STARTTLS")
	expectFinding(t, probe(t, rep, "pop3"), Warn, "plaintext-login", "USER/PASS and SASL PLAIN LOGIN offered before STLS")

	// A wrong password is reported, and the password is nowhere in the
	// report.
	opts.Password = "not-it"
	rep = runCheck(t, opts)
	expectFinding(t, probe(t, rep, "imaps"), Fail, "login", "refused")
	expectFinding(t, probe(t, rep, "pop3s"), Fail, "login", "refused")
	var b strings.Builder
	rep.WriteText(&b)
	rep.WriteJSON(&b)
	if strings.Contains(b.String(), "not-it") {
		t.Error("password in the report")
	}
}

// Dovecot with plaintext login allowed before TLS (the risk the check
// must flag) and an untrusted certificate. (With ssl = required,
// Dovecot's POP3 still lists USER before STLS and refuses it only once
// the password has been sent; the check flags that as well.)
func TestDovecotPlaintextAndUntrusted(t *testing.T) {
	ca := newTestCA(t)
	ports := startDovecot(t, ca, func(conf string) string {
		conf = strings.Replace(conf, "ssl = required", "ssl = yes", 1)
		return strings.Replace(conf, "disable_plaintext_auth = yes", "disable_plaintext_auth = no", 1)
	})
	rep := runCheck(t, dovecotOptions(ports, ca))
	if rep.Verdict != Warn {
		t.Errorf("verdict %v", rep.Verdict)
	}
	expectFinding(t, probe(t, rep, "imap"), Warn, "plaintext-login", "offered before STARTTLS")
	expectFinding(t, probe(t, rep, "pop3"), Warn, "plaintext-login", "offered before STLS")

	other := newTestCA(t)
	rep = runCheck(t, dovecotOptions(ports, other))
	for _, p := range rep.Probes {
		expectFinding(t, p, Fail, "certificate", "issued by postfach test CA, which is not a trusted CA")
	}
	if rep.Verdict != Fail {
		t.Errorf("verdict %v", rep.Verdict)
	}
}

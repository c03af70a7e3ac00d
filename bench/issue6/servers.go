package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postfach/bench/internal/serverproc"
)

// Ports of the servers under test: apart from bench/compare's, so that
// both can run on one machine.
const (
	dovecotIMAPS  = 12993
	postfachIMAPS = 13993
)

// proc is a server running as a child process.
type proc struct {
	*serverproc.Process
	name string
	addr string
}

func (p *proc) stop() {
	if p != nil {
		p.Stop()
	}
}

// start runs cmd with its output in logPath and waits for port.
func start(name string, cmd *exec.Cmd, logPath string, port int) (*proc, error) {
	sp, err := serverproc.Start(cmd, logPath)
	if err != nil {
		return nil, err
	}
	// A store may migrate first.
	if err := sp.WaitPorts(context.Background(), 5*time.Minute, logPath, port); err != nil {
		sp.Stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &proc{Process: sp, name: name, addr: fmt.Sprintf("127.0.0.1:%d", port)}, nil
}

// startPostfach serves dataDir (a copy of the 100k fixture) with the
// binary bin on loopback, IMAPS only.
func startPostfach(bin, dir, dataDir string) (*proc, error) {
	conf := fmt.Sprintf(`# postfach under bench/issue6: the 100k fixture, IMAPS on loopback only.
hostname = "mail.example.org"
data_dir = %q

[listen]
imap = ""
imaps = "127.0.0.1:%d"
pop3 = ""
pop3s = ""
submission = ""
submissions = ""
smtp = ""

[tls]
cert = %q
key = %q

[log]
level = "warn"
`, dataDir, postfachIMAPS, filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem"))
	confPath := filepath.Join(dir, "postfach.toml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return start("postfach", exec.Command(bin, "serve", "--config", confPath), filepath.Join(dir, "postfach.log"), postfachIMAPS)
}

// dovecotFTS is the configuration of the runs with Dovecot's full-text
// index: the Xapian plugin (Debian's dovecot-fts-xapian), indexing every
// word and its substrings of 3 to 20 characters.
const dovecotFTS = `mail_plugins = $mail_plugins fts fts_xapian
plugin {
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = yes
  fts_enforced = yes
}
service indexer-worker {
  vsz_limit = 2G
}
`

// dovecot is a Dovecot configuration under dir, with or without FTS.
type dovecot struct {
	dir, template, user, pass string
	fts                       bool
	mailUser                  *user.User
}

func (d *dovecot) confPath() string { return filepath.Join(d.dir, "dovecot.conf") }

// configure writes dovecot.conf and the passwd-file.
func (d *dovecot) configure() error {
	tmpl, err := os.ReadFile(d.template)
	if err != nil {
		return err
	}
	fts := ""
	if d.fts {
		fts = dovecotFTS
	}
	conf := strings.NewReplacer("@DIR@", d.dir, "@MAILUID@", d.mailUser.Uid, "@MAILGID@", d.mailUser.Gid,
		"@IMAPS_PORT@", strconv.Itoa(dovecotIMAPS), "@FTS@", fts).Replace(string(tmpl))
	for _, sub := range []string{"run", "state", "log"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(d.confPath(), []byte(conf), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.dir, "users"), []byte(d.user+":{PLAIN}"+d.pass+"::::::\n"), 0o644)
}

func (d *dovecot) start() (*proc, error) {
	if err := d.configure(); err != nil {
		return nil, err
	}
	return start("Dovecot", exec.Command("dovecot", "-F", "-c", d.confPath()), filepath.Join(d.dir, "log", "stdout.log"), dovecotIMAPS)
}

// doveadm runs a doveadm command against this configuration.
func (d *dovecot) doveadm(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "doveadm", append([]string{"-c", d.confPath()}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("doveadm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

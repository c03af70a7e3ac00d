package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Ports of the servers under test: apart from bench/compare's, so that
// both can run on one machine.
const (
	dovecotIMAPS  = 12993
	postfachIMAPS = 13993
)

// proc is a server running as a child process.
type proc struct {
	name string
	addr string
	cmd  *exec.Cmd
	done chan error
}

func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// start runs cmd with its output in logPath and waits for port.
func start(name string, cmd *exec.Cmd, logPath string, port int) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logf.Close()
	}()
	deadline := time.Now().Add(5 * time.Minute) // a store may migrate first
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case err := <-p.done:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s exited (%v) before listening:\n%s", name, err, out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s: port %d not open after 5 minutes", name, port)
		}
	}
}

// writeCertificate makes a self-signed ECDSA P-256 certificate both
// servers use.
func writeCertificate(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mail.example.org"},
		DNSNames:     []string{"mail.example.org"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
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

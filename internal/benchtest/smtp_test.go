package benchtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// BenchmarkInbound8Senders: 8 senders each keep one connection and deliver
// 10 KB messages to alice@example.org, one after another, as fast as the
// server acknowledges them, fsync on: every 250 means the message is on
// disk. The client pipelines MAIL, RCPT and DATA (RFC 2920), as MTAs do.
//
//   - smtp: over the MX listener, which also checks SPF, DKIM and DMARC
//     (DNS answered from a zone file) and adds Received and
//     Authentication-Results;
//   - lmtp: over LMTP, as from Postfix in front of postfach;
//   - dovecot-lmtp: the same LMTP load against Dovecot's LMTP (Debian
//     dovecot-lmtpd, Maildir) delivering to its own store on this machine,
//     with Dovecot's default fsync policy and with mail_fsync = always.
//     It runs only as root with Dovecot installed (it needs its mail
//     user), and is skipped otherwise.
//
// Run:
//
//	go test -run '^$' -bench Inbound8Senders -benchtime 4000x ./internal/benchtest/
func BenchmarkInbound8Senders(b *testing.B) {
	for _, proto := range []string{"smtp", "lmtp"} {
		b.Run(proto, func(b *testing.B) {
			env := startInbound(b)
			addr := env.Server.Addr(proto).String()
			runSenders(b, addr, proto == "lmtp")
		})
	}
	for _, fsync := range []string{"", "always"} {
		name := "dovecot-lmtp"
		if fsync != "" {
			name += "-fsync-" + fsync
		}
		b.Run(name, func(b *testing.B) {
			addr := startDovecotLMTP(b, fsync)
			runSenders(b, addr, true)
		})
	}
}

// startInbound starts postfach with fsync and the SMTP listeners; DNS
// comes from an empty zone file.
func startInbound(b *testing.B) *imaptest.Env {
	b.Helper()
	dir := keptDir(b)
	zone := filepath.Join(dir, "zone.txt")
	if err := os.WriteFile(zone, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return imaptest.Start(b, imaptest.Options{
		Sync:    true,
		Users:   []string{"alice@example.org"},
		DataDir: filepath.Join(dir, "data"),
		Configure: func(cfg *config.Config) {
			cfg.Listen.SMTP = "127.0.0.1:0"
			cfg.Listen.LMTP = "127.0.0.1:0"
			cfg.DNS.ZoneFile = zone
		},
	})
}

const inboundSenders = 8

// runSenders is the benchmark loop: b.N messages over inboundSenders
// connections.
func runSenders(b *testing.B, addr string, lmtp bool) {
	conns := make([]*sender, inboundSenders)
	for i := range conns {
		s, err := dialSender(addr, lmtp)
		if err != nil {
			b.Fatal(err)
		}
		defer s.close()
		conns[i] = s
	}
	b.SetBytes(10 << 10)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, inboundSenders)
	cpu := startCPU()
	b.ResetTimer()
	for _, s := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := newStamper()
			for {
				seq := next.Add(1)
				if seq > int64(b.N) {
					return
				}
				if err := s.send(st.stamp(int(seq))); err != nil {
					errs <- fmt.Errorf("message %d: %w", seq, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	cpu.report(b)
}

// sender is one SMTP or LMTP client connection.
type sender struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func dialSender(addr string, lmtp bool) (*sender, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sender{conn: c, br: bufio.NewReader(c), bw: bufio.NewWriterSize(c, 16<<10)}
	if _, err := s.reply("220"); err != nil {
		c.Close()
		return nil, err
	}
	hello := "EHLO"
	if lmtp {
		hello = "LHLO"
	}
	fmt.Fprintf(s.bw, "%s client.example\r\n", hello)
	if err := s.bw.Flush(); err != nil {
		c.Close()
		return nil, err
	}
	ehlo, err := s.reply("250")
	if err != nil || !strings.Contains(ehlo, "PIPELINING") {
		c.Close()
		return nil, fmt.Errorf("%s: %q, %v", hello, ehlo, err)
	}
	return s, nil
}

// send delivers one message (no line of it starts with a dot). LMTP and
// SMTP answer alike for one recipient.
func (s *sender) send(msg []byte) error {
	s.bw.WriteString("MAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
	if err := s.bw.Flush(); err != nil {
		return err
	}
	for _, want := range []string{"250", "250", "354"} {
		if _, err := s.reply(want); err != nil {
			return err
		}
	}
	s.bw.Write(msg)
	s.bw.WriteString(".\r\n")
	if err := s.bw.Flush(); err != nil {
		return err
	}
	_, err := s.reply("250")
	return err
}

// reply reads a reply, all its lines, and checks its code.
func (s *sender) reply(code string) (string, error) {
	var all strings.Builder
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return all.String(), err
		}
		all.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			if !strings.HasPrefix(line, code) {
				return all.String(), fmt.Errorf("reply %q, want %s", all.String(), code)
			}
			return all.String(), nil
		}
	}
}

func (s *sender) close() {
	s.bw.WriteString("QUIT\r\n")
	s.bw.Flush()
	s.conn.Close()
}

// dovecotLMTPConf is a standalone, loopback-only Dovecot 2.3 that only
// delivers over LMTP into Maildir, the way the reference Dovecot of our
// comparisons is set up. mail_fsync is Dovecot's default ("optimized")
// unless the benchmark asks for "always".
const dovecotLMTPConf = `instance_name = postfach-benchtest-dovecot
base_dir = @DIR@/run
state_dir = @DIR@/state
log_path = @DIR@/log/dovecot.log
info_log_path = @DIR@/log/dovecot-info.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = @UID@
mail_gid = @GID@
first_valid_uid = @UID@
last_valid_uid = @UID@
first_valid_gid = @GID@
last_valid_gid = @GID@
mail_location = maildir:@DIR@/mail/%u/Maildir
mail_home = @DIR@/mail/%u
@FSYNC@
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u @DIR@/users
}
userdb {
  driver = passwd-file
  args = username_format=%u @DIR@/users
  default_fields = uid=@UID@ gid=@GID@ home=@DIR@/mail/%u
}
namespace inbox {
  inbox = yes
  separator = /
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = @PORT@
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.org
}
`

// startDovecotLMTP runs Dovecot's LMTP until the benchmark ends and
// returns its address; it skips the benchmark where Dovecot cannot run.
func startDovecotLMTP(b *testing.B, fsync string) string {
	b.Helper()
	const bin = "/usr/sbin/dovecot"
	if _, err := os.Stat(bin); err != nil {
		b.Skip("Dovecot is not installed (Debian dovecot-lmtpd)")
	}
	if os.Geteuid() != 0 {
		b.Skip("Dovecot needs root to run its mail processes as another user")
	}
	mailUser, err := user.Lookup("nobody")
	if err != nil {
		b.Skip(err)
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	// Dovecot's processes run as other users: the directory must be
	// theirs to traverse, outside the test's private temporary tree.
	dir, err := os.MkdirTemp("", "postfach-benchtest-dovecot-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, d := range []string{"run", "state", "log", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "mail"), uid, gid); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte("alice@example.org:{PLAIN}secret::::::\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	fsyncLine := ""
	if fsync != "" {
		fsyncLine = "mail_fsync = " + fsync
	}
	conf := strings.NewReplacer("@DIR@", dir, "@UID@", mailUser.Uid, "@GID@", mailUser.Gid,
		"@PORT@", strconv.Itoa(port), "@FSYNC@", fsyncLine).Replace(dovecotLMTPConf)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log", "dovecot.log"))
			b.Fatalf("dovecot exited: %v\n%s", err, log)
		case <-ctx.Done():
			b.Fatal(errors.Join(ctx.Err(), err))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Package serverproc runs the servers a benchmark measures (postfach and
// Dovecot) as child processes on loopback: it starts one with its output
// in a log file, waits until its ports accept connections and stops it.
// It also makes the self-signed certificate the servers share, so that
// TLS costs them the same.
package serverproc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"postfach/internal/tlsutil"
)

// Process is a server running as a child process.
type Process struct {
	Cmd *exec.Cmd
	// done receives the result of Cmd.Wait once; whoever takes it puts
	// it back, so that Stop and WaitPorts can both see the end.
	done chan error
}

// Start starts cmd with its output in logPath.
func Start(cmd *exec.Cmd, logPath string) (*Process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &Process{Cmd: cmd, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logf.Close()
	}()
	return p, nil
}

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 30 * time.Second

// Stop ends the process with SIGTERM, then SIGKILL after 30 s, and waits
// for it. It does nothing on a nil Process, and returns at once on one
// that ended.
func (p *Process) Stop() {
	if p == nil || p.Cmd == nil || p.Cmd.Process == nil {
		return
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(stopGrace):
		p.Cmd.Process.Kill()
		err = <-p.done
	}
	p.done <- err
}

// WaitPorts waits until every port of 127.0.0.1 in ports accepts
// connections. It fails when the process ends first, with the last
// lines of logPath (the process's output, or a log it writes itself),
// when ctx ends, or when a port is still closed after timeout.
func (p *Process) WaitPorts(ctx context.Context, timeout time.Duration, logPath string, ports ...int) error {
	deadline := time.Now().Add(timeout)
	for _, port := range ports {
		for !Listening(port) {
			select {
			case err := <-p.done:
				p.done <- err
				log, _ := os.ReadFile(logPath)
				return fmt.Errorf("exited (%v) before listening on %d:\n%s", err, port, tail(log, 40))
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("port %d not open after %v", port, timeout)
			}
		}
	}
	return nil
}

// Listening reports whether a port of 127.0.0.1 accepts connections.
func Listening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func tail(b []byte, lines int) string {
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// WriteCertificate writes cert.pem and key.pem to dir: a self-signed
// certificate for mail.example.org, localhost and the loopback addresses,
// made as the server makes its own (tlsutil).
func WriteCertificate(dir string) error {
	certPEM, keyPEM, err := tlsutil.GenerateSelfSigned("mail.example.org")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		return err
	}
	// Dovecot's master reads the key as root, and so does postfach when
	// a comparison runs it as root.
	return os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
}

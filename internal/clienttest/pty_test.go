package clienttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair. mbsync prints its progress
// counters, the only summary of what it transferred, only when standard
// output is a terminal.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("TIOCGPTN: %w", err)
	}
	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("TIOCSPTLCK: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// execOnPTY runs a client with its standard output on a terminal and
// returns what it wrote there and to standard error.
func execOnPTY(timeout time.Duration, dir, name string, args ...string) (tty, stderr string, err error) {
	master, slave, err := openPTY()
	if err != nil {
		return "", "", fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "TERM=dumb"}
	var errBuf bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, slave, &errBuf
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		slave.Close()
		return "", "", err
	}
	slave.Close() // the child holds its own copy
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		// Reading ends with EIO once the child closed its side.
		io.Copy(&out, master)
		close(copied)
	}()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
		master.Close()
		<-copied
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no result after %v: %w", timeout, err)
	}
	return out.String(), errBuf.String(), err
}

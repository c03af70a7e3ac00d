package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockName is the lock file within the data directory.
const LockName = "server.lock"

// ErrLocked is returned by LockDataDir when another process holds the lock.
var ErrLocked = errors.New("sqlite: data directory is locked by another process")

// DirLock is an exclusive lock on a data directory. The server holds it
// for its lifetime; admin commands never take it, so they can run beside
// the server, but they may not collect garbage.
type DirLock struct {
	dir string
	f   *os.File
}

// LockDataDir takes the exclusive lock (flock) on <dir>/server.lock
// without waiting.
func LockDataDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("sqlite: locking %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return &DirLock{dir: abs, f: f}, nil
}

// Close releases the lock.
func (l *DirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

func (l *DirLock) holds(dir string) bool {
	if l == nil || l.f == nil {
		return false
	}
	abs, err := filepath.Abs(dir)
	return err == nil && abs == l.dir
}

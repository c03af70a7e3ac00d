package blob

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// FS is the slice of a file system the blob store uses. Tests wrap it (see
// FaultFS) to make a write, an fsync or a remove fail, as pebble's errorfs
// does for its storage engine.
type FS interface {
	// Create creates a new file for writing; it fails if name exists.
	Create(name string) (File, error)
	// Open opens a file for reading.
	Open(name string) (File, error)
	// OpenDir opens a directory so that it can be synced.
	OpenDir(name string) (File, error)
	Remove(name string) error
	// CreateTemp creates an unnamed file for writing on dir's file
	// system (O_TMPFILE); errors.ErrUnsupported where there are none.
	CreateTemp(dir string) (File, error)
	// Link gives a file from CreateTemp its name (name must not exist),
	// closes f and returns the file opened for writing by that name, so
	// that what is written and synced has a name from the start.
	Link(f File, name string) (File, error)
	MkdirAll(name string, perm fs.FileMode) error
	ReadDir(name string) ([]fs.DirEntry, error)
}

// File is an open file of an FS.
type File interface {
	io.Writer
	io.ReaderAt
	io.Closer
	Sync() error
	Stat() (fs.FileInfo, error)
}

// OSFS returns the operating system's file system.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return dataSyncFile{f}, nil
}

// dataSyncFile syncs with fdatasync(2): the data and the metadata needed
// to read it back (the size), not the timestamps, which on a journaling
// file system can halve the cost of the sync with no loss of what a blob
// needs.
type dataSyncFile struct{ *os.File }

func (f dataSyncFile) Sync() error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// Open opens a file for reading, as a bare descriptor (readfile.go). Its
// Sync is fdatasync(2) too: Dir.Sync makes committed blobs durable through
// such a descriptor, which Linux allows on a file opened read-only.
func (osFS) Open(name string) (File, error) {
	f, err := openRead(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) OpenDir(name string) (File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY, 0)
}

func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error)   { return os.ReadDir(name) }

func (osFS) CreateTemp(dir string) (File, error) {
	f, err := os.OpenFile(dir, os.O_WRONLY|unix.O_TMPFILE, 0o600)
	if err != nil {
		// Kernels and file systems without O_TMPFILE refuse it in one of
		// these ways (open(2)).
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("%w: %w", errors.ErrUnsupported, err)
		}
		return nil, err
	}
	return dataSyncFile{f}, nil
}

func (osFS) Link(f File, name string) (File, error) {
	df, ok := f.(dataSyncFile)
	if !ok {
		f.Close()
		return nil, errors.ErrUnsupported
	}
	defer df.Close()
	fd := int(df.Fd())
	err := unix.Linkat(fd, "", unix.AT_FDCWD, name, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EINVAL) {
		// AT_EMPTY_PATH may need CAP_DAC_READ_SEARCH; the descriptor's
		// /proc link works for anyone (open(2), O_TMPFILE).
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
	}
	if err != nil {
		return nil, &os.LinkError{Op: "link", Old: df.Name(), New: name, Err: err}
	}
	named, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		os.Remove(name)
		return nil, err
	}
	return dataSyncFile{named}, nil
}

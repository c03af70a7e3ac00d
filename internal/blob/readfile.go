package blob

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// readFile is a file opened for reading as a bare descriptor. An *os.File
// would first offer the descriptor to the runtime's poller (which refuses
// regular files, after two fcntl calls to set it non-blocking and two to
// set it back) and attach a finalizer: for the small blobs FETCH and POP3
// read, that costs more than the read itself, once per message. ReadAt is
// pread(2), safe for concurrent use; Close must come after every read has
// returned, as its callers (one FETCH, one RETR, one Sync) ensure.
type readFile struct {
	fd atomic.Int64 // -1 once closed
	// dir and rel make the file's name, for errors: built only then.
	dir, rel string
}

func openRead(name string) (*readFile, error) {
	return openReadAt(unix.AT_FDCWD, "", name)
}

// openReadAt opens rel for reading, relative to the directory dirfd,
// which is dir ("" for the current directory).
func openReadAt(dirfd int, dir, rel string) (*readFile, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Openat(dirfd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	f := &readFile{dir: dir, rel: rel}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: f.name(), Err: err}
	}
	f.fd.Store(int64(fd))
	return f, nil
}

// name is the file's name.
func (f *readFile) name() string {
	if f.dir == "" {
		return f.rel
	}
	return filepath.Join(f.dir, f.rel)
}

func (f *readFile) descriptor(op string) (int, error) {
	fd := f.fd.Load()
	if fd < 0 {
		return -1, &os.PathError{Op: op, Path: f.name(), Err: os.ErrClosed}
	}
	return int(fd), nil
}

// ReadAt reads len(p) bytes at off, or fewer with io.EOF at the end of
// the file, as io.ReaderAt asks.
func (f *readFile) ReadAt(p []byte, off int64) (int, error) {
	fd, err := f.descriptor("read")
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "readat", Path: f.name(), Err: errors.New("negative offset")}
	}
	n := 0
	for n < len(p) {
		m, err := unix.Pread(fd, p[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "read", Path: f.name(), Err: err}
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// Write fails: the file is open for reading only.
func (f *readFile) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: f.name(), Err: unix.EBADF}
}

// Sync is fdatasync(2), which Linux allows on a descriptor opened for
// reading: Dir.Sync makes committed blobs durable through one.
func (f *readFile) Sync() error {
	fd, err := f.descriptor("fdatasync")
	if err != nil {
		return err
	}
	for {
		err := unix.Fdatasync(fd)
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.name(), Err: err}
			}
			return nil
		}
	}
}

func (f *readFile) Stat() (fs.FileInfo, error) {
	st := &fileStat{name: f.rel}
	if err := f.fstat(&st.st); err != nil {
		return nil, err
	}
	return st, nil
}

func (f *readFile) fstat(st *unix.Stat_t) error {
	fd, err := f.descriptor("stat")
	if err != nil {
		return err
	}
	for {
		err = unix.Fstat(fd, st)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "stat", Path: f.name(), Err: err}
	}
	return nil
}

// size is Stat().Size() without a FileInfo to allocate.
func (f *readFile) size() (int64, error) {
	var st unix.Stat_t
	err := f.fstat(&st)
	return st.Size, err
}

// Close closes the descriptor once; later calls fail with os.ErrClosed.
func (f *readFile) Close() error {
	fd := f.fd.Swap(-1)
	if fd < 0 {
		return &os.PathError{Op: "close", Path: f.name(), Err: os.ErrClosed}
	}
	// Not retried on EINTR: Linux releases the descriptor whatever
	// close(2) returns (close(2), "Dealing with error returns").
	if err := unix.Close(int(fd)); err != nil {
		return &os.PathError{Op: "close", Path: f.name(), Err: err}
	}
	return nil
}

// fileStat is what fstat(2) tells of a readFile.
type fileStat struct {
	name string
	st   unix.Stat_t
}

func (s *fileStat) Name() string { return baseName(s.name) }
func (s *fileStat) Size() int64  { return s.st.Size }
func (s *fileStat) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	return m
}
func (s *fileStat) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *fileStat) IsDir() bool        { return s.Mode().IsDir() }
func (s *fileStat) Sys() any           { return &s.st }

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

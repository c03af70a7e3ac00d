package blob

import (
	"io/fs"
	"sync"
)

// Op names an FS operation for fault injection.
type Op uint8

const (
	OpCreate Op = iota + 1
	OpWrite
	OpSync // fsync of a file
	OpSyncDir
	OpRemove
	OpOpen
	OpMkdir
	OpLink
)

func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpWrite:
		return "write"
	case OpSync:
		return "sync"
	case OpSyncDir:
		return "syncdir"
	case OpRemove:
		return "remove"
	case OpOpen:
		return "open"
	case OpMkdir:
		return "mkdir"
	case OpLink:
		return "link"
	}
	return "unknown"
}

// FaultFS wraps an FS and asks Inject before every operation; a non-nil
// error from Inject fails the operation without performing it. It is for
// tests that check what a failed write or fsync leaves behind.
type FaultFS struct {
	FS FS

	mu     sync.Mutex
	inject func(op Op, path string) error
}

// NewFaultFS wraps base; it injects nothing until SetInject is called.
func NewFaultFS(base FS) *FaultFS { return &FaultFS{FS: base} }

// SetInject sets the function consulted before each operation (nil: none).
func (f *FaultFS) SetInject(fn func(op Op, path string) error) {
	f.mu.Lock()
	f.inject = fn
	f.mu.Unlock()
}

func (f *FaultFS) check(op Op, path string) error {
	f.mu.Lock()
	fn := f.inject
	f.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(op, path)
}

func (f *FaultFS) Create(name string) (File, error) {
	if err := f.check(OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, path: name, sync: OpSync}, nil
}

func (f *FaultFS) Open(name string) (File, error) {
	if err := f.check(OpOpen, name); err != nil {
		return nil, err
	}
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, path: name, sync: OpSync}, nil
}

func (f *FaultFS) OpenDir(name string) (File, error) {
	file, err := f.FS.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, path: name, sync: OpSyncDir}, nil
}

func (f *FaultFS) Remove(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

// CreateTemp is checked as OpCreate, with the directory as the path.
func (f *FaultFS) CreateTemp(dir string) (File, error) {
	if err := f.check(OpCreate, dir); err != nil {
		return nil, err
	}
	file, err := f.FS.CreateTemp(dir)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, path: dir, sync: OpSync}, nil
}

func (f *FaultFS) Link(file File, name string) (File, error) {
	if err := f.check(OpLink, name); err != nil {
		file.Close()
		return nil, err
	}
	if ff, ok := file.(*faultFile); ok {
		file = ff.File
	}
	named, err := f.FS.Link(file, name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: named, fs: f, path: name, sync: OpSync}, nil
}

func (f *FaultFS) MkdirAll(name string, perm fs.FileMode) error {
	if err := f.check(OpMkdir, name); err != nil {
		return err
	}
	return f.FS.MkdirAll(name, perm)
}

func (f *FaultFS) ReadDir(name string) ([]fs.DirEntry, error) { return f.FS.ReadDir(name) }

type faultFile struct {
	File
	fs   *FaultFS
	path string
	sync Op
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.path); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.check(f.sync, f.path); err != nil {
		return err
	}
	return f.File.Sync()
}

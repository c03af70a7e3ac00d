package blob

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is a Store in a directory of a file system: one subdirectory per day
// (UTC) of creation, one file per blob.
type Dir struct {
	fs     FS
	root   string
	noSync bool
	now    func() time.Time

	mu    sync.Mutex
	ready map[string]bool // day directories created and made durable

	// dirSyncs shares directory fsyncs among concurrent Syncs.
	dirSyncs dirSyncs

	// bufs keeps the writers' buffers for the next blob.
	bufs sync.Pool // *bufio.Writer
	// spares holds files created ahead of need; nil without
	// DirOptions.Spares.
	spares *spares
	// rootFD is the root directory, open, on the operating system's file
	// system (-1 on others): blobs open relative to it, which spares the
	// kernel the walk from / for every read. It closes when the Dir is
	// garbage, never before: a reader may open a blob after Close.
	rootFD int
}

// DirOptions tune a Dir.
type DirOptions struct {
	// FS is the file system; nil means the operating system's.
	FS FS
	// NoSync skips every fsync. Only for tests and benchmarks that do not
	// check durability.
	NoSync bool
	// Now tells the time (for day directories); nil means time.Now.
	Now func() time.Time
	// Spares is how many files to keep created ahead of need, in the
	// background, for Create to take (see spares); 0 for none. For
	// servers, which append from many sessions at once; the files appear
	// in the spare directory once the first blob is created.
	Spares int
}

// OpenDir returns a Store rooted at root, creating it if needed.
func OpenDir(root string, opts DirOptions) (*Dir, error) {
	d := &Dir{fs: opts.FS, root: root, noSync: opts.NoSync, now: opts.Now, ready: map[string]bool{}}
	d.dirSyncs = dirSyncs{sync: d.syncDir, dirs: map[string]*dirSync{}}
	if d.fs == nil {
		d.fs = OSFS()
	}
	if d.now == nil {
		d.now = time.Now
	}
	if opts.Spares > 0 {
		d.spares = newSpares(d, opts.Spares)
	}
	if err := d.fs.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob: creating %s: %w", root, err)
	}
	spreadSubdirs(root)
	d.rootFD = -1
	if _, ok := d.fs.(osFS); ok {
		fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("blob: opening %s: %w", root, err)
		}
		d.rootFD = fd
		runtime.AddCleanup(d, func(fd int) { unix.Close(fd) }, fd)
	}
	if err := d.syncDir(root); err != nil {
		return nil, err
	}
	if err := d.syncDir(filepath.Dir(root)); err != nil {
		return nil, err
	}
	return d, nil
}

var _ Store = (*Dir)(nil)

// Name shape: "YYYYMMDD/" + 26 characters of lower-case base32 (128 bits).
const (
	dayLen    = 8
	randLen   = 26
	nameLen   = dayLen + 1 + randLen
	base32Set = "abcdefghijklmnopqrstuvwxyz234567"
)

var nameEncoding = base32.NewEncoding(base32Set).WithPadding(base32.NoPadding)

// ValidName reports whether name has the shape of a generated blob name.
func ValidName(name string) bool {
	if len(name) != nameLen || name[dayLen] != '/' {
		return false
	}
	if !validDay(name[:dayLen]) {
		return false
	}
	for i := dayLen + 1; i < nameLen; i++ {
		if strings.IndexByte(base32Set, name[i]) < 0 {
			return false
		}
	}
	return true
}

func validDay(s string) bool {
	if len(s) != dayLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (d *Dir) path(name string) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	return filepath.Join(d.root, name[:dayLen], name[dayLen+1:]), nil
}

func newName(now time.Time) string {
	return now.UTC().Format("20060102") + "/" + randomID(16)
}

// randomID returns n random bytes in lower-case base32.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return nameEncoding.EncodeToString(b)
}

// dayDir creates the directory of day and makes its entry durable, once.
func (d *Dir) dayDir(day string) error {
	d.mu.Lock()
	ok := d.ready[day]
	d.mu.Unlock()
	if ok {
		return nil
	}
	dir := filepath.Join(d.root, day)
	if err := d.fs.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("blob: creating %s: %w", dir, err)
	}
	if err := d.syncDir(d.root); err != nil {
		return err
	}
	d.mu.Lock()
	d.ready[day] = true
	d.mu.Unlock()
	return nil
}

func (d *Dir) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	f, err := d.fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("blob: opening directory %s: %w", dir, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: syncing directory %s: %w", dir, err)
	}
	return nil
}

// createFile creates the file of a new blob at p: a spare given its name
// when one is ready, else a new file.
func (d *Dir) createFile(p string) (File, error) {
	if d.spares != nil {
		if f, ok := d.spares.take(); ok {
			named, err := d.fs.Link(f, p)
			if err == nil {
				return named, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				// Linking does not work here (no /proc, say): stop
				// making spares that cannot be used.
				go d.spares.close()
			}
			// Else the day directory went; creating the file fails the
			// same way, and Create makes the directory again.
		}
	}
	return d.fs.Create(p)
}

// Close stops making spare files and drops the unused ones. Blobs stay
// readable: Close only ends background work.
func (d *Dir) Close() error {
	if d.spares != nil {
		d.spares.close()
	}
	return nil
}

// Create starts a new blob.
func (d *Dir) Create(ctx context.Context) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := newName(d.now())
	if err := d.dayDir(name[:dayLen]); err != nil {
		return nil, err
	}
	p, _ := d.path(name)
	f, err := d.createFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		// Walk removed the day directory after we made it (a day
		// boundary passed); make it again.
		d.mu.Lock()
		delete(d.ready, name[:dayLen])
		d.mu.Unlock()
		if err = d.dayDir(name[:dayLen]); err == nil {
			f, err = d.fs.Create(p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("blob: creating %s: %w", name, err)
	}
	bw, ok := d.bufs.Get().(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(nil, 64<<10)
	}
	bw.Reset(f)
	return &writer{d: d, name: name, path: p, f: f, bw: bw}, nil
}

type writer struct {
	d    *Dir
	name string
	path string
	f    File
	bw   *bufio.Writer
	err  error
	done bool
}

func (w *writer) Name() string { return w.name }

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errors.New("blob: write after commit or abort")
	}
	n, err := w.bw.Write(p)
	if err != nil {
		w.err = fmt.Errorf("blob: writing %s: %w", w.name, err)
		return n, w.err
	}
	return n, nil
}

func (w *writer) Commit() error {
	if w.done {
		return errors.New("blob: commit after commit or abort")
	}
	w.done = true
	err := w.err
	if err == nil {
		if err = w.bw.Flush(); err != nil {
			err = fmt.Errorf("blob: writing %s: %w", w.name, err)
		}
	}
	w.release()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("blob: closing %s: %w", w.name, cerr)
	}
	if err != nil {
		// A failed fsync leaves the page cache in an unknown state; the
		// blob is never used, whatever its content.
		w.d.fs.Remove(w.path)
		return err
	}
	return nil
}

// release returns the buffer for the next blob; the writer is done.
func (w *writer) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		w.d.bufs.Put(w.bw)
		w.bw = nil
	}
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.release()
	w.f.Close()
	if err := w.d.fs.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: removing %s: %w", w.name, err)
	}
	return nil
}

// Open opens a committed blob.
func (d *Dir) Open(ctx context.Context, name string) (Reader, error) {
	f, err := d.openFile(name)
	if err != nil {
		if errors.Is(err, ErrInvalidName) {
			return nil, err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return nil, fmt.Errorf("blob: opening %s: %w", name, err)
	}
	size, err := fileSize(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: stat %s: %w", name, err)
	}
	return &reader{File: f, size: size}, nil
}

func fileSize(f File) (int64, error) {
	if rf, ok := f.(*readFile); ok {
		return rf.size()
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

type reader struct {
	File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// Delete removes a blob; a missing blob is not an error.
func (d *Dir) Delete(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := d.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: removing %s: %w", name, err)
	}
	return nil
}

// maxSyncs bounds the fsyncs one Sync has in flight.
const maxSyncs = 64

// Sync fdatasyncs every named blob and fsyncs the directory of each
// distinct day among them, all concurrently. Every sync is waited for,
// even after one failed: the caller may remove the blobs on error.
//
// Concurrent Syncs share directory fsyncs (dirSyncs): each appender may
// sync its own blob as soon as it is written, and a directory is still
// fsynced about once per fsync's duration, not once per blob.
func (d *Dir) Sync(ctx context.Context, names []string) error {
	if d.noSync || len(names) == 0 {
		return nil
	}
	var days []string
	for _, n := range names {
		if !ValidName(n) {
			return fmt.Errorf("%w: %q", ErrInvalidName, n)
		}
		if day := n[:dayLen]; !slices.Contains(days, day) {
			days = append(days, day)
		}
	}
	// Ask for the directories' fsyncs first: they run beside the files'.
	dirs := make([]<-chan error, len(days))
	for i, day := range days {
		dirs[i] = d.dirSyncs.start(filepath.Join(d.root, day))
	}
	var first error
	if len(names) == 1 {
		// One appender's blob: synced on the caller's goroutine, which
		// spares the scheduler two goroutines' starts and wake-ups.
		first = d.syncFile(names[0])
	} else {
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		sem := make(chan struct{}, maxSyncs)
		for _, n := range names {
			sem <- struct{}{}
			wg.Go(func() {
				err := d.syncFile(n)
				<-sem
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	for _, ch := range dirs {
		if err := <-ch; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// dirSyncs lets concurrent callers share the fsyncs of a directory. A
// caller's entries are made before it asks; it waits for an fsync that
// starts after it asked, and one fsync serves everyone who asked before
// it started. So a directory has at most one fsync running and one
// waiting to start, however many blobs are synced at once.
type dirSyncs struct {
	sync func(dir string) error

	mu   sync.Mutex
	dirs map[string]*dirSync
}

// dirSync is the state of one directory's fsyncs.
type dirSync struct {
	waiting []chan error // for the next fsync
}

// start asks for an fsync of dir that starts from now on (one that runs
// already does not count); the channel delivers its outcome.
func (s *dirSyncs) start(dir string) <-chan error {
	ch := make(chan error, 1)
	s.mu.Lock()
	ds, running := s.dirs[dir]
	if !running {
		ds = &dirSync{}
		s.dirs[dir] = ds
	}
	ds.waiting = append(ds.waiting, ch)
	s.mu.Unlock()
	if !running {
		go s.run(dir, ds)
	}
	return ch
}

// run fsyncs dir for everyone waiting, until no one is.
func (s *dirSyncs) run(dir string, ds *dirSync) {
	for {
		s.mu.Lock()
		waiting := ds.waiting
		ds.waiting = nil
		if len(waiting) == 0 {
			delete(s.dirs, dir)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		err := s.sync(dir)
		for _, ch := range waiting {
			ch <- err
		}
	}
}

// openFile opens the file of the blob called name for reading.
func (d *Dir) openFile(name string) (File, error) {
	if d.rootFD >= 0 {
		if !ValidName(name) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
		// A valid name is a day directory and a file in it.
		f, err := openReadAt(d.rootFD, d.root, name)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return d.fs.Open(p)
}

// syncFile makes a committed blob's content durable.
func (d *Dir) syncFile(name string) error {
	f, err := d.openFile(name)
	if err != nil {
		return fmt.Errorf("blob: opening %s to sync: %w", name, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: syncing %s: %w", name, err)
	}
	return nil
}

// Walk calls fn for every file that has the shape of a blob. Empty day
// directories older than today are removed on the way.
func (d *Dir) Walk(ctx context.Context, fn func(name string, mod time.Time) error) error {
	days, err := d.fs.ReadDir(d.root)
	if err != nil {
		return fmt.Errorf("blob: listing %s: %w", d.root, err)
	}
	today := d.now().UTC().Format("20060102")
	for _, day := range days {
		if !day.IsDir() || !validDay(day.Name()) {
			continue
		}
		dir := filepath.Join(d.root, day.Name())
		files, err := d.fs.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("blob: listing %s: %w", dir, err)
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := day.Name() + "/" + f.Name()
			if !ValidName(name) || !f.Type().IsRegular() {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return fmt.Errorf("blob: stat %s: %w", name, err)
			}
			if err := fn(name, fi.ModTime()); err != nil {
				return err
			}
		}
		if len(files) == 0 && day.Name() < today {
			d.mu.Lock()
			delete(d.ready, day.Name())
			d.mu.Unlock()
			d.fs.Remove(dir) // fails harmlessly if a blob was just created
		}
	}
	return nil
}

package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SpareDirName is the directory, within a Dir's root, of files created
// ahead of need (see DirOptions.Spares). It is not a day directory: Walk
// never lists it.
const SpareDirName = "spare"

// spares creates blob files ahead of need, in one background goroutine.
//
// Creating a file costs an inode allocation, which on ext4 is usually
// tens of microseconds but can take a millisecond of CPU: the allocator
// skips inodes freed in the last half minute or so, one by one, and
// concurrent creates in one directory contend for its block group. A
// server that appends from many sessions at once should not pay that in
// every APPEND. Create renames a spare file into place instead (a
// directory entry change, as creating one is, made durable by the same
// directory fsync in Sync), and falls back to creating one when none is
// ready.
//
// Spares live in root/spare, named <instance>-<n>, where instance is
// random per Dir. Close removes the unused ones; a crash leaves them, and
// RemoveSpares (garbage collection at start) removes those of other
// instances.
type spares struct {
	d        *Dir
	dir      string
	instance string
	ready    chan spare

	start sync.Once
	quit  chan struct{}
	done  chan struct{}
	stop  sync.Once
}

type spare struct {
	path string
	f    File
}

func newSpares(d *Dir, n int) *spares {
	return &spares{
		d:        d,
		dir:      filepath.Join(d.root, SpareDirName),
		instance: randomID(5),
		// The goroutine holds one more, waiting to hand it over.
		ready: make(chan spare, n-1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// take returns a spare file if one is ready; the first call starts the
// goroutine that makes them.
func (s *spares) take() (spare, bool) {
	s.start.Do(func() { go s.run() })
	select {
	case sp := <-s.ready:
		return sp, true
	default:
		return spare{}, false
	}
}

func (s *spares) run() {
	defer close(s.done)
	if err := s.d.fs.MkdirAll(s.dir, 0o700); err != nil {
		return // Create falls back to creating files itself
	}
	var delay time.Duration
	for n := 0; ; n++ {
		path := filepath.Join(s.dir, s.instance+"-"+strconv.Itoa(n))
		f, err := s.d.fs.Create(path)
		if err != nil {
			// Out of inodes or descriptors, say: try again later, and
			// let Create report the error meanwhile.
			delay = min(max(2*delay, 10*time.Millisecond), time.Second)
			select {
			case <-s.quit:
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		select {
		case s.ready <- spare{path, f}:
		case <-s.quit:
			f.Close()
			s.d.fs.Remove(path)
			return
		}
	}
}

// close stops the goroutine and removes the unused spares.
func (s *spares) close() {
	s.stop.Do(func() {
		close(s.quit)
		s.start.Do(func() { close(s.done) }) // never started
		<-s.done
		for {
			select {
			case sp := <-s.ready:
				sp.f.Close()
				s.d.fs.Remove(sp.path)
			default:
				return
			}
		}
	})
}

// RemoveSpares removes spare files left by other instances (a crashed
// process) and returns how many. Only the process that collects garbage
// may call it; a spare it removes under another live process makes that
// process create a file instead.
func (d *Dir) RemoveSpares() (int, error) {
	entries, err := d.fs.ReadDir(filepath.Join(d.root, SpareDirName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("blob: listing spares: %w", err)
	}
	n := 0
	for _, e := range entries {
		if d.spares != nil && strings.HasPrefix(e.Name(), d.spares.instance+"-") {
			continue
		}
		err := d.fs.Remove(filepath.Join(d.root, SpareDirName, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("blob: removing spare %s: %w", e.Name(), err)
		}
		n++
	}
	return n, nil
}

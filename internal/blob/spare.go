package blob

import (
	"errors"
	"path/filepath"
	"sync"
	"time"
)

// spares creates blob files ahead of need, in one background goroutine.
//
// Creating a file costs an inode allocation, which on ext4 is usually
// tens of microseconds but can take a millisecond of CPU: without a
// journal, the allocator skips the inodes freed in the last seconds to
// minutes one by one, with a buffer cache lookup each (recently_deleted in
// find_inode_bit), and it does so holding the directory's lock, so that
// concurrent creates in one directory wait for each other. A server that
// appends from many sessions at once should not pay that in every APPEND.
//
// A spare is an unnamed file (O_TMPFILE) in root/spare: making one
// locks no directory, and a crash leaves nothing to collect (with a
// journal the kernel frees it at mount; without one, e2fsck does, and it
// holds no data). Create gives a spare its name with one link into the
// day directory, a directory entry change as creating the file is, made
// durable by the same directory fsync in Sync; it creates a file itself
// when no spare is ready or the file system has no unnamed files.
// SpareDirName is the directory, in the blob root, where spare files are
// made. It has no entries: spares are unnamed until Create links them into
// a day directory. Walk does not list it.
const SpareDirName = "spare"

type spares struct {
	d     *Dir
	ready chan File

	start sync.Once
	quit  chan struct{}
	done  chan struct{}
	stop  sync.Once
}

func newSpares(d *Dir, n int) *spares {
	return &spares{
		d: d,
		// The goroutine holds one more, waiting to hand it over.
		ready: make(chan File, n-1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// take returns a spare file if one is ready; the first call starts the
// goroutine that makes them.
func (s *spares) take() (File, bool) {
	s.start.Do(func() { go s.run() })
	select {
	case f := <-s.ready:
		return f, true
	default:
		return nil, false
	}
}

func (s *spares) run() {
	defer close(s.done)
	// Unnamed files are made in a directory of their own, which the blob
	// root's Orlov hint (spreadSubdirs) places in a block group of its
	// own: the inodes come from there.
	dir := filepath.Join(s.d.root, SpareDirName)
	if err := s.d.fs.MkdirAll(dir, 0o700); err != nil {
		return // Create makes every file itself
	}
	var delay time.Duration
	for {
		f, err := s.d.fs.CreateTemp(dir)
		if errors.Is(err, errors.ErrUnsupported) {
			return // Create makes every file itself
		}
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
		case s.ready <- f:
		case <-s.quit:
			f.Close()
			return
		}
	}
}

// close stops the goroutine and drops the unused spares.
func (s *spares) close() {
	s.stop.Do(func() {
		close(s.quit)
		s.start.Do(func() { close(s.done) }) // never started
		<-s.done
		for {
			select {
			case f := <-s.ready:
				f.Close()
			default:
				return
			}
		}
	})
}

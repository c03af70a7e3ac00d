package blob

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SpareDirName is the directory, in the blob root, where spare files are
// made. It has no entries: spares are unnamed until Create links them into
// a day directory. Walk does not list it. Directories made after a move
// are named SpareDirName + "." + a number.
const SpareDirName = "spare"

const (
	// spareWindow is how many creations are timed together.
	spareWindow = 32
	// spareCostly is the median time of a window's creations above which
	// the spare directory moves: several times an allocation in a block
	// group without freed inodes to skip, a fraction of one with many.
	spareCostly = 250 * time.Microsecond
	// spareMaxWindows bounds the windows between moves when moving does
	// not help (a file system slow everywhere): the wait doubles after each
	// move that did not, up to this many windows.
	spareMaxWindows = 64
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
//
// The inodes of blobs come from the spare directory's block group, and
// return there when the blobs are deleted: after a mass deletion (a large
// mailbox deleted, a day's expunges collected), every spare made in that
// group costs a scan over the freed inodes, a millisecond of CPU or more
// each for the next half minute (measured on ext4 without a journal: 47 µs
// per file before 20,000 deletions, 1 ms after; 30 µs in a new
// directory). So the goroutine times its creations, and when they become
// costly it moves to a new directory, which the blob root's Orlov hint
// (spreadSubdirs) places in another block group.
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
	s.removeMoved()
	dir := filepath.Join(s.d.root, SpareDirName)
	if err := s.d.fs.MkdirAll(dir, 0o700); err != nil {
		return // Create makes every file itself
	}
	var (
		delay time.Duration
		meter allocMeter
		moves int
	)
	for {
		start := time.Now()
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
		if meter.add(time.Since(start)) {
			moves++
			if next, ok := s.move(dir, moves); ok {
				dir = next
			}
		}
		select {
		case s.ready <- f:
		case <-s.quit:
			f.Close()
			return
		}
	}
}

// move makes the n-th new spare directory and removes old, which has no
// entries. It keeps old if the new one cannot be made.
func (s *spares) move(old string, n int) (string, bool) {
	dir := filepath.Join(s.d.root, SpareDirName+"."+strconv.Itoa(n))
	if err := s.d.fs.MkdirAll(dir, 0o700); err != nil {
		return old, false
	}
	s.d.fs.Remove(old) // fails harmlessly if something put a file there
	return dir, true
}

// removeMoved removes the spare directories a previous process moved to.
func (s *spares) removeMoved() {
	entries, err := s.d.fs.ReadDir(s.d.root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), SpareDirName+".") {
			s.d.fs.Remove(filepath.Join(s.d.root, e.Name()))
		}
	}
}

// allocMeter times spare creations in windows of spareWindow and says when
// the spare directory should move. The median is robust against the
// scheduler: a creation on a busy machine can wait for a core, but not
// most of a window's.
type allocMeter struct {
	times []time.Duration
	// skip is how many windows to let pass before the next move;
	// patience doubles after each move that did not make creation cheap.
	skip, patience int
}

// add records one creation; it reports whether to move now.
func (m *allocMeter) add(d time.Duration) bool {
	m.times = append(m.times, d)
	if len(m.times) < spareWindow {
		return false
	}
	slices.Sort(m.times)
	costly := m.times[len(m.times)/2] > spareCostly
	m.times = m.times[:0]
	switch {
	case !costly:
		m.skip, m.patience = 0, 0
		return false
	case m.skip > 0:
		m.skip--
		return false
	}
	m.patience = min(max(2*m.patience, 1), spareMaxWindows)
	m.skip = m.patience - 1
	return true
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

package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// opLog records the operations of a FaultFS.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) record(op Op, path string) error {
	l.mu.Lock()
	l.ops = append(l.ops, op.String()+" "+path)
	l.mu.Unlock()
	return nil
}

func (l *opLog) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.ops {
		if len(o) >= len(prefix) && o[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func (l *opLog) countExact(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.ops {
		if o == op {
			n++
		}
	}
	return n
}

func (l *opLog) reset() {
	l.mu.Lock()
	l.ops = nil
	l.mu.Unlock()
}

func filesUnder(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// TestSpares: once the pool is full, blobs are spare files given names
// (no file is created by name); they read back; spares never show up as
// files; Close drops them.
func TestSpares(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "blobs")
	log := &opLog{}
	ffs := NewFaultFS(OSFS())
	ffs.SetInject(log.record)
	d, err := OpenDir(root, DirOptions{FS: ffs, Spares: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ffs.FS.CreateTemp(t.TempDir()); errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no O_TMPFILE here")
	}
	want := map[string][]byte{}
	add := func(i int) {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, 100*i+1)
		want[writeBlob(t, d, data)] = data
	}
	add(0) // starts the pool
	deadline := time.Now().Add(10 * time.Second)
	spareDir := filepath.Join(root, SpareDirName)
	for log.countExact("create "+spareDir) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d spares made, want 4", log.countExact("create "+spareDir))
		}
		time.Sleep(time.Millisecond)
	}
	log.reset()
	for i := 1; i <= 4; i++ {
		add(i)
	}
	if n := log.count("link "); n != 4 {
		t.Errorf("%d blobs linked from spares, want 4: %v", n, log.ops)
	}
	for range 20 {
		add(len(want))
	}
	if n := filesUnder(t, root); n != len(want) {
		t.Errorf("%d files under the root, %d blobs", n, len(want))
	}
	for name, data := range want {
		r, err := d.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes, want %d (%v)", name, len(got), len(data), err)
		}
	}
	walked := 0
	if err := d.Walk(ctx, func(name string, _ time.Time) error {
		if _, ok := want[name]; !ok {
			t.Errorf("Walk: unexpected %s", name)
		}
		walked++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if walked != len(want) {
		t.Errorf("Walk listed %d blobs, want %d", walked, len(want))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// A closed Dir still creates blobs, by name.
	log.reset()
	add(99)
	if n := log.count("link "); n != 0 {
		t.Errorf("blob linked from a spare after Close")
	}
}

// TestSparesLinkFails: when giving a spare its name fails, Create makes
// the file itself and the blob is fine.
func TestSparesLinkFails(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	ffs := NewFaultFS(OSFS())
	d, err := OpenDir(root, DirOptions{FS: ffs, Spares: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ffs.SetInject(func(op Op, path string) error {
		if op == OpLink {
			return errors.New("injected: no links here")
		}
		return nil
	})
	for i := range 10 {
		writeBlob(t, d, []byte{byte(i)})
		time.Sleep(time.Millisecond)
	}
	if n := filesUnder(t, root); n != 10 {
		t.Fatalf("%d files, want 10 blobs", n)
	}
}

// TestAllocMeter: a window whose median creation is costly moves the spare
// directory; while moving does not help, moves come after 1, 2, 4, ...
// costly windows; a cheap window starts over.
func TestAllocMeter(t *testing.T) {
	const (
		cheap  = 'c' // a window of cheap creations
		costly = 'C' // a window of costly ones
		mixed  = 'm' // a window of 60% cheap, 40% costly creations
		spiky  = 's' // a window of 60% costly, 40% cheap
	)
	for _, tc := range []struct {
		windows string
		moves   string // '1' where a window ends in a move
	}{
		{"cccc", "0000"},
		{"C", "1"},
		{"mmmm", "0000"},
		{"ssss", "1101"},
		{"CCCCCCCCC", "110100010"},
		{"CCcCCcC", "1101101"},
		{"cCcCcC", "010101"},
	} {
		t.Run(tc.windows, func(t *testing.T) {
			var m allocMeter
			var got strings.Builder
			for _, w := range tc.windows {
				moved := false
				for i := range spareWindow {
					d := 40 * time.Microsecond
					switch {
					case w == costly,
						w == mixed && i%5 >= 3,
						w == spiky && i%5 < 3:
						d = 2 * time.Millisecond
					}
					if m.add(d) {
						if i != spareWindow-1 || moved {
							t.Fatalf("move at creation %d of a window", i)
						}
						moved = true
					}
				}
				if moved {
					got.WriteByte('1')
				} else {
					got.WriteByte('0')
				}
			}
			if got.String() != tc.moves {
				t.Errorf("moves %s, want %s", got.String(), tc.moves)
			}
		})
	}
}

// TestSparesMove: when creating spares in their directory becomes
// costly, the goroutine makes them in a new directory and removes the old
// one; blobs are linked from spares all the while. A new Dir removes the
// directories an earlier one moved to.
func TestSparesMove(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	ffs := NewFaultFS(OSFS())
	if _, err := ffs.FS.CreateTemp(t.TempDir()); errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no O_TMPFILE here")
	}
	first := filepath.Join(root, SpareDirName)
	log := &opLog{}
	ffs.SetInject(func(op Op, path string) error {
		if op == OpCreate && path == first {
			// An allocator that skips many freed inodes here.
			time.Sleep(2 * spareCostly)
		}
		return log.record(op, path)
	})
	d, err := OpenDir(root, DirOptions{FS: ffs, Spares: 4})
	if err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(root, SpareDirName+".1")
	blobs := 0
	deadline := time.Now().Add(20 * time.Second)
	for log.countExact("create "+moved) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no spares made in %s after %d in %s", moved, log.countExact("create "+first), first)
		}
		writeBlob(t, d, []byte{byte(blobs)})
		blobs++
	}
	if n := log.countExact("create " + first); n < spareWindow {
		t.Errorf("moved after %d creations, want a window of %d", n, spareWindow)
	}
	if _, err := os.Stat(first); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old spare directory still there: %v", err)
	}
	// Use up the spares made before the move, and let the pool fill
	// from the new directory.
	for range 4 {
		writeBlob(t, d, []byte{byte(blobs)})
		blobs++
	}
	for len(d.spares.ready) < cap(d.spares.ready) {
		if time.Now().After(deadline) {
			t.Fatalf("%d spares ready after the move, want %d", len(d.spares.ready), cap(d.spares.ready))
		}
		time.Sleep(time.Millisecond)
	}
	log.reset()
	for range cap(d.spares.ready) {
		writeBlob(t, d, []byte{byte(blobs)})
		blobs++
	}
	if n := log.count("link "); n != cap(d.spares.ready) {
		t.Errorf("%d blobs linked from spares after the move, want %d: %v", n, cap(d.spares.ready), log.ops)
	}
	if n := log.countExact("create " + first); n != 0 {
		t.Errorf("%d spares made in the old directory after the move", n)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := filesUnder(t, root); n != blobs {
		t.Errorf("%d files under the root, want %d blobs", n, blobs)
	}

	// A process that had moved twice left spare.2 behind.
	stale := filepath.Join(root, SpareDirName+".2")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	ffs.SetInject(nil)
	d, err = OpenDir(root, DirOptions{FS: ffs, Spares: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	writeBlob(t, d, []byte("start the spares again"))
	for {
		_, err1 := os.Stat(moved)
		_, err2 := os.Stat(stale)
		_, err3 := os.Stat(first)
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) && err3 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spare directories of an earlier process left (%v, %v), or none made (%v)", err1, err2, err3)
		}
		time.Sleep(time.Millisecond)
	}
}

package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
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

package blob

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDirSyncsWaitForALaterSync: a Sync that asks while its directory's
// fsync is running waits for another fsync, which starts after that one:
// the running one may have started before the caller's entries were made.
func TestDirSyncsWaitForALaterSync(t *testing.T) {
	var calls atomic.Int32
	started := make(chan int32, 4)
	release := make(chan struct{})
	s := dirSyncs{dirs: map[string]*dirSync{}, sync: func(dir string) error {
		n := calls.Add(1)
		started <- n
		<-release
		return nil
	}}
	first := make(chan error, 1)
	go func() { first <- <-s.start("d") }()
	if n := <-started; n != 1 {
		t.Fatalf("fsync %d started first", n)
	}
	second := make(chan error, 1)
	go func() { second <- <-s.start("d") }()
	// Let the second caller register behind the running fsync.
	for {
		s.mu.Lock()
		n := len(s.dirs["d"].waiting)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		t.Fatalf("second caller returned (%v) without an fsync that started after it asked", err)
	case n := <-started:
		if n != 2 {
			t.Fatalf("fsync %d started second", n)
		}
	}
	release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.dirs) != 0 {
		t.Errorf("state kept for idle directories: %v", s.dirs)
	}
}

// TestDirSyncsShared: many callers at once share a few fsyncs; an fsync's
// error goes to every caller it served; directories are synced apart.
func TestDirSyncsShared(t *testing.T) {
	injected := errors.New("injected fsync failure")
	var mu sync.Mutex
	calls := map[string]int{}
	s := dirSyncs{dirs: map[string]*dirSync{}, sync: func(dir string) error {
		mu.Lock()
		calls[dir]++
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		if dir == "bad" {
			return injected
		}
		return nil
	}}
	const callers = 40
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		dir := "good"
		if i%4 == 0 {
			dir = "bad"
		}
		wg.Go(func() { errs[i] = <-s.start(dir) })
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%4 == 0; errors.Is(err, injected) != want || (!want && err != nil) {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for dir, n := range calls {
		// The first fsync, and one for everyone who came during it;
		// a slow machine may start goroutines late enough for a third.
		if n < 1 || n > 3 {
			t.Errorf("%s: %d fsyncs for %d callers", dir, n, callers)
		}
	}
}

// TestSyncConcurrent: blobs synced by concurrent Syncs, as appenders do,
// each have their file synced once and share their directory's fsyncs.
func TestSyncConcurrent(t *testing.T) {
	ctx := context.Background()
	ffs := NewFaultFS(OSFS())
	d, root := openTest(t, ffs)
	var names []string
	for i := range 32 {
		w, err := d.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte{byte(i)})
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		names = append(names, w.Name())
	}
	var mu sync.Mutex
	synced := map[string]int{}
	ffs.SetInject(func(op Op, path string) error {
		if op == OpSync || op == OpSyncDir {
			mu.Lock()
			synced[op.String()+" "+path]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	})
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() {
			if err := d.Sync(ctx, []string{n}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, n := range names {
		if k := "sync " + filepath.Join(root, n); synced[k] != 1 {
			t.Errorf("%s synced %d times", k, synced[k])
		}
	}
	dirs := synced["syncdir "+filepath.Join(root, names[0][:dayLen])]
	if dirs < 1 || dirs > len(names)/2 {
		t.Errorf("day directory synced %d times for %d concurrent Syncs", dirs, len(names))
	}
}

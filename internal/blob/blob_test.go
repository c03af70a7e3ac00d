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

func openTest(t testing.TB, fsys FS) (*Dir, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := OpenDir(root, DirOptions{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	return d, root
}

func writeBlob(t *testing.T, d *Dir, data []byte) string {
	t.Helper()
	w, err := d.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(context.Background(), []string{w.Name()}); err != nil {
		t.Fatal(err)
	}
	return w.Name()
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, root := openTest(t, nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // larger than the write buffer
	name := writeBlob(t, d, data)
	if !ValidName(name) {
		t.Fatalf("generated name %q is not valid", name)
	}
	if _, err := os.Stat(filepath.Join(root, name)); err != nil {
		t.Fatalf("blob file: %v", err)
	}
	r, err := d.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", r.Size(), len(data))
	}
	got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, err %v", len(got), err)
	}
	r.Close()

	if err := d.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open after delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, name); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
}

func TestNamesUnique(t *testing.T) {
	d, _ := openTest(t, nil)
	seen := map[string]bool{}
	for range 100 {
		n := writeBlob(t, d, []byte("x"))
		if seen[n] {
			t.Fatalf("name %q generated twice", n)
		}
		seen[n] = true
	}
}

func TestAbort(t *testing.T) {
	d, root := openTest(t, nil)
	w, err := d.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, w.Name())); !os.IsNotExist(err) {
		t.Fatalf("aborted blob still exists: %v", err)
	}
	if err := w.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
}

func TestInvalidNames(t *testing.T) {
	ctx := context.Background()
	d, _ := openTest(t, nil)
	for _, name := range []string{
		"", "../etc/passwd", "20250101/../../x", "/etc/passwd",
		"20250101/AAAAAAAAAAAAAAAAAAAAAAAAAA", // upper case
		"20250101/aaaaaaaaaaaaaaaaaaaaaaaaa",  // short
		"2025010a/aaaaaaaaaaaaaaaaaaaaaaaaaa",
		"20250101\\aaaaaaaaaaaaaaaaaaaaaaaaaa",
		"20250101/aaaaaaaaaaaaaaaaaaaaaaaaa1", // '1' is not base32
	} {
		if ValidName(name) {
			t.Errorf("ValidName(%q) = true", name)
		}
		if _, err := d.Open(ctx, name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Open(%q): %v, want ErrInvalidName", name, err)
		}
		if err := d.Delete(ctx, name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Delete(%q): %v, want ErrInvalidName", name, err)
		}
	}
}

func TestFaults(t *testing.T) {
	injected := errors.New("injected")
	for _, tc := range []struct {
		op        Op
		atCommit  bool // the error shows at Commit rather than Write
		atCreate  bool
		syncNames bool // error shows at Sync
	}{
		{op: OpCreate, atCreate: true},
		{op: OpWrite, atCommit: true},
		{op: OpSync, syncNames: true},
		{op: OpSyncDir, syncNames: true},
	} {
		t.Run(tc.op.String(), func(t *testing.T) {
			ctx := context.Background()
			ffs := NewFaultFS(OSFS())
			d, root := openTest(t, ffs)
			// Make the day directory before injecting, so that only the
			// operation under test fails.
			writeBlob(t, d, []byte("warm up"))
			ffs.SetInject(func(op Op, path string) error {
				if op == tc.op {
					return injected
				}
				return nil
			})
			w, err := d.Create(ctx)
			if tc.atCreate {
				if !errors.Is(err, injected) {
					t.Fatalf("Create: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w.Write(bytes.Repeat([]byte("y"), 100))
			err = w.Commit()
			if tc.atCommit {
				if !errors.Is(err, injected) {
					t.Fatalf("Commit: %v, want injected error", err)
				}
				if _, err := os.Stat(filepath.Join(root, w.Name())); !os.IsNotExist(err) {
					t.Fatalf("failed blob left behind: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Sync(ctx, []string{w.Name()}); !errors.Is(err, injected) {
				t.Fatalf("Sync: %v, want injected error", err)
			}
		})
	}
}

// TestSyncCoversFilesAndDirs: Commit syncs nothing; Sync syncs every named
// blob once and each of their directories once.
func TestSyncCoversFilesAndDirs(t *testing.T) {
	ctx := context.Background()
	ffs := NewFaultFS(OSFS())
	now := time.Date(2025, 3, 1, 23, 0, 0, 0, time.UTC)
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := OpenDir(root, DirOptions{FS: ffs, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	synced := map[string]int{}
	ffs.SetInject(func(op Op, path string) error {
		if op == OpSync || op == OpSyncDir {
			mu.Lock()
			synced[op.String()+" "+path]++
			mu.Unlock()
		}
		return nil
	})
	var names []string
	for i := range 10 {
		if i == 5 {
			now = now.Add(2 * time.Hour) // the next day
		}
		w, err := d.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("blob"))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		names = append(names, w.Name())
	}
	mu.Lock()
	for k := range synced {
		if strings.HasPrefix(k, "sync ") {
			t.Errorf("Commit synced: %s", k)
		}
	}
	clear(synced)
	mu.Unlock()
	if err := d.Sync(ctx, names); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, n := range names {
		want["sync "+filepath.Join(root, n)] = 1
		want["syncdir "+filepath.Join(root, n[:8])] = 1
	}
	if len(want) != 12 {
		t.Fatalf("test blobs span %d entries, want 10 files in 2 days", len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range want {
		if synced[k] != n {
			t.Errorf("%s: synced %d times, want %d", k, synced[k], n)
		}
	}
	for k := range synced {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s", k)
		}
	}
}

func TestWalk(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := OpenDir(root, DirOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a := writeBlob(t, d, []byte("a"))
	now = now.Add(24 * time.Hour)
	b := writeBlob(t, d, []byte("b"))
	if a[:8] == b[:8] {
		t.Fatalf("blobs of different days share directory: %s %s", a, b)
	}
	// Stray files are not blobs.
	os.WriteFile(filepath.Join(root, b[:8], "notablob"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(root, "README"), []byte("x"), 0o600)

	var got []string
	err = d.Walk(ctx, func(name string, mod time.Time) error {
		got = append(got, name)
		if mod.IsZero() {
			t.Errorf("zero mod time for %s", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != a+","+b {
		t.Fatalf("walk: %v, want %s,%s", got, a, b)
	}

	// An emptied past day directory is removed by the next walk.
	d.Delete(ctx, a)
	if err := d.Walk(ctx, func(string, time.Time) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, a[:8])); !os.IsNotExist(err) {
		t.Fatalf("empty day directory kept: %v", err)
	}
	// And a new blob of that day recreates it.
	now = now.Add(-24 * time.Hour)
	writeBlob(t, d, []byte("again"))
}

func FuzzValidName(f *testing.F) {
	f.Add("20250101/aaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("../x")
	f.Fuzz(func(t *testing.T, name string) {
		if !ValidName(name) {
			return
		}
		p := filepath.Join("/root", name[:8], name[9:])
		if !strings.HasPrefix(p, "/root/") || filepath.Clean(p) != p || strings.Count(p, "/") != 3 {
			t.Fatalf("valid name %q maps to %q", name, p)
		}
	})
}

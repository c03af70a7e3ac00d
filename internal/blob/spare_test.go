package blob

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func spareFiles(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, SpareDirName))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// waitSpares waits until the spare directory holds n files.
func waitSpares(t *testing.T, root string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(spareFiles(t, root)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d spare files, want %d", len(spareFiles(t, root)), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSpares: blobs made from spare files read back, Walk lists them and
// not the spares, and Close removes the unused spares.
func TestSpares(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := OpenDir(root, DirOptions{Spares: 4})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(spareFiles(t, root)); n != 0 {
		t.Fatalf("%d spares before the first blob", n)
	}
	want := map[string][]byte{}
	for i := range 30 {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, 100*i+1)
		name := writeBlob(t, d, data)
		want[name] = data
		if i == 0 {
			// The second blob on takes a spare.
			waitSpares(t, root, 4)
		}
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
	waitSpares(t, root, 4)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if names := spareFiles(t, root); len(names) != 0 {
		t.Fatalf("spares left after Close: %v", names)
	}
	// A closed Dir still creates blobs, without spares.
	writeBlob(t, d, []byte("after close"))
	if names := spareFiles(t, root); len(names) != 0 {
		t.Fatalf("spares made after Close: %v", names)
	}
}

// TestRemoveSpares: garbage collection removes the spares of other
// instances only, and a Dir whose spares were removed under it creates
// files itself.
func TestRemoveSpares(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	crashed, err := OpenDir(root, DirOptions{Spares: 3})
	if err != nil {
		t.Fatal(err)
	}
	writeBlob(t, crashed, []byte("x"))
	waitSpares(t, root, 3)
	// crashed is never closed: its spares stay, as after kill -9.

	live, err := OpenDir(root, DirOptions{Spares: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	writeBlob(t, live, []byte("y"))
	waitSpares(t, root, 5)
	n, err := live.RemoveSpares()
	if err != nil || n != 3 {
		t.Fatalf("RemoveSpares: %d, %v; want the other instance's 3", n, err)
	}
	if got := spareFiles(t, root); len(got) != 2 {
		t.Fatalf("spares after RemoveSpares: %v, want live's 2", got)
	}
	// Now remove live's spares as another process's collection would.
	other, err := OpenDir(root, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := other.RemoveSpares(); err != nil || n != 2 {
		t.Fatalf("RemoveSpares from a Dir without spares: %d, %v", n, err)
	}
	for range 5 {
		writeBlob(t, live, []byte("z"))
	}
}

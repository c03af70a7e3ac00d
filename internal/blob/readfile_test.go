package blob

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := []byte("0123456789")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OSFS().Open(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		off  int64
		n    int
		want string
		err  error
	}{
		{0, 10, "0123456789", nil},
		{3, 4, "3456", nil},
		{8, 4, "89", io.EOF}, // short read at the end: io.EOF
		{10, 1, "", io.EOF},
		{20, 1, "", io.EOF},
		{0, 0, "", nil},
	} {
		buf := make([]byte, tc.n)
		n, err := f.ReadAt(buf, tc.off)
		if string(buf[:n]) != tc.want || !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("ReadAt(%d bytes at %d) = %q, %v; want %q, %v", tc.n, tc.off, buf[:n], err, tc.want, tc.err)
		}
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at a negative offset succeeded")
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != 10 || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || fi.Name() != "f" {
		t.Fatalf("Stat: %v, %v", fi, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync of a file open for reading: %v", err)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("Write to a file open for reading succeeded")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v, want os.ErrClosed", err)
	}
	if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadAt after Close: %v, want os.ErrClosed", err)
	}
	if _, err := OSFS().Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// BenchmarkOpenRead opens a small blob, reads it and closes it, as FETCH
// does for each message.
func BenchmarkOpenRead(b *testing.B) {
	d, _ := openTest(b, nil)
	data := make([]byte, 11<<10)
	w, err := d.Create(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	w.Write(data)
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, len(data))
	b.ReportAllocs()
	for b.Loop() {
		r, err := d.Open(b.Context(), w.Name())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadAt(buf, 0); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// TestOpenAfterClose: Close ends background work only; blobs stay
// readable, through the root directory the Dir holds open.
func TestOpenAfterClose(t *testing.T) {
	d, _ := openTest(t, nil)
	name := writeBlob(t, d, []byte("still here"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := d.Open(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil || string(buf) != "still here" {
		t.Fatalf("%q, %v", buf, err)
	}
}

package blob

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

func fsFlags(t *testing.T, dir string) (int32, bool) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flags int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), 0x80086601, uintptr(unsafe.Pointer(&flags)))
	return flags, e == 0
}

// TestSpreadSubdirs: where the file system keeps the flag (ext4), the blob
// root is marked as a top directory.
func TestSpreadSubdirs(t *testing.T) {
	probe := t.TempDir()
	spreadSubdirs(probe)
	if flags, ok := fsFlags(t, probe); !ok || flags&0x00020000 == 0 {
		t.Skip("the file system of the temporary directory keeps no FS_TOPDIR_FL")
	}
	root := filepath.Join(t.TempDir(), "blobs")
	if _, err := OpenDir(root, DirOptions{}); err != nil {
		t.Fatal(err)
	}
	if flags, _ := fsFlags(t, root); flags&0x00020000 == 0 {
		t.Fatalf("blob root flags %#x lack FS_TOPDIR_FL", flags)
	}
}

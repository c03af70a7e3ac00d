package blob

import (
	"os"
	"syscall"
	"unsafe"
)

// spreadSubdirs marks dir as the top of a directory hierarchy for ext4's
// Orlov allocator (the T attribute of chattr(1)): each new subdirectory
// then goes to a block group with plenty of free inodes, not to dir's own.
// The blob root gets it so that its day directories, and the directory
// spare files are made in, land away from inodes freed in bulk elsewhere:
// ext4 without a journal skips, one by one, the inodes freed in the last
// seconds to minutes in the group it allocates from (see spares), and the
// data directory may share its group with busy temporary files. Best
// effort: other file systems refuse the flag, and nothing depends on it.
func spreadSubdirs(dir string) {
	const (
		getFlags = 0x80086601 // FS_IOC_GETFLAGS
		setFlags = 0x40086602 // FS_IOC_SETFLAGS
		topDir   = 0x00020000 // FS_TOPDIR_FL
	)
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	defer f.Close()
	var flags int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), getFlags, uintptr(unsafe.Pointer(&flags))); e != 0 || flags&topDir != 0 {
		return
	}
	flags |= topDir
	syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), setFlags, uintptr(unsafe.Pointer(&flags)))
}

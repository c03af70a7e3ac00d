package imap

import (
	"net"
	"syscall"
)

// waitReadable returns once conn has data to read, or its read deadline
// passed, or it failed: whatever the next read will find. It waits in the
// runtime's poller with a one-octet peek, not in a read: on the few frames
// of the session's waiting goroutine (session.run), with no buffer.
func waitReadable(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, the end of the stream or an error: the read will tell.
		return err != syscall.EAGAIN
	})
}

//go:build !linux

package imap

import "net"

// waitReadable does not wait where a peek at the socket is not available:
// the session's work goroutine then waits in its read (session.run).
func waitReadable(conn net.Conn) {}

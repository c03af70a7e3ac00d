package sessions

import (
	"net"
	"time"
)

// DeadlineConn refreshes the write deadline before every write, so that a
// client that stops reading is dropped after WriteTimeout, while one that
// is merely slow can take as long as a large response needs: each write
// (a buffered writer's flush of a few kilobytes) gets WriteTimeout of its
// own.
//
// Put it below TLS, on the TCP connection, so that the records TLS writes
// refresh the deadline too. Deadlines set on it directly hold until its
// next Write.
type DeadlineConn struct {
	net.Conn
	WriteTimeout time.Duration
}

func (d DeadlineConn) Write(b []byte) (int, error) {
	d.Conn.SetWriteDeadline(time.Now().Add(d.WriteTimeout))
	return d.Conn.Write(b)
}

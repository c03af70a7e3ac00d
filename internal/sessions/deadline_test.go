package sessions

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// recordConn records the write deadlines and writes made on it.
type recordConn struct {
	net.Conn // nil: only the methods below are used
	events   []event
}

type event struct {
	deadline time.Time // zero for a write
	write    string
}

func (c *recordConn) SetWriteDeadline(t time.Time) error {
	c.events = append(c.events, event{deadline: t})
	return nil
}

func (c *recordConn) Write(b []byte) (int, error) {
	c.events = append(c.events, event{write: string(b)})
	return len(b), nil
}

func TestDeadlineConnRefreshesEveryWrite(t *testing.T) {
	const timeout = time.Hour
	rc := &recordConn{}
	d := DeadlineConn{Conn: rc, WriteTimeout: timeout}
	for _, w := range []string{"* OK ready\r\n", "+OK 2 octets\r\n", "x\r\n"} {
		before := time.Now()
		n, err := d.Write([]byte(w))
		after := time.Now()
		if err != nil || n != len(w) {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
		if len(rc.events) != 2 {
			t.Fatalf("Write(%q) made %d calls, want a deadline then a write", w, len(rc.events))
		}
		dl, wr := rc.events[0], rc.events[1]
		if dl.deadline.Before(before.Add(timeout)) || dl.deadline.After(after.Add(timeout)) {
			t.Errorf("Write(%q) set the deadline %v, want within [%v, %v]", w, dl.deadline, before.Add(timeout), after.Add(timeout))
		}
		if wr.write != w {
			t.Errorf("Write(%q) wrote %q", w, wr.write)
		}
		rc.events = rc.events[:0]
	}
}

// A client that stops reading is dropped: once the socket buffers are
// full, the write in progress fails with a timeout.
func TestDeadlineConnDropsStalledReader(t *testing.T) {
	conn, _ := loopbackPair(t) // the client never reads
	d := DeadlineConn{Conn: conn, WriteTimeout: 50 * time.Millisecond}
	chunk := make([]byte, 64<<10)
	// Loopback buffers hold a few megabytes at most; far more than that
	// must have failed.
	var err error
	for range 1 << 12 {
		if _, err = d.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writing to a client that stopped reading: %v, want a deadline error", err)
	}
}

// loopbackPair returns both ends of a TCP connection on 127.0.0.1; the
// test's cleanup closes them.
func loopbackPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

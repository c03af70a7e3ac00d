package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// maxLine bounds one response line. Real greetings and capability lines
// are well under 1 KiB; 16 KiB leaves room for long CAPABILITY lists
// without letting a hostile server make the checker buffer without end.
const maxLine = 16 << 10

var errLineTooLong = errors.New("response line longer than 16 KiB")

// conn is a connection under test: plaintext, or TLS after the
// handshake.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func newConn(c net.Conn) *conn {
	return &conn{Conn: c, r: bufio.NewReaderSize(c, maxLine)}
}

// readLine returns the next line without its CRLF (or bare LF).
func (c *conn) readLine() (string, error) {
	return readLine(c.r)
}

func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(b) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), nil
}

// writeLine sends one command line with CRLF.
func (c *conn) writeLine(s string) error {
	_, err := io.WriteString(c.Conn, s+"\r\n")
	return err
}

// dialResult classifies a failed connection attempt.
func dialFailure(err error, timeout time.Duration) (level Level, text string) {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Info, "not offered (connection refused)"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return Warn, fmt.Sprintf("no answer within %v: a firewall drops the connection, or the server is down", timeout)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Warn, "host unreachable: " + err.Error()
	}
	return Warn, "cannot connect: " + err.Error()
}

// dial connects to port of the address under test.
func (r *runner) dial(ctx context.Context, port int) (net.Conn, time.Duration, error) {
	var d net.Dialer
	if r.opts.Source.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: r.opts.Source.AsSlice()}
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(r.addr, uint16(port)).String())
	return c, time.Since(start), err
}

// tlsConfig is the probe's client configuration: verification happens
// after the handshake (see inspectCert), and versions down to TLS 1.0 are
// offered so that an outdated server is reported rather than just failing.
func (r *runner) tlsConfig() *tls.Config {
	conf := &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
	}
	if _, err := netip.ParseAddr(r.serverName); err != nil {
		conf.ServerName = r.serverName // SNI: names only (RFC 6066 section 3)
	}
	return conf
}

// startTLS runs the TLS handshake on c and returns its state. Anything
// the server sent before the handshake and the client has not read is an
// error: a man in the middle could have injected it (RFC 3207 section
// 4.2: the client discards knowledge from before TLS).
func (c *conn) startTLS(ctx context.Context, conf *tls.Config) (tls.ConnectionState, error) {
	if c.r.Buffered() > 0 {
		return tls.ConnectionState{}, errors.New("the server sent data after its STARTTLS response, before the TLS handshake")
	}
	tc := tls.Client(c.Conn, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, err
	}
	c.Conn = tc
	c.r = bufio.NewReaderSize(tc, maxLine)
	return tc.ConnectionState(), nil
}

// tlsFindings records the negotiated session.
func tlsFindings(p *Probe, mode string, st tls.ConnectionState) {
	p.TLS = &TLSInfo{Mode: mode, Version: tls.VersionName(st.Version), Cipher: tls.CipherSuiteName(st.CipherSuite)}
	how := "implicit TLS"
	if mode == "starttls" {
		how = "STARTTLS"
	}
	if st.Version < tls.VersionTLS12 {
		// RFC 8996: TLS 1.0 and 1.1 are deprecated; current clients
		// refuse them.
		p.add(Fail, "tls", "%s, but only %s (RFC 8996 deprecates it; current clients refuse it), %s", how, p.TLS.Version, p.TLS.Cipher)
		return
	}
	p.add(OK, "tls", "%s, %s, %s", how, p.TLS.Version, p.TLS.Cipher)
}

// handshakeFailure words a failed TLS handshake.
func handshakeFailure(err error) string {
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return "the port does not speak TLS (it answered " + strconv.Quote(string(rhe.RecordHeader[:])) + "...)"
	}
	return "TLS handshake failed: " + err.Error()
}

package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// dotWriter writes the body of a multi-line response (RFC 1939 section
// 3): a line that begins with "." goes out with one more, and end closes
// the response with the CRLF the last line may lack and the "." line.
//
// Stored messages have CRLF line endings (the store converts bare LF), so
// a line begins after each LF; the sizes the store reports count the CRLF
// that end adds, exactly as end decides it (the last two octets).
type dotWriter struct {
	w *bufio.Writer
	// bol is set when the next octet begins a line.
	bol bool
	// tail holds the last two octets written, stuffing aside.
	tail [2]byte
	n    int64
}

func newDotWriter(w *bufio.Writer) *dotWriter {
	return &dotWriter{w: w, bol: true}
}

var lfDot = []byte("\n.")

// Write stuffs and writes p. The scan is for "\n." only, so that lines
// without a leading dot, nearly all of them, are copied in bulk.
func (d *dotWriter) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	if d.bol && p[0] == '.' {
		if err := d.w.WriteByte('.'); err != nil {
			return 0, err
		}
	}
	rest := p
	for {
		i := bytes.Index(rest, lfDot)
		if i < 0 {
			break
		}
		// Up to and including the LF, then the stuffed dot; the line's
		// own dot goes out with the next piece.
		if _, err := d.w.Write(rest[:i+1]); err != nil {
			return 0, err
		}
		if err := d.w.WriteByte('.'); err != nil {
			return 0, err
		}
		rest = rest[i+1:]
	}
	if _, err := d.w.Write(rest); err != nil {
		return 0, err
	}
	d.bol = p[n-1] == '\n'
	if n >= 2 {
		d.tail = [2]byte{p[n-2], p[n-1]}
	} else {
		d.tail = [2]byte{d.tail[1], p[0]}
	}
	d.n += int64(n)
	return n, nil
}

// end finishes the response: CRLF unless the body is empty or already
// ends with one, then ".CRLF".
func (d *dotWriter) end() error {
	if d.n > 0 && d.tail != [2]byte{'\r', '\n'} {
		if _, err := d.w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}

// readError is a failure to read the message, as opposed to a failure to
// send it (the client went away).
type readError struct{ err error }

func (e *readError) Error() string { return fmt.Sprintf("reading message: %v", e.err) }
func (e *readError) Unwrap() error { return e.err }

func isWriteError(err error) bool {
	var re *readError
	return !errors.As(err, &re)
}

// copyChunks copies the whole message through buf.
func copyChunks(d *dotWriter, src io.Reader, buf []byte) error {
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := d.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &readError{err}
		}
	}
}

// copyTop copies the header, the empty line that ends it, and the first
// lines lines of the body (RFC 1939 section 7, TOP). A message without an
// empty line is all header.
func copyTop(d *dotWriter, src io.Reader, lines int64) error {
	r := bufio.NewReaderSize(src, 8192)
	inHeader, bol := true, true
	for {
		if !inHeader && bol && lines == 0 {
			return nil
		}
		frag, err := r.ReadSlice('\n')
		if len(frag) > 0 {
			lineEnd := frag[len(frag)-1] == '\n'
			if inHeader && bol && lineEnd && (len(frag) == 1 || len(frag) == 2 && frag[0] == '\r') {
				inHeader = false // the empty line ends the header
			} else if !inHeader && lineEnd {
				lines--
			}
			if _, werr := d.Write(frag); werr != nil {
				return werr
			}
			bol = lineEnd
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return &readError{err}
		}
	}
}

package smtpclient

import (
	"bufio"
	"io"
)

// dotWriter writes message content for DATA (RFC 5321 section 4.5.2): a
// line that starts with "." gets another one in front. Line endings are
// normalized to CRLF on the way: a bare LF or bare CR becomes CRLF, so
// that whatever the spool holds, the stream we send can end only at our
// own "CRLF.CRLF" and carries none of the ambiguous endings SMTP
// smuggling relies on. Close ends the last line if needed and writes the
// terminating ".".
type dotWriter struct {
	w *bufio.Writer
	// bol: at the beginning of a line. cr: the previous octet was a CR
	// whose LF has not been seen yet.
	bol, cr bool
}

func newDotWriter(w *bufio.Writer) *dotWriter { return &dotWriter{w: w, bol: true} }

func (d *dotWriter) Write(p []byte) (int, error) {
	for i, c := range p {
		var err error
		switch {
		case d.cr && c == '\n':
			// CRLF: the CR was written as CRLF already.
			d.cr = false
			continue
		case c == '\r':
			_, err = d.w.WriteString("\r\n")
			d.cr, d.bol = true, true
		case c == '\n':
			_, err = d.w.WriteString("\r\n")
			d.cr, d.bol = false, true
		default:
			if d.bol && c == '.' {
				err = d.w.WriteByte('.')
			}
			if err == nil {
				err = d.w.WriteByte(c)
			}
			d.cr, d.bol = false, false
		}
		if err != nil {
			return i, err
		}
	}
	return len(p), nil
}

// Close terminates the content: CRLF if the last line is open, then
// ".CRLF". It flushes the underlying writer.
func (d *dotWriter) Close() error {
	if !d.bol {
		if _, err := d.w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	if _, err := d.w.WriteString(".\r\n"); err != nil {
		return err
	}
	return d.w.Flush()
}

var _ io.WriteCloser = (*dotWriter)(nil)

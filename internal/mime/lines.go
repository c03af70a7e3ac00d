package mime

import (
	"bufio"
	"io"
)

// lineReader reads a message line by line, keeping exact offsets and the
// number of line feeds seen. A line ends with LF (CRLF or bare LF); the
// last line may have no end. Lines longer than the buffer are handled in
// pieces: head holds the first piece, which is all that boundary detection
// and header field names need.
type lineReader struct {
	br *bufio.Reader

	off   int64  // offset of the current line's first byte
	n     int64  // length of the current line so far, terminator included
	head  []byte // the current line (or its first piece); valid until advance or tail
	more  bool   // the line continues beyond head, unread
	done  bool   // no current line: the input is exhausted
	err   error  // a read error other than EOF
	lfs   int64  // line feeds before the current line
	term  int    // terminator length of the current line: 0, 1 (LF) or 2 (CRLF)
	prevT int    // terminator length of the previous line
	lastC byte   // last byte read of the current line (CR detection across pieces)
}

const readBufSize = 32 << 10

func newLineReader(r io.Reader, bufSize int) *lineReader {
	l := &lineReader{br: bufio.NewReaderSize(r, bufSize)}
	l.read()
	return l
}

// advance moves to the next line, discarding the rest of the current one.
func (l *lineReader) advance() {
	if l.done {
		return
	}
	l.tail(nil)
	l.off += l.n
	if l.term > 0 {
		l.lfs++
	}
	l.prevT = l.term
	l.read()
}

func (l *lineReader) read() {
	l.n, l.term, l.more, l.head = 0, 0, false, nil
	if l.err != nil {
		l.done = true
		return
	}
	b, err := l.br.ReadSlice('\n')
	l.n = int64(len(b))
	l.head = b
	switch {
	case err == nil:
		l.setTerm(b, 0)
	case err == bufio.ErrBufferFull:
		l.more = true
		l.lastC = b[len(b)-1]
	default:
		if err != io.EOF {
			l.err = err
		}
		if len(b) == 0 {
			l.done = true
		}
	}
}

// setTerm records the terminator of a line whose last piece is b; prev is
// the byte before b when b is not the line's first piece.
func (l *lineReader) setTerm(b []byte, prev byte) {
	l.term = 1
	if len(b) >= 2 && b[len(b)-2] == '\r' || len(b) == 1 && prev == '\r' {
		l.term = 2
	}
}

// tail reads the rest of a long line, handing each piece to fn (if not
// nil). head is invalid afterwards.
func (l *lineReader) tail(fn func([]byte)) {
	for l.more {
		b, err := l.br.ReadSlice('\n')
		l.n += int64(len(b))
		if fn != nil && len(b) > 0 {
			fn(b)
		}
		switch {
		case err == nil:
			l.more = false
			l.setTerm(b, l.lastC)
		case err == bufio.ErrBufferFull:
			l.lastC = b[len(b)-1]
		default:
			l.more = false
			if err != io.EOF {
				l.err = err
			}
		}
	}
}

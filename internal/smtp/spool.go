package smtp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// spoolMemory is how much of a message is kept in memory as it arrives;
// the rest goes to an unlinked file in SpoolDir. Most mail is smaller,
// and then costs no file at all; a large message costs at most this much
// memory.
const spoolMemory = 64 << 10

// spooled is a received message: the data of DATA (dot-unstuffed, CRLF
// line ends) or BDAT, as an io.ReaderAt.
type spooled struct {
	mem  []byte
	f    *os.File // nil while everything fits in mem
	size int64
	// headerLen is the length of the header section, through the empty
	// line that ends it; -1 when there is no empty line.
	headerLen int64
}

// spool reads a message, checking that every line ends in CRLF: a bare
// CR or LF is refused (550 5.6.0), since a next hop could read the
// message differently: "\n.\n" and "\r.\r" are the SMTP smuggling
// patterns. It returns go-smtp's ErrDataTooLarge, from r, as it is.
func (s *Server) spool(r io.Reader) (*spooled, error) {
	sp := &spooled{headerLen: -1}
	var lc lineCheck
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if cerr := lc.check(buf[:n], sp.size, &sp.headerLen); cerr != nil {
				sp.Close()
				return nil, cerr
			}
			if werr := sp.write(s.SpoolDir, buf[:n]); werr != nil {
				sp.Close()
				return nil, werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			sp.Close()
			return nil, err
		}
	}
	if lc.prevCR {
		sp.Close()
		return nil, errBareCR
	}
	return sp, nil
}

// write appends b, spilling to a file past spoolMemory.
func (sp *spooled) write(dir string, b []byte) error {
	if sp.f == nil && sp.size+int64(len(b)) <= spoolMemory {
		sp.mem = append(sp.mem, b...)
		sp.size += int64(len(b))
		return nil
	}
	if sp.f == nil {
		f, err := os.CreateTemp(dir, "smtp-")
		if err != nil {
			return fmt.Errorf("smtp: spool: %w", err)
		}
		// Unlinked at once: a crash leaves nothing behind.
		os.Remove(f.Name())
		sp.f = f
	}
	if _, err := sp.f.WriteAt(b, sp.size-int64(len(sp.mem))); err != nil {
		return fmt.Errorf("smtp: spool: %w", err)
	}
	sp.size += int64(len(b))
	return nil
}

// ReadAt implements io.ReaderAt.
func (sp *spooled) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("smtp: negative offset")
	}
	if off >= sp.size {
		return 0, io.EOF
	}
	n := 0
	if off < int64(len(sp.mem)) {
		n = copy(p, sp.mem[off:])
	}
	if n < len(p) && sp.f != nil && off+int64(n) < sp.size {
		m, err := sp.f.ReadAt(p[n:min(int64(len(p)), sp.size-off)], off+int64(n)-int64(len(sp.mem)))
		n += m
		if err != nil && !errors.Is(err, io.EOF) {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size is the message's length in octets.
func (sp *spooled) Size() int64 { return sp.size }

// Close releases the spool file.
func (sp *spooled) Close() error {
	if sp.f != nil {
		err := sp.f.Close()
		sp.f = nil
		return err
	}
	return nil
}

// lineCheck follows the line ends of a message across reads.
type lineCheck struct {
	prevCR    bool // the last octet seen was CR
	lineStart bool // the next octet starts a line (false before any)
	started   bool
	emptyCR   bool // a CR began an empty line in the header
}

// check scans b, which starts at offset off of the message, for bare CR
// and LF, and records the end of the header section in headerLen.
func (lc *lineCheck) check(b []byte, off int64, headerLen *int64) error {
	if !lc.started {
		lc.started, lc.lineStart = true, true
	}
	for i, c := range b {
		switch c {
		case '\n':
			if !lc.prevCR {
				return errBareLF
			}
			if lc.emptyCR && *headerLen < 0 {
				*headerLen = off + int64(i) + 1
			}
			lc.prevCR, lc.lineStart, lc.emptyCR = false, true, false
		case '\r':
			if lc.prevCR {
				return errBareCR
			}
			lc.emptyCR = lc.lineStart
			lc.prevCR, lc.lineStart = true, false
		default:
			if lc.prevCR {
				return errBareCR
			}
			lc.lineStart, lc.emptyCR = false, false
		}
	}
	return nil
}

// message is what gets stored or queued: header fields we prepend, then
// the received message with some ranges left out (Authentication-Results
// fields that claim to be ours), as one io.ReaderAt.
type message struct {
	pieces []piece
	size   int64
}

// piece is a run of the message: bytes of ours, or a range of the
// received message.
type piece struct {
	at   int64 // offset in the message
	data []byte
	src  io.ReaderAt
	off  int64 // in src
	n    int64
}

// add appends a piece.
func (m *message) addBytes(b []byte) {
	if len(b) > 0 {
		m.pieces = append(m.pieces, piece{at: m.size, data: b, n: int64(len(b))})
		m.size += int64(len(b))
	}
}

func (m *message) addRange(src io.ReaderAt, off, n int64) {
	if n > 0 {
		m.pieces = append(m.pieces, piece{at: m.size, src: src, off: off, n: n})
		m.size += n
	}
}

// ReadAt implements io.ReaderAt.
func (m *message) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("smtp: negative offset")
	}
	i := sort.Search(len(m.pieces), func(i int) bool { return m.pieces[i].at+m.pieces[i].n > off })
	n := 0
	for ; i < len(m.pieces) && n < len(p); i++ {
		pc := m.pieces[i]
		rel := off + int64(n) - pc.at
		want := min(int64(len(p)-n), pc.n-rel)
		if pc.data != nil {
			n += copy(p[n:n+int(want)], pc.data[rel:])
			continue
		}
		k, err := pc.src.ReadAt(p[n:n+int(want)], pc.off+rel)
		n += k
		if int64(k) < want {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size is the message's length in octets.
func (m *message) Size() int64 { return m.size }

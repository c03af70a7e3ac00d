// Package inflate decodes a raw DEFLATE stream (RFC 1951) from a live
// connection without ever waiting for input it does not need.
//
// The standard library's compress/flate reader returns decoded bytes only
// at block boundaries and, after a Z_PARTIAL_FLUSH, waits for bits the
// sender has not sent yet: an IMAP client that compresses with partial
// flushes (RFC 4978 allows any flush that makes the data decodable) would
// see its command never answered. This reader decodes symbol by symbol
// against its own input buffer and returns what it has decoded as soon as
// the next symbol is not complete in the bytes received so far. It blocks
// on the source only when it has nothing at all to return.
//
// Decoding of one unit (a block header, a dynamic Huffman table, a
// literal, or a length/distance pair with its extra bits) is
// transactional: when the input ends inside it, the bit position rolls
// back to its start, and the unit is decoded again once more bytes came.
package inflate

import (
	"errors"
	"io"
)

// ErrCorrupt reports input that is not a valid DEFLATE stream.
var ErrCorrupt = errors.New("inflate: corrupt deflate stream")

const (
	windowSize = 1 << 15
	maxBits    = 15
	// readChunk is the input buffer's initial size; it grows only when a
	// single unit spans more (a dynamic header is under 1 KiB).
	readChunk = 4096
)

// huffman is a canonical Huffman code in the form of zlib's puff.c:
// count[n] codes of length n, symbols ordered by code.
type huffman struct {
	count  [maxBits + 1]uint16
	symbol []uint16
}

// build sets the code from code lengths. It fails for an over-subscribed
// set; an incomplete set is accepted (decoding an unused code fails).
func (h *huffman) build(lengths []uint8) error {
	h.count = [maxBits + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	if int(h.count[0]) == len(lengths) {
		h.symbol = h.symbol[:0]
		return nil
	}
	left := 1
	for n := 1; n <= maxBits; n++ {
		left <<= 1
		left -= int(h.count[n])
		if left < 0 {
			return ErrCorrupt
		}
	}
	var offs [maxBits + 1]uint16
	for n := 1; n < maxBits; n++ {
		offs[n+1] = offs[n] + h.count[n]
	}
	if cap(h.symbol) < len(lengths) {
		h.symbol = make([]uint16, len(lengths))
	}
	h.symbol = h.symbol[:len(lengths)]
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return nil
}

// Length and distance bases and extra bits (RFC 1951 section 3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// clOrder is the order of code length code lengths (section 3.2.7).
	clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// errShort is the internal signal that the input ends inside a unit.
var errShort = errors.New("inflate: need more input")

type blockState int

const (
	stateHeader  blockState = iota // expecting a block header
	stateStored                    // inside a stored block
	stateHuffman                   // inside a compressed block
	stateDone                      // after the final block
)

// Reader decodes a raw DEFLATE stream read from a source.
type Reader struct {
	src io.Reader
	in  []byte // received, not yet consumed input
	pos int    // next byte of in to load into bits
	// bits holds nbits not yet consumed bits, least significant first.
	bits  uint64
	nbits uint

	state  blockState
	final  bool
	stored int // bytes left in a stored block

	// lit and dist point at the fixed codes or at dynLit and dynDist.
	lit, dist           *huffman
	dynLit, dynDist     huffman
	fixedLit, fixedDist huffman
	fixedBuilt          bool

	// copyLen bytes remain to copy from copyDist back in the window.
	copyLen, copyDist int

	window [windowSize]byte
	wpos   int   // next write position in window
	total  int64 // bytes produced; a distance may not reach before them

	err error // sticky: corruption or the source's error
}

// NewReader returns a Reader decoding from src.
func NewReader(src io.Reader) *Reader {
	return &Reader{src: src, in: make([]byte, 0, readChunk)}
}

// mark is a saved bit position.
type mark struct {
	pos   int
	bits  uint64
	nbits uint
}

func (r *Reader) save() mark     { return mark{r.pos, r.bits, r.nbits} }
func (r *Reader) restore(m mark) { r.pos, r.bits, r.nbits = m.pos, m.bits, m.nbits }

// need makes n bits (n <= 32) available, or reports errShort.
func (r *Reader) need(n uint) error {
	for r.nbits < n {
		if r.pos >= len(r.in) {
			return errShort
		}
		r.bits |= uint64(r.in[r.pos]) << r.nbits
		r.pos++
		r.nbits += 8
	}
	return nil
}

func (r *Reader) getBits(n uint) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	if err := r.need(n); err != nil {
		return 0, err
	}
	v := uint32(r.bits & (1<<n - 1))
	r.bits >>= n
	r.nbits -= n
	return v, nil
}

// decode reads one symbol of h, one bit at a time (codes are stored
// bit-reversed in the stream, RFC 1951 section 3.1.1).
func (r *Reader) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for n := 1; n <= maxBits; n++ {
		b, err := r.getBits(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := int(h.count[n])
		if code-count < first {
			return int(h.symbol[index+(code-first)]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, ErrCorrupt
}

// Read decodes into p. It returns as soon as it decoded something and the
// next unit is not complete in the input received so far.
func (r *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.err != nil {
			break
		}
		k, err := r.step(p[n:])
		n += k
		if err == nil {
			continue
		}
		if err != errShort {
			r.err = err
			break
		}
		// The input ends inside a unit: hand out what we have, or wait
		// for more.
		if n > 0 {
			return n, nil
		}
		if err := r.fill(); err != nil {
			r.err = err
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, r.err
}

// fill reads more input from the source, keeping unconsumed bytes.
func (r *Reader) fill() error {
	if r.pos > 0 {
		copied := copy(r.in, r.in[r.pos:])
		r.in = r.in[:copied]
		r.pos = 0
	}
	if len(r.in) == cap(r.in) {
		grown := make([]byte, len(r.in), 2*cap(r.in))
		copy(grown, r.in)
		r.in = grown
	}
	m, err := r.src.Read(r.in[len(r.in):cap(r.in)])
	r.in = r.in[:len(r.in)+m]
	if m > 0 {
		return nil
	}
	if err == nil {
		return nil
	}
	if err == io.EOF && r.state != stateDone {
		return io.ErrUnexpectedEOF
	}
	return err
}

// emit writes one byte to the window and out.
func (r *Reader) emit(out []byte, i int, b byte) {
	out[i] = b
	r.window[r.wpos] = b
	r.wpos = (r.wpos + 1) & (windowSize - 1)
	r.total++
}

// step decodes units into out until out is full, or an error (errShort
// included). It returns the bytes produced.
func (r *Reader) step(out []byte) (int, error) {
	n := 0
	for n < len(out) {
		// A pending back-reference first.
		for r.copyLen > 0 && n < len(out) {
			from := (r.wpos - r.copyDist) & (windowSize - 1)
			r.emit(out, n, r.window[from])
			n++
			r.copyLen--
		}
		if n == len(out) {
			break
		}
		switch r.state {
		case stateDone:
			return n, io.EOF
		case stateHeader:
			if err := r.header(); err != nil {
				return n, err
			}
		case stateStored:
			if r.stored == 0 {
				r.endBlock()
				continue
			}
			// Stored bytes are byte-aligned: whole bytes left in bits
			// come first, then the input buffer.
			for r.stored > 0 && n < len(out) {
				var b byte
				switch {
				case r.nbits >= 8:
					b = byte(r.bits)
					r.bits >>= 8
					r.nbits -= 8
				case r.pos < len(r.in):
					b = r.in[r.pos]
					r.pos++
				default:
					return n, errShort
				}
				r.emit(out, n, b)
				n++
				r.stored--
			}
		case stateHuffman:
			m := r.save()
			lit, err := r.decode(r.lit)
			if err != nil {
				r.restore(m)
				return n, err
			}
			switch {
			case lit < 256:
				r.emit(out, n, byte(lit))
				n++
			case lit == 256:
				r.endBlock()
			default:
				if err := r.backref(lit); err != nil {
					r.restore(m)
					return n, err
				}
			}
		}
	}
	return n, nil
}

func (r *Reader) endBlock() {
	if r.final {
		r.state = stateDone
	} else {
		r.state = stateHeader
	}
}

// backref reads the rest of a length/distance pair whose length symbol is
// lit, and sets up the copy.
func (r *Reader) backref(lit int) error {
	lit -= 257
	if lit >= 29 {
		return ErrCorrupt
	}
	extra, err := r.getBits(uint(lengthExtra[lit]))
	if err != nil {
		return err
	}
	length := int(lengthBase[lit]) + int(extra)
	sym, err := r.decode(r.dist)
	if err != nil {
		return err
	}
	if sym >= 30 {
		return ErrCorrupt
	}
	extra, err = r.getBits(uint(distExtra[sym]))
	if err != nil {
		return err
	}
	dist := int(distBase[sym]) + int(extra)
	if int64(dist) > r.total {
		return ErrCorrupt
	}
	r.copyLen, r.copyDist = length, dist
	return nil
}

// header reads a block header and, for stored and dynamic blocks, what
// follows it up to the first data (RFC 1951 section 3.2.3).
func (r *Reader) header() error {
	m := r.save()
	err := r.readHeader()
	if err != nil {
		r.restore(m)
	}
	return err
}

func (r *Reader) readHeader() error {
	h, err := r.getBits(3)
	if err != nil {
		return err
	}
	final := h&1 == 1
	switch h >> 1 {
	case 0:
		// Stored: skip to a byte boundary, then LEN and NLEN.
		r.bits >>= r.nbits % 8
		r.nbits -= r.nbits % 8
		v, err := r.getBits(32)
		if err != nil {
			return err
		}
		length, nlength := v&0xffff, v>>16
		if length != ^nlength&0xffff {
			return ErrCorrupt
		}
		r.stored = int(length)
		r.state = stateStored
	case 1:
		if !r.fixedBuilt {
			r.buildFixed()
		}
		r.lit, r.dist = &r.fixedLit, &r.fixedDist
		r.state = stateHuffman
	case 2:
		if err := r.dynamic(); err != nil {
			return err
		}
		r.state = stateHuffman
	default:
		return ErrCorrupt
	}
	r.final = final
	return nil
}

func (r *Reader) buildFixed() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	r.fixedLit.build(l[:])
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	r.fixedDist.build(d[:])
	r.fixedBuilt = true
}

// dynamic reads the code tables of a dynamic block (section 3.2.7).
func (r *Reader) dynamic() error {
	v, err := r.getBits(14)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(v&0x1f)+257, int(v>>5&0x1f)+1, int(v>>10)+4
	if nlen > 286 || ndist > 30 {
		return ErrCorrupt
	}
	var cl [19]uint8
	for i := range ncode {
		b, err := r.getBits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(b)
	}
	var lencode huffman
	if err := lencode.build(cl[:]); err != nil {
		return err
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlen+ndist; {
		sym, err := r.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var prev uint8
		var rep uint32
		switch sym {
		case 16:
			if i == 0 {
				return ErrCorrupt
			}
			prev = lengths[i-1]
			if rep, err = r.getBits(2); err != nil {
				return err
			}
			rep += 3
		case 17:
			if rep, err = r.getBits(3); err != nil {
				return err
			}
			rep += 3
		default:
			if rep, err = r.getBits(7); err != nil {
				return err
			}
			rep += 11
		}
		if i+int(rep) > nlen+ndist {
			return ErrCorrupt
		}
		for range rep {
			lengths[i] = prev
			i++
		}
	}
	if lengths[256] == 0 {
		// A block without an end-of-block code cannot end.
		return ErrCorrupt
	}
	if err := r.dynLit.build(lengths[:nlen]); err != nil {
		return err
	}
	if err := r.dynDist.build(lengths[nlen : nlen+ndist]); err != nil {
		return err
	}
	r.lit, r.dist = &r.dynLit, &r.dynDist
	return nil
}

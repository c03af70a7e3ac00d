package mime

import (
	"io"
	"strings"
)

// DecodedBody returns the body of the leaf part p, undone from its
// Content-Transfer-Encoding (base64, quoted-printable; others as is).
// Errors in the encoding are skipped, not fatal: base64 ignores every byte
// outside its alphabet, quoted-printable keeps malformed escapes literally.
// The reader streams; read errors of r are passed on.
func DecodedBody(r io.ReaderAt, p *Part) io.Reader {
	body := io.NewSectionReader(r, p.BodyStart, p.BodyEnd-p.BodyStart)
	switch p.Encoding {
	case "base64":
		return newBase64Reader(body)
	case "quoted-printable":
		return newQPReader(body)
	}
	return body
}

const decodeBufSize = 8 << 10

// base64Reader decodes base64 (RFC 2045 section 6.8) leniently: bytes
// outside the alphabet are skipped (the section says to ignore them), "="
// ends a quantum, and decoding resumes after it, since concatenated base64
// blocks occur.
type base64Reader struct {
	src  io.Reader
	in   []byte
	out  []byte // decoded, not yet returned
	obuf []byte // backing store of out
	acc  uint32 // pending sextets
	nacc int
	err  error
}

func newBase64Reader(src io.Reader) *base64Reader {
	return &base64Reader{src: src, in: make([]byte, decodeBufSize)}
}

// base64Value maps a byte to its sextet, or 0xff.
var base64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

func (d *base64Reader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.src.Read(d.in)
		d.out = d.decode(d.in[:n], d.obuf[:0])
		if err != nil {
			d.err = err
			d.out = d.flush(d.out)
		}
		d.obuf = d.out[:0]
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

func (d *base64Reader) decode(in, out []byte) []byte {
	if cap(out) < len(in) {
		out = make([]byte, 0, len(in))
	}
	for _, c := range in {
		v := base64Value[c]
		if v == 0xff {
			if c == '=' {
				out = d.flush(out)
			}
			continue
		}
		d.acc = d.acc<<6 | uint32(v)
		d.nacc++
		if d.nacc == 4 {
			out = append(out, byte(d.acc>>16), byte(d.acc>>8), byte(d.acc))
			d.acc, d.nacc = 0, 0
		}
	}
	return out
}

// flush emits a partial quantum: 2 sextets make 1 byte, 3 make 2.
func (d *base64Reader) flush(out []byte) []byte {
	switch d.nacc {
	case 2:
		out = append(out, byte(d.acc>>4))
	case 3:
		out = append(out, byte(d.acc>>10), byte(d.acc>>2))
	}
	d.acc, d.nacc = 0, 0
	return out
}

// qpReader decodes quoted-printable (RFC 2045 section 6.7) leniently:
// trailing white space on a line is dropped (rule 3), "=" at the end of a
// line (white space allowed after it) is a soft line break (rule 5),
// "=XX" is a byte (lower-case hex accepted), and any other "=" stays as it
// is. Hard line breaks are kept as written.
type qpReader struct {
	src   io.Reader
	in    []byte
	out   []byte
	obuf  []byte // backing store of out
	state qpState
	hex1  byte
	ws    []byte // white space held back: dropped if the line ends here
	err   error
}

type qpState uint8

const (
	qpText  qpState = iota
	qpCR            // saw CR
	qpEq            // saw "="
	qpEqHex         // saw "=" and one hex digit
	qpEqWS          // saw "=" then white space (soft break with padding?)
	qpEqCR          // saw "=", maybe white space, then CR
)

func newQPReader(src io.Reader) *qpReader {
	return &qpReader{src: src, in: make([]byte, decodeBufSize)}
}

func (d *qpReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.src.Read(d.in)
		out := d.obuf[:0]
		in := d.in[:n]
		for i := 0; i < len(in); {
			if d.state == qpText && len(d.ws) == 0 {
				// Fast path: a run of bytes that decode to themselves.
				j := i
				for j < len(in) && !qpSpecial(in[j]) {
					j++
				}
				out = append(out, in[i:j]...)
				if i = j; i == len(in) {
					break
				}
			}
			out = d.step(out, in[i])
			i++
		}
		if err != nil {
			d.err = err
			out = d.end(out)
		}
		d.out, d.obuf = out, out[:0]
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

func qpSpecial(c byte) bool {
	return c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func (d *qpReader) flushWS(out []byte) []byte {
	out = append(out, d.ws...)
	d.ws = d.ws[:0]
	return out
}

// step decodes one byte in the current state.
func (d *qpReader) step(out []byte, c byte) []byte {
	switch d.state {
	case qpText:
		switch c {
		case '=':
			out = d.flushWS(out)
			d.state = qpEq
		case ' ', '\t':
			if len(d.ws) >= 1024 {
				out = d.flushWS(out)
			}
			d.ws = append(d.ws, c)
		case '\r':
			d.state = qpCR
		case '\n':
			d.ws = d.ws[:0]
			out = append(out, '\n')
		default:
			out = d.flushWS(out)
			out = append(out, c)
		}
	case qpCR:
		d.state = qpText
		if c == '\n' {
			d.ws = d.ws[:0]
			return append(out, '\r', '\n')
		}
		out = d.flushWS(out)
		out = append(out, '\r')
		return d.step(out, c)
	case qpEq:
		switch {
		case isHex(c):
			d.hex1 = c
			d.state = qpEqHex
		case c == ' ' || c == '\t':
			d.ws = append(d.ws, c)
			d.state = qpEqWS
		case c == '\r':
			d.state = qpEqCR
		case c == '\n':
			d.state = qpText // soft line break
		default:
			out = append(out, '=')
			d.state = qpText
			return d.step(out, c)
		}
	case qpEqHex:
		d.state = qpText
		if isHex(c) {
			return append(out, unhex(d.hex1)<<4|unhex(c))
		}
		out = append(out, '=', d.hex1)
		return d.step(out, c)
	case qpEqWS:
		switch c {
		case ' ', '\t':
			if len(d.ws) < 1024 {
				d.ws = append(d.ws, c)
			}
		case '\r':
			d.state = qpEqCR
		case '\n':
			d.ws = d.ws[:0]
			d.state = qpText
		default:
			out = append(out, '=')
			out = d.flushWS(out)
			d.state = qpText
			return d.step(out, c)
		}
	case qpEqCR:
		if c == '\n' {
			d.ws = d.ws[:0]
			d.state = qpText
			return out
		}
		out = append(out, '=')
		out = d.flushWS(out)
		out = append(out, '\r')
		d.state = qpText
		return d.step(out, c)
	}
	return out
}

// end flushes the state at the end of input: trailing white space is
// dropped, a final "=" is a soft break, a dangling "=X" stays.
func (d *qpReader) end(out []byte) []byte {
	switch d.state {
	case qpCR:
		out = append(out, '\r')
	case qpEqHex:
		out = append(out, '=', d.hex1)
	case qpEqCR:
		out = append(out, '=')
		out = append(out, d.ws...)
		out = append(out, '\r')
	}
	d.ws = d.ws[:0]
	d.state = qpText
	return out
}

// Size returns the size of p's body in bytes, as BODYSTRUCTURE reports it.
func (p *Part) Size() int64 { return p.BodyEnd - p.BodyStart }

// Param returns the value of the Content-Type parameter called name (case
// insensitive), or "".
func (p *Part) Param(name string) string {
	return paramValue(p.Params, strings.ToLower(name))
}

// Filename returns the part's file name: the Content-Disposition filename
// parameter, else the Content-Type name parameter (RFC 2183 section 2.3;
// "name" is the older form). It is raw: RFC 2231 is decoded, an RFC 2047
// encoded word (which many mailers put there) is not.
func (p *Part) Filename() string {
	if f := paramValue(p.DispParams, "filename"); f != "" {
		return f
	}
	return paramValue(p.Params, "name")
}

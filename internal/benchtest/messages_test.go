package benchtest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// filler is body text; lines are 74 octets with CRLF.
const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"

// message10K returns a 10 KB (10,240 octets) text message; seq makes its
// Message-ID and subject unique.
func message10K(seq int) []byte {
	return padded(fmt.Sprintf("From: Bob Example <bob@example.org>\r\n"+
		"To: Alice Example <alice@example.org>\r\n"+
		"Subject: Benchmark message %010d\r\n"+
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"+
		"Message-ID: <bench-%010d@example.org>\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"\r\n", seq, seq), 10<<10)
}

// stamper makes message10K(seq) for any seq by rewriting the digits of
// one message in place, so that the benchmark's clients, which share the
// machine with the server, do not spend time building messages. Not safe
// for concurrent use.
type stamper struct {
	msg []byte
	at  []int // offsets of the 10-digit sequence fields
}

func newStamper() *stamper {
	const zero = "0000000000"
	s := &stamper{msg: message10K(0)}
	for off := 0; ; {
		i := bytes.Index(s.msg[off:], []byte(zero))
		if i < 0 {
			break
		}
		s.at = append(s.at, off+i)
		off += i + len(zero)
	}
	return s
}

// stamp returns message10K(seq), valid until the next call.
func (s *stamper) stamp(seq int) []byte {
	var digits [10]byte
	for i, n := len(digits)-1, seq; i >= 0; i, n = i-1, n/10 {
		digits[i] = byte('0' + n%10)
	}
	for _, at := range s.at {
		copy(s.msg[at:], digits[:])
	}
	return s.msg
}

// padded fills a header with body lines up to exactly size octets, ending
// in CRLF.
func padded(header string, size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, header...)
	for len(b)+len(filler) <= size {
		b = append(b, filler...)
	}
	if rest := size - len(b); rest >= 2 {
		b = append(b, strings.Repeat("x", rest-2)...)
		b = append(b, "\r\n"...)
	}
	return b
}

func TestStamper(t *testing.T) {
	s := newStamper()
	if len(s.at) != 2 {
		t.Fatalf("%d sequence fields, want 2", len(s.at))
	}
	for _, seq := range []int{0, 7, 123456, 4000000000} {
		if got, want := s.stamp(seq), message10K(seq); !bytes.Equal(got, want) {
			t.Fatalf("stamp(%d) differs from message10K", seq)
		}
	}
	if n := len(message10K(1)); n != 10<<10 {
		t.Fatalf("message10K is %d octets", n)
	}
}

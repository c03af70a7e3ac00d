package sqlite

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// TestCRLFReaderChunks compares the reader with a byte-by-byte conversion
// over random text of CR, LF and letters, read through short reads of
// random sizes, with the reader's buffers reused between inputs.
func TestCRLFReaderChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newCRLFReader(nil)
	for range 300 {
		n := rng.IntN(70 << 10)
		in := make([]byte, n)
		for i := range in {
			in[i] = "ab\r\n\n"[rng.IntN(5)]
		}
		var want bytes.Buffer
		prev := byte(0)
		for _, b := range in {
			if b == '\n' && prev != '\r' {
				want.WriteByte('\r')
			}
			want.WriteByte(b)
			prev = b
		}
		c.reset(iotest.HalfReader(bytes.NewReader(in)))
		var got bytes.Buffer
		buf := make([]byte, 1+rng.IntN(40<<10))
		for {
			k, err := c.Read(buf)
			got.Write(buf[:k])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%d bytes in: got %d bytes, want %d; first difference at %d", n, got.Len(), want.Len(), firstDiff(got.Bytes(), want.Bytes()))
		}
	}
	// An input that is nothing but LFs doubles exactly.
	c.reset(strings.NewReader(strings.Repeat("\n", 50<<10)))
	all, err := io.ReadAll(c)
	if err != nil || string(all) != strings.Repeat("\r\n", 50<<10) {
		t.Fatalf("LFs only: %d bytes, %v", len(all), err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

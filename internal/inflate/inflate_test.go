package inflate

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// chunkReader hands out its data in pieces of random size, as a network
// connection does.
type chunkReader struct {
	data []byte
	rnd  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rnd.IntN(64))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func testData(rnd *rand.Rand, n int) []byte {
	words := []string{"a001 ", "FETCH ", "1:* ", "(FLAGS BODY.PEEK[]) ", "\r\n", "INBOX ", "Subject: hello ", "x"}
	var b bytes.Buffer
	for b.Len() < n {
		if rnd.IntN(10) == 0 {
			b.WriteByte(byte(rnd.UintN(256)))
		} else {
			b.WriteString(words[rnd.IntN(len(words))])
		}
	}
	return b.Bytes()
}

// TestRoundTrip decodes what compress/flate encodes at every level, with
// sync flushes in between, read in random chunks.
func TestRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		for _, size := range []int{0, 1, 100, 70000} {
			data := testData(rnd, size)
			var enc bytes.Buffer
			w, err := flate.NewWriter(&enc, level)
			if err != nil {
				t.Fatal(err)
			}
			for rest := data; len(rest) > 0; {
				k := min(len(rest), 1+rnd.IntN(5000))
				w.Write(rest[:k])
				if rnd.IntN(3) == 0 {
					w.Flush()
				}
				rest = rest[k:]
			}
			w.Close()
			got, err := io.ReadAll(NewReader(&chunkReader{data: enc.Bytes(), rnd: rnd}))
			if err != nil {
				t.Fatalf("level %d size %d: %v", level, size, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("level %d size %d: output differs", level, size)
			}
		}
	}
}

// TestPartialFlush feeds what Python's zlib produces with Z_PARTIAL_FLUSH
// (and Z_SYNC_FLUSH) after each command, over a pipe that stays open, and
// expects each command as soon as its bytes arrived. compress/flate
// blocks on the partial-flush stream.
func TestPartialFlush(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string // hex, one per client write
		want   []string
	}{
		// zlib.compressobj(6, DEFLATED, -15); c.compress(cmd) + c.flush(Z_PARTIAL_FLUSH)
		{"partial", []string{"4a34303054f0f3f70fe0e50208", "a044030323bc4c8000"}, []string{"a001 NOOP\r\n", "a002 NOOP\r\na002 NOOP\r\na002 NOOP\r\n"}},
		{"sync", []string{"4a34303054f0f3f70fe0e502000000ffff", "4a343030c2cb04000000ffff"}, []string{"a001 NOOP\r\n", "a002 NOOP\r\na002 NOOP\r\na002 NOOP\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			r := NewReader(pr)
			for i, chunk := range tc.chunks {
				b, _ := hex.DecodeString(chunk)
				go pw.Write(b)
				var got []byte
				deadline := time.After(5 * time.Second)
				for len(got) < len(tc.want[i]) {
					buf := make([]byte, 100)
					done := make(chan int)
					go func() { n, _ := r.Read(buf); done <- n }()
					select {
					case n := <-done:
						got = append(got, buf[:n]...)
					case <-deadline:
						t.Fatalf("write %d: decoder blocked with %q decoded", i, got)
					}
				}
				if string(got) != tc.want[i] {
					t.Fatalf("write %d: got %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	for _, in := range []string{
		"07",                  // block type 3
		"0100000000",          // stored LEN/NLEN mismatch
		"030200",              // fixed block: a back-reference before any output
		"fd" + "ffffffffffff", // dynamic header with too many codes
	} {
		b, _ := hex.DecodeString(in)
		_, err := io.ReadAll(NewReader(bytes.NewReader(b)))
		if err == nil {
			t.Errorf("%s: no error", in)
		}
	}
	// A truncated stream is an unexpected EOF, not a clean end.
	var enc bytes.Buffer
	w, _ := flate.NewWriter(&enc, 5)
	w.Write(bytes.Repeat([]byte("abc"), 1000))
	w.Close()
	_, err := io.ReadAll(NewReader(bytes.NewReader(enc.Bytes()[:enc.Len()/2])))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v", err)
	}
}

// FuzzInflate checks that arbitrary input never panics or loops, and
// that valid streams decode as compress/flate decodes them.
func FuzzInflate(f *testing.F) {
	for _, s := range []string{"4a34303054f0f3f70fe0e50208a044030323bc4c8000", "4a34303054f0f3f70fe0e502000000ffff", "07", "0100000000"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	var enc bytes.Buffer
	w, _ := flate.NewWriter(&enc, 9)
	w.Write(testData(rand.New(rand.NewPCG(3, 4)), 5000))
	w.Close()
	f.Add(enc.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := io.ReadAll(io.LimitReader(NewReader(&chunkReader{data: in, rnd: rand.New(rand.NewPCG(5, 6))}), 1<<22))
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(in)), 1<<22))
		if err == nil && werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("output differs from compress/flate")
		}
		if werr == nil && err != nil {
			t.Fatalf("compress/flate accepts, we fail: %v", err)
		}
	})
}

func BenchmarkInflate(b *testing.B) {
	data := testData(rand.New(rand.NewPCG(7, 8)), 1<<20)
	var enc bytes.Buffer
	w, _ := flate.NewWriter(&enc, 6)
	w.Write(data)
	w.Close()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		io.Copy(io.Discard, NewReader(bytes.NewReader(enc.Bytes())))
	}
}

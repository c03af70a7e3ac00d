package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// trickle hands out its data in reads of at most step octets, and never
// past the end of the current chunk, as a connection delivers what the
// client sent so far: a pooled Reader then finds its buffer empty after
// each chunk.
type trickle struct {
	chunks [][]byte
	step   int
}

func (t *trickle) Read(p []byte) (int, error) {
	for len(t.chunks) > 0 && len(t.chunks[0]) == 0 {
		t.chunks = t.chunks[1:]
	}
	if len(t.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), t.step)], t.chunks[0])
	t.chunks[0] = t.chunks[0][n:]
	return n, nil
}

func (t *trickle) remaining() int {
	n := 0
	for _, c := range t.chunks {
		n += len(c)
	}
	return n
}

// readAll reads commands until the stream ends or fails, and renders what
// came out, command by command.
func readAll(r *Reader) []string {
	var out []string
	for i := 0; i < 1000; i++ {
		cmd, err := r.ReadCommand()
		if cmd != nil {
			out = append(out, dump(cmd))
			closeCommand(cmd)
		}
		if err != nil {
			out = append(out, "error: "+dump(err)+err.Error())
			var e *Error
			if !errors.As(err, &e) || e.Fatal {
				return out
			}
		}
	}
	return append(out, "too many commands")
}

// pooledStreams are the command streams both kinds of Reader must read
// alike.
func pooledStreams() []string {
	streams := append([]string{}, fuzzSeeds...)
	for _, tc := range validCommandTests {
		streams = append(streams, "t "+tc.in+"\r\nnext NOOP\r\n")
	}
	for _, tc := range invalidCommandTests {
		streams = append(streams, tc.in+"\r\nnext NOOP\r\n")
	}
	return append(streams, "\r\n\r\na NOOP\r\n", "", "a NOO", "a APPEND x {3+}\r\nabc\r\n")
}

// A pooled Reader reads every stream as a Reader with its own buffer does,
// whatever the reads of the connection look like.
func TestPooledReaderMatches(t *testing.T) {
	dir := t.TempDir()
	pool := &ReaderPool{Size: 16} // small: lines span buffer refills
	for _, in := range pooledStreams() {
		fixed := NewReader(bufio.NewReaderSize(strings.NewReader(in), 16), fuzzOptions(dir), func(string) error { return nil })
		want := readAll(fixed)
		for _, step := range []int{1, 3, 64} {
			src := &trickle{chunks: [][]byte{[]byte(in)}, step: step}
			pooled := NewPooledReader(src, pool, fuzzOptions(dir), func(string) error { return nil })
			if got := readAll(pooled); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q in reads of %d:\ngot  %q\nwant %q", in, step, got, want)
			}
		}
	}
	assertEmptyDir(t, dir)
}

// Between commands, and after an IDLE line, a pooled Reader holds no
// buffer unless the client already sent more; it hands what it buffered
// to Pending.
func TestPooledReaderRests(t *testing.T) {
	pool := &ReaderPool{}
	src := &trickle{chunks: [][]byte{
		[]byte("a NOOP\r\n"),
		[]byte("b LOGIN {3}\r\n"), []byte("bob pw\r\n"),
		[]byte("DONE\r\n"),
		[]byte("c NOOP\r\nd NOOP\r\n"),
		[]byte("e COMPRESS DEFLATE\r\n\x01\x02"),
	}, step: 1 << 20}
	conts := 0
	r := NewPooledReader(src, pool, Options{}, func(string) error { conts++; return nil })
	expect := func(tag string, buffered bool) {
		t.Helper()
		cmd, err := r.ReadCommand()
		if err != nil || cmd.Tag != tag {
			t.Fatalf("got %s, %v; want tag %s", dump(cmd), err, tag)
		}
		if (r.br != nil) != buffered {
			t.Fatalf("after %s: holds a buffer: %v, want %v", tag, r.br != nil, buffered)
		}
	}
	if r.br != nil {
		t.Fatal("a buffer before the first command")
	}
	expect("a", false)
	expect("b", false)
	if conts != 1 {
		t.Fatalf("%d continuations", conts)
	}
	if line, err := r.ReadLine(); err != nil || string(line) != "DONE" || r.br != nil {
		t.Fatalf("ReadLine: %q, %v, buffer %v", line, err, r.br != nil)
	}
	expect("c", true) // d is pipelined behind it
	expect("d", false)
	expect("e", true)
	if p := r.Pending(); string(p) != "\x01\x02" {
		t.Fatalf("Pending: %q", p)
	}
	if r.Buffered() != 2 {
		t.Fatalf("Buffered: %d", r.Buffered())
	}
	r.ResetPooled(strings.NewReader("f NOOP\r\n"), pool)
	expect("f", false)
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	if src.remaining() != 0 {
		t.Fatalf("%d octets unread", src.remaining())
	}
}

// The wait for a command returns the connection's errors as they are:
// EOF, and a deadline (the autologout timer).
func TestPooledReaderWaitErrors(t *testing.T) {
	pool := &ReaderPool{}
	r := NewPooledReader(strings.NewReader(""), pool, Options{}, nil)
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
	r = NewPooledReader(failingReader{errTimeout}, pool, Options{}, nil)
	if _, err := r.ReadLine(); !errors.Is(err, errTimeout) || r.br != nil {
		t.Fatalf("deadline: %v, buffer %v", err, r.br != nil)
	}
}

var errTimeout = errors.New("i/o timeout")

type failingReader struct{ err error }

func (e failingReader) Read([]byte) (int, error) { return 0, e.err }

// A pooled Writer writes what a Writer with its own buffer writes, also
// across flushes of a full buffer, and holds no buffer after Flush.
func TestPooledWriter(t *testing.T) {
	pool := &WriterPool{Size: 32}
	script := func(w *Writer) {
		w.Raw("* 3 EXISTS")
		w.CRLF()
		w.Number(1234567890123)
		w.SP()
		w.String(`quoted "and" \escaped`)
		w.SP()
		w.String(strings.Repeat("long ", 20))
		w.SP()
		w.DateTime(time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC))
		w.Literal(5, strings.NewReader("hello"), false)
		w.LiteralBytes([]byte("bytes"), true)
		w.LiteralAt(40, strings.NewReader(strings.Repeat("x", 50)), 5, false, make([]byte, 7))
		w.CRLF()
	}
	var want bytes.Buffer
	fixed := NewWriter(bufio.NewWriterSize(&want, 32))
	script(fixed)
	if err := fixed.Flush(); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	w := NewPooledWriter(&got, pool)
	if w.bw != nil {
		t.Fatal("a buffer before writing")
	}
	if err := w.Flush(); err != nil || got.Len() != 0 {
		t.Fatalf("Flush of nothing: %v, %q", err, got.String())
	}
	for range 2 {
		got.Reset()
		script(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("got  %q\nwant %q", got.String(), want.String())
		}
		if w.bw != nil {
			t.Fatal("the buffer is kept after Flush")
		}
	}
	// A new stream: nothing written before goes there.
	var other bytes.Buffer
	w.Raw("x")
	w.Flush()
	w.ResetPooled(&other, pool)
	w.Raw("y")
	w.Flush()
	if other.String() != "y" {
		t.Fatalf("after ResetPooled: %q", other.String())
	}
}

// A failed write stays the Writer's error, pooled too.
func TestPooledWriterError(t *testing.T) {
	boom := errors.New("boom")
	w := NewPooledWriter(&failWriter{n: 3, err: boom}, &WriterPool{Size: 4})
	w.Raw("hello world")
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v", err)
	}
	w.Raw("more")
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush after the failure: %v", err)
	}
}

// FuzzPooledReader: a pooled Reader, over a connection that delivers the
// stream in arbitrary pieces, reads what a Reader with its own buffer
// reads.
func FuzzPooledReader(f *testing.F) {
	for _, s := range pooledStreams() {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(5))
	}
	dir := f.TempDir()
	pool := &ReaderPool{Size: 16}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		fixed := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 16), fuzzOptions(dir), func(string) error { return nil })
		want := readAll(fixed)
		src := &trickle{chunks: [][]byte{bytes.Clone(data)}, step: int(step%32) + 1}
		pooled := NewPooledReader(src, pool, fuzzOptions(dir), func(string) error { return nil })
		if got := readAll(pooled); !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
		assertEmptyDir(t, dir)
	})
}

// flaky fails its first reads with err, then reads from r.
type flaky struct {
	fails int
	err   error
	r     io.Reader
}

func (f *flaky) Read(p []byte) (int, error) {
	if f.fails > 0 {
		f.fails--
		return 0, f.err
	}
	return f.r.Read(p)
}

// Await waits for the first octet of the next command; after a deadline's
// error the Reader awaits again and reads on as if nothing happened.
func TestAwait(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		src := &flaky{fails: 2, err: errTimeout, r: strings.NewReader("a NOOP\r\nb NOOP\r\n")}
		var r *Reader
		if pooled {
			r = NewPooledReader(src, &ReaderPool{}, Options{}, nil)
		} else {
			r = NewReader(bufio.NewReader(src), Options{}, nil)
		}
		for range 2 {
			if err := r.Await(); !errors.Is(err, errTimeout) {
				t.Fatalf("pooled %v: Await: %v", pooled, err)
			}
			if r.Buffered() != 0 {
				t.Fatalf("pooled %v: %d buffered after a failed Await", pooled, r.Buffered())
			}
		}
		if err := r.Await(); err != nil || r.Buffered() == 0 {
			t.Fatalf("pooled %v: Await: %v, %d buffered", pooled, err, r.Buffered())
		}
		for _, tag := range []string{"a", "b"} {
			if err := r.Await(); err != nil {
				t.Fatalf("pooled %v: Await before %s: %v", pooled, tag, err)
			}
			if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != tag {
				t.Fatalf("pooled %v: got %s, %v; want %s", pooled, dump(cmd), err, tag)
			}
		}
		if err := r.Await(); err != io.EOF {
			t.Fatalf("pooled %v: Await at the end: %v", pooled, err)
		}
	}
}

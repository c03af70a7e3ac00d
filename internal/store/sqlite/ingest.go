package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"postfach/internal/mime"
	"postfach/internal/store/match"
)

// crlfReader turns bare LF line endings into CRLF, so that stored
// messages use the line endings every protocol sends (RFC 5322 section
// 2.3) and sizes and offsets are those of the bytes sent.
type crlfReader struct {
	r      io.Reader
	buf    []byte
	outBuf []byte // 2*len(buf): room for a buffer of nothing but LFs
	out    []byte // pending output, within outBuf
	prevCR bool
	err    error
}

func newCRLFReader(r io.Reader) *crlfReader {
	c := &crlfReader{buf: make([]byte, 16<<10)}
	c.outBuf = make([]byte, 0, 2*len(c.buf))
	c.reset(r)
	return c
}

// reset starts over on r, keeping the buffers.
func (c *crlfReader) reset(r io.Reader) {
	c.r, c.out, c.prevCR, c.err = r, nil, false, nil
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.buf)
		c.err = err
		// Copy up to each LF, and add the CR it lacks: most messages have
		// CRLF already, and go through in a few copies.
		src, out := c.buf[:n], c.outBuf[:0]
		for len(src) > 0 {
			i := bytes.IndexByte(src, '\n')
			if i < 0 {
				out = append(out, src...)
				c.prevCR = src[len(src)-1] == '\r'
				break
			}
			cr := c.prevCR
			if i > 0 {
				cr = src[i-1] == '\r'
			}
			out = append(out, src[:i]...)
			if !cr {
				out = append(out, '\r')
			}
			out = append(out, '\n')
			c.prevCR = false
			src = src[i+1:]
		}
		c.out = out
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// prefixWriter keeps the first max bytes written to it.
type prefixWriter struct {
	buf []byte
	max int
	n   int64
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// maxCapturedHeader is how much of a message's start is kept in memory
// while it streams to its blob; a longer header is read back from the blob.
const maxCapturedHeader = 256 << 10

// ingested is a message written to a committed blob, with the facts its
// rows need.
type ingested struct {
	blob       string
	size       int64
	headerSize int64
	structure  []byte
	sentDate   *time.Time
	headers    [len(indexedHeaders)]*string
	references string // the raw References field, for sort
	sort       sortColumns
	text       textRow // preview; queues the text for the index (fts.go)
}

// indexedHeaders are the header fields kept (decoded, folded) in blobs
// columns, so that SEARCH on them needs no blob read. Order matches the
// h_* columns.
var indexedHeaders = [...]string{"subject", "from", "to", "cc", "bcc", "message-id"}

func indexedColumn(field string) string {
	for _, h := range indexedHeaders {
		if h == field {
			return "h_" + strings.ReplaceAll(h, "-", "_")
		}
	}
	return ""
}

// ingestBufs are one ingest's buffers, kept in Store.bufs for the next:
// at thousands of messages per second, allocating them anew for each
// message costs more in garbage collection than the parsing they serve.
type ingestBufs struct {
	crlf *crlfReader
	// br is the parser's read buffer: mime.Parse reads through a
	// *bufio.Reader it is given when that is large enough, instead of
	// wrapping the reader in a new one.
	br   *bufio.Reader
	head []byte
}

// maxKeptHead bounds the header buffer kept for the next ingest.
const maxKeptHead = 64 << 10

func (s *Store) ingestBufs() *ingestBufs {
	if b, ok := s.bufs.Get().(*ingestBufs); ok {
		return b
	}
	return &ingestBufs{crlf: newCRLFReader(nil), br: bufio.NewReaderSize(nil, 32<<10)}
}

func (s *Store) putIngestBufs(b *ingestBufs) {
	b.crlf.reset(nil)
	b.br.Reset(nil)
	if cap(b.head) > maxKeptHead {
		b.head = nil
	}
	s.bufs.Put(b)
}

// ingest streams body into a new blob (LF normalized to CRLF), parses it on
// the way, and commits the blob (the writer makes it durable, see
// writer.runBatch).
func (s *Store) ingest(ctx context.Context, body io.Reader) (in ingested, err error) {
	w, err := s.blobs.Create(ctx)
	if err != nil {
		return in, err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	bufs := s.ingestBufs()
	defer s.putIngestBufs(bufs)
	head := &prefixWriter{buf: bufs.head[:0], max: maxCapturedHeader}
	defer func() { bufs.head = head.buf[:0] }()
	bufs.crlf.reset(ctxReader{ctx, body})
	bufs.br.Reset(io.TeeReader(bufs.crlf, io.MultiWriter(w, head)))
	part, err := mime.Parse(bufs.br)
	if err != nil {
		return in, fmt.Errorf("sqlite: reading message: %w", err)
	}
	if err := w.Commit(); err != nil {
		return in, err
	}
	in.blob = w.Name()
	in.size = head.n
	in.headerSize = part.BodyStart
	if in.structure, err = json.Marshal(part); err != nil {
		s.blobs.Delete(ctx, in.blob)
		return in, err
	}
	header := head.buf
	if part.BodyStart > int64(len(header)) {
		if header, err = s.readHeader(ctx, in.blob, part.BodyStart); err != nil {
			s.blobs.Delete(ctx, in.blob)
			return in, err
		}
	}
	in.indexHeader(header[:min(int64(len(header)), part.BodyStart)])
	in.sort = computeSortColumns(part.Envelope, in.references)
	var whole []byte
	if head.n <= int64(len(head.buf)) {
		whole = head.buf
	}
	in.text = s.deliveredText(ctx, in.blob, whole, part)
	return in, nil
}

func (s *Store) readHeader(ctx context.Context, name string, n int64) ([]byte, error) {
	r, err := s.blobs.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("sqlite: reading header of %s: %w", name, err)
	}
	return buf, nil
}

// indexHeader fills the indexed header columns and the sent date.
func (in *ingested) indexHeader(header []byte) {
	var vals [len(indexedHeaders)][]string
	for _, f := range mime.ParseHeader(header) {
		name := strings.ToLower(f.Name)
		if name == "references" && in.references == "" {
			in.references = f.Value()
			continue
		}
		if name == "date" && in.sentDate == nil {
			if t, ok := mime.ParseDate(f.Value()); ok {
				in.sentDate = &t
			}
			continue
		}
		for i, h := range indexedHeaders {
			if h == name {
				vals[i] = append(vals[i], match.Fold(mime.DecodeHeaderValue(f.Value())))
			}
		}
	}
	for i, v := range vals {
		if v != nil {
			joined := strings.Join(v, "\n")
			in.headers[i] = &joined
		}
	}
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

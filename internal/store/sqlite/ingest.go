package sqlite

import (
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
	out    []byte // pending output
	prevCR bool
	err    error
}

func newCRLFReader(r io.Reader) *crlfReader {
	return &crlfReader{r: r, buf: make([]byte, 32<<10)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.buf)
		c.err = err
		c.out = c.out[:0]
		for _, b := range c.buf[:n] {
			if b == '\n' && !c.prevCR {
				c.out = append(c.out, '\r')
			}
			c.out = append(c.out, b)
			c.prevCR = b == '\r'
		}
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
	head := &prefixWriter{max: maxCapturedHeader}
	tee := io.TeeReader(newCRLFReader(ctxReader{ctx, body}), io.MultiWriter(w, head))
	part, err := mime.Parse(tee)
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

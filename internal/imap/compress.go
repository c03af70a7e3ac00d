package imap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"io"

	"postfach/internal/imap/wire"
	"postfach/internal/inflate"
)

// compressBufSize is the write buffer of a compressed session: each flush
// of the buffer is one sync flush of the compressor, so a larger buffer
// costs fewer flush markers on big FETCH responses.
const compressBufSize = 16 << 10

// cmdCompress turns on DEFLATE in both directions (RFC 4978).
func (c *session) cmdCompress(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.CompressArgs)
	if c.compressed {
		// RFC 4978 section 3: BAD when COMPRESS is already active.
		return errBad("COMPRESSIONACTIVE", "DEFLATE is already active")
	}
	if args.Mechanism != "DEFLATE" {
		return errBad("", "Unknown compression mechanism; only DEFLATE is offered")
	}
	c.statusLine(cmd.Tag, "OK", "", "DEFLATE active")
	if err := c.w.Flush(); err != nil {
		return errBye
	}
	// The client sends nothing after COMPRESS until it saw the OK
	// (section 3), so nothing should be buffered; if something is, it
	// is already compressed and goes to the decompressor first.
	pending := c.r.Pending()
	src := io.Reader(c.conn)
	if len(pending) > 0 {
		src = io.MultiReader(bytes.NewReader(pending), c.conn)
	}
	// Level 1: RFC 4978 section 4 notes that zlib's cheapest setting
	// already compresses responses to 25-40%; the CPU goes to more
	// sessions instead.
	fw, err := flate.NewWriter(c.conn, flate.BestSpeed)
	if err != nil {
		return errBye
	}
	c.compressed = true
	c.br = bufio.NewReaderSize(inflate.NewReader(src), 4096)
	c.bw = bufio.NewWriterSize(&flushWriter{fw}, compressBufSize)
	c.r.Reset(c.br)
	c.w.Reset(c.bw)
	c.log.Debug("compression active")
	return errAnswered
}

// flushWriter compresses each write and ends it with a sync flush (RFC
// 4978 section 4: the receiver must be able to decode every response as
// soon as it arrived). The session's bufio.Writer above it decides when
// to write: at the end of each response, or when its buffer is full.
type flushWriter struct {
	fw *flate.Writer
}

func (w *flushWriter) Write(p []byte) (int, error) {
	n, err := w.fw.Write(p)
	if err != nil {
		return n, err
	}
	return n, w.fw.Flush()
}

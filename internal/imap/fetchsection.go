package imap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"postfach/internal/imap/wire"
	"postfach/internal/mime"
	"postfach/internal/store"
)

// sectionContent is the resolved data of a body section item: octets held
// in memory (data), a range of the body (body, start, size), or decoded
// content (decoded).
type sectionContent struct {
	label  string // e.g. BODY[1.2]<0>
	isNil  bool
	size   int64
	binary bool // send as literal8
	// data holds the section when it was built in memory (HEADER.FIELDS);
	// else, with body set, the section is size octets of body from start.
	data  []byte
	body  io.ReaderAt
	start int64
	// decoded returns the section from its start when it is neither
	// (BINARY of an encoded part).
	decoded func() io.Reader
	// number is set for BINARY.SIZE.
	number   bool
	numValue int64
}

// open returns the section's data from its start.
func (sc *sectionContent) open() io.Reader {
	switch {
	case sc.decoded != nil:
		return sc.decoded()
	case sc.body != nil:
		return io.NewSectionReader(sc.body, sc.start, sc.size)
	}
	return bytes.NewReader(sc.data[:sc.size])
}

// messageBody is one message's body while its items are resolved, with
// its header once read: header sections of the message itself are served
// from the body alone, without the stored MIME tree.
type messageBody struct {
	m    *store.Message
	body store.Body
	bufs *fetchBuffers // may be nil
	// header is the message's header section once read; headerRead
	// tells whether it was.
	header     []byte
	headerRead bool
}

// fetchBuffers are one FETCH command's buffers, reused from message to
// message: the HEADER.FIELDS output, and the buffer that literals are
// copied through, which also takes the header read from a body: a header
// serves only to resolve items, all of them before any literal is copied.
type fetchBuffers struct {
	fields []byte
	copy   *[]byte // from literalBufs, once needed
}

// literalBufs holds the buffers that literals are copied through from
// bodies. At 32 KB a body of a few tens of KB is one read and, past the
// session's 4 KB writer, goes to the connection as one or two TLS
// records. The pool keeps no state any session could see.
var literalBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// copyBuf returns the buffer for copying literals.
func (b *fetchBuffers) copyBuf() []byte {
	if b.copy == nil {
		b.copy = literalBufs.Get().(*[]byte)
	}
	return *b.copy
}

// release returns the pooled buffer; b stays usable.
func (b *fetchBuffers) release() {
	if b.copy != nil {
		literalBufs.Put(b.copy)
		b.copy = nil
	}
}

// headerEnd returns where the message's body starts.
func (mb *messageBody) headerEnd() (int64, error) {
	if mb.m.Part != nil {
		return mb.m.Part.BodyStart, nil
	}
	h, err := mb.rootHeader()
	return int64(len(h)), err
}

// firstHeaderRead is how much of a body is read first to find its header;
// most headers are shorter, and reading a few KB more from the page cache
// costs less than a second read.
const firstHeaderRead = 8 << 10

// rootHeader returns the message's header section, up to and including
// the empty line that ends it. Without the MIME tree its end is found as
// mime.Parse finds it: a larger read each time until it shows.
func (mb *messageBody) rootHeader() ([]byte, error) {
	if mb.headerRead {
		return mb.header, nil
	}
	var buf []byte
	if mb.bufs != nil {
		buf = mb.bufs.copyBuf()[:0]
	}
	size, n := mb.m.Size, min(mb.m.Size, firstHeaderRead)
	if mb.m.Part != nil {
		size, n = mb.m.Part.BodyStart, mb.m.Part.BodyStart
	}
	read := int64(0)
	for {
		buf = growTo(buf, n)
		got, err := mb.body.ReadAt(buf[read:n], read)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading header: %w", err)
		}
		if int64(got) < n-read {
			// The body is shorter than its size says: what is there
			// is all there is.
			n = read + int64(got)
			size = n
		}
		read = n
		if mb.m.Part != nil {
			break
		}
		if end, ok := mime.HeaderEnd(buf[:n]); ok {
			n = end
			break
		}
		if n == size {
			break // no empty line: the header is the whole message
		}
		n = min(size, 4*n)
	}
	mb.header, mb.headerRead = buf[:n], true
	return mb.header, nil
}

// growTo returns b with length n, keeping its contents.
func growTo(b []byte, n int64) []byte {
	if int64(cap(b)) >= n {
		return b[:n]
	}
	nb := make([]byte, n)
	copy(nb, b)
	return nb
}

// resolveItem resolves a body section item under label (itemLabel's,
// worked out once per command).
func (c *session) resolveItem(it wire.FetchItem, label string, mb *messageBody) (*sectionContent, error) {
	m, body := mb.m, mb.body
	if label == "" {
		label = itemLabel(it)
	}
	switch it.Name {
	case "RFC822":
		return rangeContent("RFC822", body, 0, m.Size), nil
	case "RFC822.HEADER":
		end, err := mb.headerEnd()
		if err != nil {
			return nil, err
		}
		return rangeContent("RFC822.HEADER", body, 0, end), nil
	case "RFC822.TEXT":
		end, err := mb.headerEnd()
		if err != nil {
			return nil, err
		}
		return rangeContent("RFC822.TEXT", body, end, m.Size), nil
	case "BODY", "BODY.PEEK":
		if it.Section == nil {
			return nil, nil
		}
		sc, err := mb.section(it.Section)
		if err != nil {
			return nil, err
		}
		sc.label = label
		return applyPartial(sc, it.Partial), nil
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		sc, err := binarySection(it.Section, m, body)
		if err != nil {
			return nil, err
		}
		sc.label = label
		if it.Name == "BINARY.SIZE" {
			sc.number, sc.numValue = true, sc.size
			return sc, nil
		}
		return applyPartial(sc, it.Partial), nil
	}
	return nil, nil
}

// itemLabel is the label a body section item's data is sent under:
// BODY[section]<origin>, BINARY[section]<origin>, BINARY.SIZE[section]
// (RFC 9051 section 7.5.2, RFC 3516 section 4.2); "" for other items,
// whose names are their labels.
func itemLabel(it wire.FetchItem) string {
	var name string
	switch it.Name {
	case "BODY", "BODY.PEEK":
		name = "BODY"
	case "BINARY", "BINARY.PEEK":
		name = "BINARY"
	case "BINARY.SIZE":
		return "BINARY.SIZE[" + sectionString(it.Section) + "]"
	default:
		return ""
	}
	if it.Section == nil {
		return ""
	}
	label := name + "[" + sectionString(it.Section) + "]"
	if it.Partial != nil {
		label += "<" + strconv.FormatUint(uint64(it.Partial.Offset), 10) + ">"
	}
	return label
}

func rangeContent(label string, body store.Body, start, end int64) *sectionContent {
	if end < start {
		end = start
	}
	return &sectionContent{label: label, size: end - start, body: body, start: start}
}

// applyPartial cuts <offset.count> out of a section (RFC 9051 section
// 6.4.5). The origin octet in the label is the caller's.
func applyPartial(sc *sectionContent, p *wire.Partial) *sectionContent {
	if p == nil || sc.isNil {
		return sc
	}
	off := int64(p.Offset)
	if off >= sc.size {
		*sc = sectionContent{label: sc.label, binary: sc.binary, data: []byte{}}
		return sc
	}
	n := min(int64(p.Count), sc.size-off)
	switch {
	case sc.decoded != nil:
		decoded := sc.decoded
		sc.decoded = func() io.Reader {
			r := decoded()
			if _, err := io.CopyN(io.Discard, r, off); err != nil {
				return errReader{err}
			}
			return io.LimitReader(r, n)
		}
	case sc.body != nil:
		sc.start += off
	default:
		sc.data = sc.data[off : off+n]
	}
	sc.size = n
	return sc
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (c *session) writeSection(sc *sectionContent, bufs *fetchBuffers) error {
	switch {
	case sc.number:
		c.w.Number(uint64(sc.numValue))
		return nil
	case sc.isNil:
		c.w.Raw("NIL")
		return nil
	case sc.decoded != nil:
		c.w.Literal(sc.size, sc.decoded(), sc.binary)
	case sc.body != nil:
		c.w.LiteralAt(sc.size, sc.body, sc.start, sc.binary, bufs.copyBuf())
	default:
		c.w.LiteralBytes(sc.data[:sc.size], sc.binary)
	}
	return c.w.Err()
}

func sectionString(s *wire.Section) string {
	var b strings.Builder
	for i, p := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// sectionNeedsTree reports whether a BODY section needs the message's
// MIME tree: one that names a part does; those of the message itself
// ([], HEADER, TEXT, HEADER.FIELDS) need only where its header ends,
// which the body tells.
func sectionNeedsTree(s *wire.Section) bool {
	return len(s.Part) > 0 || s.Specifier == "MIME"
}

func isMultipart(p *mime.Part) bool { return p.Type == "multipart" }

func isMessagePart(p *mime.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") && p.Message != nil
}

// bodySection resolves BODY[section] of m, whose MIME tree is loaded when
// sectionNeedsTree says it must be.
func bodySection(sec *wire.Section, m *store.Message, body store.Body) (*sectionContent, error) {
	mb := messageBody{m: m, body: body}
	return mb.section(sec)
}

// section resolves BODY[section].
func (mb *messageBody) section(sec *wire.Section) (*sectionContent, error) {
	m, body := mb.m, mb.body
	if len(sec.Part) == 0 {
		switch sec.Specifier {
		case "":
			return rangeContent("", body, 0, m.Size), nil
		case "HEADER", "TEXT":
			end, err := mb.headerEnd()
			if err != nil {
				return nil, err
			}
			if sec.Specifier == "HEADER" {
				return rangeContent("", body, 0, end), nil
			}
			return rangeContent("", body, end, m.Size), nil
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			raw, err := mb.rootHeader()
			if err != nil {
				return nil, err
			}
			return mb.fieldsContent(raw, sec), nil
		}
	}
	if m.Part == nil {
		// planFetch loads the tree for every other section.
		return nil, errors.New("imap: section needs the MIME tree")
	}
	root := m.Part
	p := root
	if len(sec.Part) > 0 {
		p = mime.Section(root, sec.Part)
		if p == nil {
			return &sectionContent{isNil: true}, nil
		}
	}
	// msg is the message whose header HEADER* and TEXT refer to.
	msg := root
	if len(sec.Part) > 0 {
		if !isMessagePart(p) {
			msg = nil
		} else {
			msg = p.Message
		}
	}
	switch sec.Specifier {
	case "":
		return rangeContent("", body, p.BodyStart, p.BodyEnd), nil
	case "MIME":
		return rangeContent("", body, p.HeaderStart, p.BodyStart), nil
	case "HEADER":
		if msg == nil {
			return &sectionContent{isNil: true}, nil
		}
		return rangeContent("", body, msg.HeaderStart, msg.BodyStart), nil
	case "TEXT":
		if msg == nil {
			return &sectionContent{isNil: true}, nil
		}
		return rangeContent("", body, msg.BodyStart, msg.BodyEnd), nil
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if msg == nil {
			return &sectionContent{isNil: true}, nil
		}
		raw := make([]byte, msg.BodyStart-msg.HeaderStart)
		if _, err := body.ReadAt(raw, msg.HeaderStart); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading header: %w", err)
		}
		return mb.fieldsContent(raw, sec), nil
	}
	return nil, errBad("", "Unknown section specifier")
}

// fieldsContent is HEADER.FIELDS (or .NOT) of the header raw, built in
// the command's buffer when there is one.
func (mb *messageBody) fieldsContent(raw []byte, sec *wire.Section) *sectionContent {
	var dst []byte
	if mb.bufs != nil {
		dst = mb.bufs.fields
	}
	start := len(dst)
	dst = appendFilteredHeader(dst, raw, sec.Fields, sec.Specifier == "HEADER.FIELDS.NOT")
	if mb.bufs != nil {
		// Earlier items of the message keep their slices of the
		// buffer, even when this append moved it.
		mb.bufs.fields = dst
	}
	out := dst[start:len(dst):len(dst)]
	return &sectionContent{size: int64(len(out)), data: out}
}

// appendFilteredHeader appends to dst the fields of the header raw that
// are named (or, with not, those that are not), matched ASCII
// case-insensitively, and the blank line that ends the header when there
// is one.
func appendFilteredHeader(dst, raw []byte, names []string, not bool) []byte {
	for name, field := range mime.HeaderFields(raw) {
		in := false
		for _, n := range names {
			if asciiEqualFold(name, n) {
				in = true
				break
			}
		}
		if in != not {
			dst = append(dst, field...)
		}
	}
	if bytes.HasSuffix(raw, []byte("\r\n\r\n")) || bytes.HasSuffix(raw, []byte("\n\n")) || string(raw) == "\r\n" {
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// asciiEqualFold reports whether b and s are equal under ASCII case
// folding: header field names are ASCII (RFC 5322 section 2.2).
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// binarySection resolves BINARY[section] (RFC 3516 section 4.2): the
// decoded content of a leaf part.
func binarySection(sec *wire.Section, m *store.Message, body store.Body) (*sectionContent, error) {
	if len(sec.Part) == 0 {
		// The whole message is not encoded as a whole.
		sc := rangeContent("", body, 0, m.Size)
		sc.binary = true
		return sc, nil
	}
	p := mime.Section(m.Part, sec.Part)
	if p == nil {
		return &sectionContent{isNil: true}, nil
	}
	if isMultipart(p) || isMessagePart(p) {
		return nil, errNo("", "BINARY applies to leaf parts only")
	}
	switch p.Encoding {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
	default:
		return nil, errNo("UNKNOWN-CTE", "Unknown Content-Transfer-Encoding "+p.Encoding)
	}
	// Two passes: one to learn the decoded size and whether it holds
	// NUL (literal8 is then required), one to send it.
	var size int64
	nul := false
	buf := make([]byte, 32<<10)
	r := mime.DecodedBody(body, p)
	for {
		n, err := r.Read(buf)
		size += int64(n)
		if !nul && bytes.IndexByte(buf[:n], 0) >= 0 {
			nul = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding part: %w", err)
		}
	}
	return &sectionContent{size: size, binary: nul, decoded: func() io.Reader {
		return mime.DecodedBody(body, p)
	}}, nil
}

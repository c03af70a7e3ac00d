package mime

import (
	"bytes"
	"io"
	"strings"
)

// Limits on hostile structure. A multipart or message/rfc822 part nested
// deeper than MaxDepth, or met when the message already has MaxParts parts,
// is not entered: it becomes an opaque application/octet-stream leaf whose
// offsets still cover its body, so it can be fetched. A multipart that
// reaches MaxParts keeps the parts it has and skips the rest of its body.
const (
	MaxDepth = 100
	MaxParts = 10000
)

// maxFieldLen caps the value kept of one header field that Parse looks at
// (Content-*, envelope fields); the rest of a longer field is ignored.
const maxFieldLen = 256 << 10

// maxBoundaryLen caps boundaries; RFC 2046 section 5.1.1 allows 70
// characters. A longer boundary makes the multipart a text/plain leaf, like
// a missing one. It must stay well below readBufSize.
const maxBoundaryLen = 1000

// Parse reads a whole message from r in one streaming pass and returns its
// MIME tree with offsets relative to the first byte read. It reads r to EOF
// and fails only when r fails; malformed input always yields a tree.
//
// Line ends are CRLF; a bare LF also ends a line, and offsets stay exact
// byte offsets either way. How the tree is built (RFC 2045, RFC 2046):
//
//   - A part's header ends at its first empty line. Without one, the header
//     runs to the end of the part and the body is empty (BodyStart ==
//     BodyEnd). A boundary line of an enclosing multipart also ends a
//     header; the line break before it belongs to the boundary.
//   - Header lines without a colon (or with an invalid name) are skipped.
//   - Inside a multipart, the line break before a delimiter line belongs to
//     the delimiter (RFC 2046 section 5.1.1), so BodyEnd excludes it. The
//     preamble and epilogue belong to no part.
//   - A delimiter line is "--" followed by the boundary and anything else
//     (trailing white space, RFC 2046's transport padding, or garbage):
//     the boundary only has to be a prefix of the line, as section 5.1.1
//     tells implementors. It is matched against every open multipart, and
//     the longest matching boundary wins, the innermost on a tie; a match
//     for an enclosing multipart closes every part inside it. A multipart
//     without close delimiter ends where its parent ends (or at the end of
//     the message).
//   - message/rfc822 and message/global bodies are parsed as messages, with
//     their own header, Envelope and structure; multipart/digest children
//     without Content-Type are message/rfc822 (RFC 2046 section 5.1.5).
//   - A missing or invalid Content-Type is text/plain; charset=us-ascii (RFC
//     2045 section 5.2). So is a multipart without (usable) boundary
//     parameter: RFC 2046 section 5.1.1 requires the parameter, so the
//     field is invalid. (Dovecot instead keeps the multipart type and
//     renders the part as a leaf; we prefer that "multipart" always means a
//     part with children, so the IMAP layer has one rule, and that the text
//     stays searchable.)
//   - Lines counts the line feeds between BodyStart and BodyEnd, as Dovecot
//     does for BODYSTRUCTURE: a body "hello CRLF" before a delimiter
//     ("hello CRLF CRLF --b") has 1 line, and a last line without line feed
//     at the end of the message is not counted.
func Parse(r io.Reader) (*Part, error) {
	return parse(r, readBufSize)
}

// parse is Parse with a read buffer of bufSize bytes; tests use small
// buffers to exercise long lines. bufSize must exceed maxBoundaryLen+4 so
// that a delimiter line's start is always in one piece.
func parse(r io.Reader, bufSize int) (*Part, error) {
	p := &parser{l: newLineReader(r, bufSize)}
	root := p.newPart()
	p.parsePart(root, 0, 0, false, true)
	// The root has no enclosing boundary, so it ends at EOF.
	if p.l.err != nil {
		return nil, p.l.err
	}
	return root, nil
}

type parser struct {
	l      *lineReader
	bounds [][]byte // boundaries of the open multiparts, innermost last
	nparts int
	slab   []Part // parts are allocated in blocks
	fbuf   []byte // value of the header field being collected
	// freeBreak: the previous line's line break is content (see endAt).
	freeBreak bool
}

func (p *parser) newPart() *Part {
	p.nparts++
	if len(p.slab) == cap(p.slab) {
		n := 2 * cap(p.slab)
		if n < 4 {
			n = 4
		} else if n > 64 {
			n = 64
		}
		p.slab = make([]Part, 0, n)
	}
	p.slab = p.slab[:len(p.slab)+1]
	return &p.slab[len(p.slab)-1]
}

// matchBoundary reports which open boundary the current line starts (index
// into p.bounds, or -1) and whether it is a close delimiter.
func (p *parser) matchBoundary() (int, bool) {
	h := p.l.head
	if len(p.bounds) == 0 || len(h) < 2 || h[0] != '-' || h[1] != '-' || p.l.done {
		return -1, false
	}
	h = h[2:]
	best := -1
	for i := len(p.bounds) - 1; i >= 0; i-- {
		b := p.bounds[i]
		if len(b) <= len(h) && bytes.Equal(h[:len(b)], b) && (best < 0 || len(b) > len(p.bounds[best])) {
			best = i
		}
	}
	if best < 0 {
		return -1, false
	}
	n := len(p.bounds[best])
	closing := len(h) >= n+2 && h[n] == '-' && h[n+1] == '-'
	return best, closing
}

// endAt returns where the bodies that end here end, the reader being at
// EOF or at the delimiter line that ends them, and the number of line feeds
// before that end. The line break before a delimiter line belongs to the
// delimiter (RFC 2046 section 5.1.1) unless it is already taken: by the
// empty line that ended a header (the body is empty) or by the delimiter
// line just before (an empty part, or a close delimiter followed by the
// parent's delimiter), as Dovecot counts it. Every part that ends at this
// delimiter gets the same end, so children never reach past their parent.
func (p *parser) endAt() (int64, int64) {
	l := p.l
	if l.done || !p.freeBreak || l.prevT == 0 {
		return l.off, l.lfs
	}
	return l.off - int64(l.prevT), l.lfs - 1
}

// advance moves to the next line; free tells whether the line break of the
// line left behind is content that a following delimiter may claim.
func (p *parser) advance(free bool) {
	p.l.advance()
	p.freeBreak = free
}

// parsePart parses the part whose header starts at offset start, which is
// the current line or, for an encapsulated message whose outer header ended
// at a delimiter line, the line break before it: its header, then its body.
// It returns with the reader at EOF or at a delimiter line of an enclosing
// multipart, which it leaves for the caller.
func (p *parser) parsePart(pt *Part, start int64, depth int, inDigest, message bool) {
	pt.HeaderStart = start
	var h headerInfo
	bodyLFs := p.readHeader(pt, message, &h)
	p.applyContent(pt, &h, inDigest)
	if message {
		pt.Envelope = h.envelope()
	}

	container := pt.Type == "multipart" || pt.Type == "message" && (pt.Subtype == "rfc822" || pt.Subtype == "global")
	if container && (depth >= MaxDepth || p.nparts >= MaxParts) {
		pt.Type, pt.Subtype = "application", "octet-stream"
		container = false
	}
	switch {
	case container && pt.Type == "multipart":
		b := paramValue(pt.Params, "boundary")
		p.parseMultipart(pt, depth, []byte(b), pt.Subtype == "digest")
	case container:
		msg := p.newPart()
		pt.Message = msg
		p.parsePart(msg, pt.BodyStart, depth+1, false, true)
	default:
		p.skipBody(len(p.bounds))
	}
	var endLFs int64
	pt.BodyEnd, endLFs = p.endAt()
	pt.Lines = endLFs - bodyLFs
}

// skipBody skips lines up to EOF or a delimiter line of p.bounds[:limit].
func (p *parser) skipBody(limit int) {
	l := p.l
	for !l.done {
		if len(p.bounds) > 0 && len(l.head) >= 2 && l.head[0] == '-' && l.head[1] == '-' {
			if i, _ := p.matchBoundary(); i >= 0 && i < limit {
				return
			}
		}
		p.advance(true)
	}
}

// parseMultipart parses a multipart body (RFC 2046 section 5.1.1): preamble,
// parts separated by delimiter lines, close delimiter, epilogue.
func (p *parser) parseMultipart(pt *Part, depth int, boundary []byte, digest bool) {
	k := len(p.bounds)
	p.bounds = append(p.bounds, boundary)
	l := p.l
	for !l.done {
		i, closing := p.matchBoundary()
		if i < 0 {
			p.advance(true) // preamble
			continue
		}
		if i < k {
			break // an enclosing multipart's delimiter ends this one too
		}
		p.advance(false)
		if closing {
			// The epilogue runs to the parent's next delimiter.
			p.bounds = p.bounds[:k]
			p.skipBody(k)
			break
		}
		if p.nparts >= MaxParts {
			p.skipBody(k)
			break
		}
		child := p.newPart()
		pt.Parts = append(pt.Parts, child)
		p.parsePart(child, l.off, depth+1, digest, false)
	}
	p.bounds = p.bounds[:k]
}

// fieldKind names the header fields Parse looks at.
type fieldKind uint8

const (
	fNone fieldKind = iota
	fContentType
	fContentTransferEncoding
	fContentID
	fContentDescription
	fContentMD5
	fContentDisposition
	fContentLanguage
	fContentLocation
	// Envelope fields, for message roots only.
	fDate
	fSubject
	fFrom
	fSender
	fReplyTo
	fTo
	fCc
	fBcc
	fInReplyTo
	fMessageID
	numFieldKinds
)

// classify returns the kind of the field called name.
func classify(name []byte, message bool) fieldKind {
	var buf [32]byte
	if len(name) > len(buf) {
		return fNone
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lower := buf[:len(name)]
	if len(lower) > 8 && string(lower[:8]) == "content-" {
		switch string(lower[8:]) {
		case "type":
			return fContentType
		case "transfer-encoding":
			return fContentTransferEncoding
		case "id":
			return fContentID
		case "description":
			return fContentDescription
		case "md5":
			return fContentMD5
		case "disposition":
			return fContentDisposition
		case "language":
			return fContentLanguage
		case "location":
			return fContentLocation
		}
		return fNone
	}
	if !message {
		return fNone
	}
	switch string(lower) {
	case "date":
		return fDate
	case "subject":
		return fSubject
	case "from":
		return fFrom
	case "sender":
		return fSender
	case "reply-to":
		return fReplyTo
	case "to":
		return fTo
	case "cc":
		return fCc
	case "bcc":
		return fBcc
	case "in-reply-to":
		return fInReplyTo
	case "message-id":
		return fMessageID
	}
	return fNone
}

// headerInfo holds the first occurrence of each field Parse looks at,
// unfolded and trimmed.
type headerInfo struct {
	vals [numFieldKinds]string
	seen [numFieldKinds]bool
}

// readHeader reads the header of pt from the current line, setting
// pt.BodyStart. It returns the number of line feeds before BodyStart.
func (p *parser) readHeader(pt *Part, message bool, h *headerInfo) int64 {
	l := p.l
	cur := fNone
	for {
		if l.done {
			p.finishField(h, cur)
			pt.BodyStart = l.off
			return l.lfs
		}
		line := l.head
		if i, _ := p.matchBoundary(); i >= 0 {
			p.finishField(h, cur)
			// A header cut short by a delimiter: its last line break
			// belongs to the delimiter.
			var lfs int64
			pt.BodyStart, lfs = p.endAt()
			return lfs
		}
		if !l.more && isBlankLine(line) {
			p.finishField(h, cur)
			p.advance(false)
			pt.BodyStart = l.off
			return l.lfs
		}
		if line[0] == ' ' || line[0] == '\t' {
			// RFC 5322 section 2.2.3: a folded continuation line.
			if cur != fNone {
				p.appendLine(line)
			}
		} else {
			p.finishField(h, cur)
			cur = fNone
			if name, colon, ok := fieldName(line); ok {
				if k := classify(name, message); k != fNone && !h.seen[k] {
					cur = k
					p.fbuf = p.fbuf[:0]
					p.appendLine(line[colon+1:])
				}
			}
		}
		p.advance(true)
	}
}

// appendLine appends the rest of the current line, starting with piece (a
// suffix of l.head), to the field value, without its line break.
func (p *parser) appendLine(piece []byte) {
	start := len(p.fbuf)
	p.fbuf = appendCapped(p.fbuf, piece)
	p.l.tail(func(b []byte) { p.fbuf = appendCapped(p.fbuf, b) })
	if n := len(p.fbuf); n > start && p.fbuf[n-1] == '\n' {
		p.fbuf = p.fbuf[:n-1]
		if n := len(p.fbuf); n > start && p.fbuf[n-1] == '\r' {
			p.fbuf = p.fbuf[:n-1]
		}
	}
}

func appendCapped(dst, b []byte) []byte {
	if room := maxFieldLen - len(dst); len(b) > room {
		b = b[:max(room, 0)]
	}
	return append(dst, b...)
}

func (p *parser) finishField(h *headerInfo, k fieldKind) {
	if k == fNone || h.seen[k] {
		return
	}
	h.seen[k] = true
	// Values are kept as valid UTF-8 (8-bit bytes that are not UTF-8 read
	// as Windows-1252), so that everything Parse returns survives JSON.
	h.vals[k] = lenientString(string(trimWSP(p.fbuf)))
}

// applyContent fills pt's content fields from its header, with the defaults
// of RFC 2045 section 5.2 and RFC 2046 sections 4.1.2 and 5.1.5.
func (p *parser) applyContent(pt *Part, h *headerInfo, inDigest bool) {
	ok := false
	if h.seen[fContentType] {
		pt.Type, pt.Subtype, pt.Params, ok = parseContentType(h.vals[fContentType])
	}
	if ok && pt.Type == "multipart" {
		b := paramValue(pt.Params, "boundary")
		ok = b != "" && len(b) <= maxBoundaryLen
	}
	if !ok {
		pt.Params = nil
		if inDigest {
			pt.Type, pt.Subtype = "message", "rfc822"
		} else {
			pt.Type, pt.Subtype = "text", "plain"
		}
	}
	if pt.Type == "text" && !hasParam(pt.Params, "charset") {
		pt.Params = append(pt.Params, Param{Name: "charset", Value: "us-ascii"})
	}
	if v := h.vals[fContentTransferEncoding]; v != "" {
		i := skipCFWS(v, 0)
		tok, j := token(v, i)
		if j = skipCFWS(v, j); j == len(v) {
			pt.Encoding = strings.ToLower(tok)
		}
	}
	pt.ID = h.vals[fContentID]
	pt.Description = h.vals[fContentDescription]
	pt.MD5 = h.vals[fContentMD5]
	pt.Location = h.vals[fContentLocation]
	if h.seen[fContentDisposition] {
		pt.Disposition, pt.DispParams = parseDisposition(h.vals[fContentDisposition])
	}
	if h.seen[fContentLanguage] {
		pt.Language = parseLanguage(h.vals[fContentLanguage])
	}
}

// envelope builds the Envelope of a message root from its header. Sender
// and Reply-To default to From (RFC 9051 section 7.5.2).
func (h *headerInfo) envelope() *Envelope {
	e := &Envelope{
		Date:      h.vals[fDate],
		Subject:   h.vals[fSubject],
		From:      parseAddrField(h, fFrom),
		Sender:    parseAddrField(h, fSender),
		ReplyTo:   parseAddrField(h, fReplyTo),
		To:        parseAddrField(h, fTo),
		Cc:        parseAddrField(h, fCc),
		Bcc:       parseAddrField(h, fBcc),
		InReplyTo: h.vals[fInReplyTo],
		MessageID: h.vals[fMessageID],
	}
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

func parseAddrField(h *headerInfo, k fieldKind) []Address {
	if h.vals[k] == "" {
		return nil
	}
	return ParseAddressList(h.vals[k])
}

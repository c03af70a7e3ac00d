package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/mime"
	"postfach/internal/store"
)

// fetchPlan is what a FETCH needs, worked out once per command.
type fetchPlan struct {
	items     []wire.FetchItem
	structure bool // load the MIME tree
	body      bool // open the body
	setSeen   bool // some item sets \Seen (RFC 9051 section 6.4.5)
	flags     bool // FLAGS was asked for
	uid       bool // UID is among the items
	modseq    bool // MODSEQ is among the items (RFC 7162)
	threadID  bool // THREADID is among the items (RFC 8474)
	// threadIDs maps UIDs to THREADIDs when threadID is set.
	threadIDs map[store.UID]string
	// preview is set when PREVIEW is among the items (RFC 8970),
	// previewLazy when every PREVIEW item is PREVIEW (LAZY); previews
	// holds the current chunk's (preview.go).
	preview, previewLazy bool
	previews             map[store.UID]store.Preview
}

func planFetch(items []wire.FetchItem, uid bool) (fetchPlan, error) {
	var p fetchPlan
	hasUID := false
	for _, it := range items {
		switch it.Name {
		case "UID":
			hasUID = true
			p.uid = true
		case "FLAGS":
			p.flags = true
		case "INTERNALDATE", "RFC822.SIZE":
		case "ENVELOPE", "BODYSTRUCTURE":
			p.structure = true
		case "BODY":
			p.structure = true
			if it.Section != nil {
				p.body = true
				p.setSeen = true
			}
		case "BODY.PEEK":
			p.structure, p.body = true, true
			if it.Section == nil {
				return p, errBad("", "BODY.PEEK needs a section")
			}
		case "RFC822", "RFC822.TEXT":
			p.structure, p.body, p.setSeen = true, true, true
		case "RFC822.HEADER":
			p.structure, p.body = true, true
		case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
			if it.Section == nil {
				return p, errBad("", it.Name+" needs a section")
			}
			if it.Section.Specifier != "" {
				return p, errBad("", it.Name+" takes part numbers only")
			}
			p.structure, p.body = true, true
			if it.Name == "BINARY" {
				p.setSeen = true
			}
		case "MODSEQ":
			p.modseq = true
		case "SAVEDATE", "EMAILID": // RFC 8514, RFC 8474
		case "THREADID":
			p.threadID = true
		case "PREVIEW":
			p.previewLazy = it.Lazy && (p.previewLazy || !p.preview)
			p.preview = true
		default:
			return p, errBad("", "Unsupported FETCH item "+it.Name)
		}
	}
	p.items = items
	if uid && !hasUID {
		// RFC 9051 section 6.4.9: UID FETCH always reports UIDs.
		p.items = append([]wire.FetchItem{{Name: "UID"}}, items...)
		p.uid = true
	}
	return p, nil
}

// cmdFetch runs FETCH and UID FETCH (RFC 9051 section 6.4.5, RFC 3516
// BINARY).
func (c *session) cmdFetch(ctx context.Context, cmd *wire.Command) error {
	args := cmd.Args.(*wire.FetchArgs)
	if args.Vanished && (!c.qresync || !cmd.UID || args.ChangedSince == 0) {
		// RFC 7162 section 3.2.6: only UID FETCH, with CHANGEDSINCE,
		// after ENABLE QRESYNC.
		return errBad("", "VANISHED needs UID FETCH with CHANGEDSINCE, after ENABLE QRESYNC")
	}
	// Under UIDONLY the UIDFETCH response carries the UID; the UID item
	// only when asked for (RFC 9586 section 3.3).
	plan, err := planFetch(args.Items, cmd.UID && !c.uidOnly)
	if err != nil {
		return err
	}
	if plan.modseq || args.ChangedSince != 0 {
		// A CONDSTORE enabling command (RFC 7162 section 3.1).
		c.enableCondStore()
	}
	if args.ChangedSince != 0 && !plan.modseq {
		// Section 3.1.4.1: CHANGEDSINCE implies the MODSEQ item.
		plan.items = append(plan.items, wire.FetchItem{Name: "MODSEQ"})
		plan.modseq = true
	}
	spans, err := c.spans(args.Set, cmd.UID, false)
	if err != nil {
		return err
	}
	if plan.threadID {
		if plan.threadIDs, err = c.threadIDs(ctx); err != nil {
			return err
		}
	}
	if args.Partial != nil {
		// RFC 9394 section 3.4: PARTIAL first, then CHANGEDSINCE.
		spans = partialSpans(spans, args.Partial)
	}
	if args.ChangedSince != 0 {
		spans, err = c.changedSpans(ctx, spans, store.ModSeq(args.ChangedSince), &args.Set, args.Vanished)
		if err != nil {
			return err
		}
	}
	s := c.sel
	var failed error
	err = c.eachChunk(spans, func(set store.UIDSet, lo, hi int) error {
		msgs, err := c.mail.Messages(ctx, s.mbox.ID, set, store.FetchOptions{Structure: plan.structure})
		if err != nil {
			return err
		}
		if plan.preview {
			if plan.previews, err = c.previews(ctx, set, plan.previewLazy); err != nil {
				return err
			}
		}
		seenNow := map[store.UID]bool{}
		if plan.setSeen && !s.readOnly {
			if err := c.markSeen(ctx, msgs, seenNow); err != nil {
				return err
			}
		}
		for i := range msgs {
			m := &msgs[i]
			idx := s.index(m.UID)
			if idx < lo || idx >= hi {
				continue // not announced to this client yet
			}
			if err := c.fetchOne(ctx, idx+1, m, plan, seenNow[m.UID]); err != nil {
				var re *respError
				if errors.As(err, &re) {
					failed = err
					continue
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return failed
}

// markSeen sets \Seen on the messages that lack it, as fetching a body
// does, and records which ones changed.
func (c *session) markSeen(ctx context.Context, msgs []store.Message, changed map[store.UID]bool) error {
	var unseen []store.UID
	for i := range msgs {
		if msgs[i].Flags&store.FlagSeen == 0 {
			unseen = append(unseen, msgs[i].UID)
		}
	}
	if len(unseen) == 0 {
		return nil
	}
	s := c.sel
	res, err := c.mail.StoreFlags(ctx, s.mbox.ID, uidSetOf(unseen), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagSeen})
	if err != nil {
		return err
	}
	after := make(map[store.UID]store.FlagResult, len(res.Messages))
	for _, r := range res.Messages {
		after[r.UID] = r
	}
	for i := range msgs {
		if r, ok := after[msgs[i].UID]; ok && r.Changed {
			msgs[i].Flags, msgs[i].Keywords, msgs[i].ModSeq = r.Flags, r.Keywords, r.ModSeq
			s.reported[r.UID] = r.ModSeq
			changed[r.UID] = true
		}
	}
	s.dirty = true
	return nil
}

// errStream means the response was cut off mid-literal: the connection
// cannot go on.
type errStream struct{ err error }

func (e errStream) Error() string { return "imap: response stream broken: " + e.err.Error() }
func (e errStream) Unwrap() error { return e.err }

// fetchOne writes one FETCH response. Everything that can fail is done
// before the response line starts, so a failure never leaves a half
// written response behind — except a read error inside a literal, which
// ends the connection.
func (c *session) fetchOne(ctx context.Context, seq int, m *store.Message, plan fetchPlan, seenNow bool) error {
	var body store.Body
	if plan.body {
		b, err := c.mail.OpenBody(ctx, m)
		if err != nil {
			return fmt.Errorf("opening body of UID %d: %w", m.UID, err)
		}
		defer b.Close()
		body = b
	}
	var preview store.Preview
	if plan.preview {
		var err error
		if preview, err = c.previewOf(ctx, &plan, m); err != nil {
			return err
		}
	}
	// Resolve every section first.
	contents := make([]*sectionContent, len(plan.items))
	for i, it := range plan.items {
		sc, err := c.resolveItem(it, m, body)
		if err != nil {
			return err
		}
		contents[i] = sc
	}
	c.writeFetchStart(seq, m.UID)
	first := true
	sp := func() {
		if !first {
			c.w.SP()
		}
		first = false
	}
	if seenNow && !plan.flags {
		// RFC 9051 section 6.4.5: flags changed by the fetch are
		// reported with it.
		sp()
		c.w.Raw("FLAGS ")
		c.writeFlagList(m.Flags, m.Keywords, !c.rev2 && c.sel.isRecent(m.UID))
		// RFC 7162 section 3.2.4: a FETCH that set \Seen reports UID and
		// MODSEQ once CONDSTORE is on.
		if c.condstore && !plan.uid && !c.uidOnly {
			sp()
			c.w.Raw("UID ")
			c.w.Number(uint64(m.UID))
		}
		if c.condstore && !plan.modseq {
			sp()
			c.writeModSeq(m.ModSeq)
		}
	}
	for i, it := range plan.items {
		sp()
		switch it.Name {
		case "UID":
			c.w.Raw("UID ")
			c.w.Number(uint64(m.UID))
		case "FLAGS":
			c.w.Raw("FLAGS ")
			c.writeFlagList(m.Flags, m.Keywords, !c.rev2 && c.sel.isRecent(m.UID))
		case "INTERNALDATE":
			c.w.Raw("INTERNALDATE ")
			c.w.DateTime(m.InternalDate)
		case "RFC822.SIZE":
			c.w.Raw("RFC822.SIZE ")
			c.w.Number(uint64(m.Size))
		case "MODSEQ":
			c.writeModSeq(m.ModSeq)
		case "SAVEDATE":
			// RFC 8514 section 4.1: every message has one here.
			c.w.Raw("SAVEDATE ")
			c.w.DateTime(m.SaveDate)
		case "EMAILID":
			c.w.Raw("EMAILID (")
			c.w.Raw(emailID(m))
			c.w.Raw(")")
		case "PREVIEW":
			// RFC 8970 section 3.2: NIL only for LAZY, "" when the
			// message has no text to preview.
			c.w.Raw("PREVIEW ")
			if preview.Ready {
				c.w.String(preview.Text)
			} else {
				c.w.Raw("NIL")
			}
		case "THREADID":
			c.w.Raw("THREADID ")
			if id := plan.threadIDs[m.UID]; id != "" {
				c.w.Raw("(" + id + ")")
			} else {
				c.w.Raw("NIL")
			}
		case "ENVELOPE":
			c.w.Raw("ENVELOPE ")
			c.writeEnvelope(m.Part.Envelope)
		case "BODYSTRUCTURE":
			c.w.Raw("BODYSTRUCTURE ")
			c.writeBodyStructure(m.Part, true)
		case "BODY":
			if it.Section == nil {
				c.w.Raw("BODY ")
				c.writeBodyStructure(m.Part, false)
				break
			}
			fallthrough
		default:
			sc := contents[i]
			c.w.Raw(sc.label)
			c.w.SP()
			if err := c.writeSection(sc); err != nil {
				return errStream{err}
			}
		}
	}
	c.w.Raw(")")
	c.w.CRLF()
	return c.w.Err()
}

// sectionContent is the resolved data of a body section item.
type sectionContent struct {
	label  string // e.g. BODY[1.2]<0>
	isNil  bool
	size   int64
	binary bool // send as literal8
	// open returns the section's data from its start.
	open func() io.Reader
	// number is set for BINARY.SIZE.
	number   bool
	numValue int64
}

func (c *session) resolveItem(it wire.FetchItem, m *store.Message, body store.Body) (*sectionContent, error) {
	switch it.Name {
	case "RFC822":
		return rangeContent("RFC822", body, 0, m.Size), nil
	case "RFC822.HEADER":
		return rangeContent("RFC822.HEADER", body, 0, m.Part.BodyStart), nil
	case "RFC822.TEXT":
		return rangeContent("RFC822.TEXT", body, m.Part.BodyStart, m.Size), nil
	case "BODY", "BODY.PEEK":
		if it.Section == nil {
			return nil, nil
		}
		sc, err := bodySection(it.Section, m, body)
		if err != nil {
			return nil, err
		}
		sc.label = "BODY[" + sectionString(it.Section) + "]"
		return applyPartial(sc, it.Partial), nil
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		sc, err := binarySection(it.Section, m, body)
		if err != nil {
			return nil, err
		}
		if it.Name == "BINARY.SIZE" {
			sc.label = "BINARY.SIZE[" + sectionString(it.Section) + "]"
			sc.number, sc.numValue = true, sc.size
			return sc, nil
		}
		sc.label = "BINARY[" + sectionString(it.Section) + "]"
		return applyPartial(sc, it.Partial), nil
	}
	return nil, nil
}

func rangeContent(label string, body store.Body, start, end int64) *sectionContent {
	if end < start {
		end = start
	}
	return &sectionContent{label: label, size: end - start, open: func() io.Reader {
		return io.NewSectionReader(body, start, end-start)
	}}
}

// applyPartial cuts <offset.count> out of a section (RFC 9051 section
// 6.4.5): the label then names the origin octet.
func applyPartial(sc *sectionContent, p *wire.Partial) *sectionContent {
	if p == nil || sc.isNil {
		return sc
	}
	sc.label += "<" + strconv.FormatUint(uint64(p.Offset), 10) + ">"
	off := int64(p.Offset)
	if off >= sc.size {
		sc.size = 0
		sc.open = func() io.Reader { return strings.NewReader("") }
		return sc
	}
	n := min(int64(p.Count), sc.size-off)
	open := sc.open
	sc.size = n
	sc.open = func() io.Reader {
		r := open()
		if _, err := io.CopyN(io.Discard, r, off); err != nil {
			return errReader{err}
		}
		return io.LimitReader(r, n)
	}
	return sc
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (c *session) writeSection(sc *sectionContent) error {
	switch {
	case sc.number:
		c.w.Number(uint64(sc.numValue))
		return nil
	case sc.isNil:
		c.w.Raw("NIL")
		return nil
	}
	c.w.Literal(sc.size, sc.open(), sc.binary)
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

func isMultipart(p *mime.Part) bool { return p.Type == "multipart" }

func isMessagePart(p *mime.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") && p.Message != nil
}

// bodySection resolves BODY[section].
func bodySection(sec *wire.Section, m *store.Message, body store.Body) (*sectionContent, error) {
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
		if len(sec.Part) == 0 {
			return rangeContent("", body, 0, m.Size), nil
		}
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
		end := msg.BodyEnd
		if msg == root {
			end = m.Size
		}
		return rangeContent("", body, msg.BodyStart, end), nil
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if msg == nil {
			return &sectionContent{isNil: true}, nil
		}
		raw := make([]byte, msg.BodyStart-msg.HeaderStart)
		if _, err := body.ReadAt(raw, msg.HeaderStart); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading header: %w", err)
		}
		out := filterHeader(raw, sec.Fields, sec.Specifier == "HEADER.FIELDS.NOT")
		return &sectionContent{size: int64(len(out)), open: func() io.Reader { return bytes.NewReader(out) }}, nil
	}
	return nil, errBad("", "Unknown section specifier")
}

// filterHeader keeps (or, with not, drops) the named fields, matched
// ASCII case-insensitively, and keeps the blank line that ends the header
// when there is one.
func filterHeader(raw []byte, names []string, not bool) []byte {
	var out []byte
	for _, f := range mime.ParseHeader(raw) {
		in := false
		for _, n := range names {
			if strings.EqualFold(n, f.Name) {
				in = true
				break
			}
		}
		if in != not {
			out = append(out, f.Raw...)
		}
	}
	if bytes.HasSuffix(raw, []byte("\r\n\r\n")) || bytes.HasSuffix(raw, []byte("\n\n")) || string(raw) == "\r\n" {
		out = append(out, "\r\n"...)
	}
	return out
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
	return &sectionContent{size: size, binary: nul, open: func() io.Reader {
		return mime.DecodedBody(body, p)
	}}, nil
}

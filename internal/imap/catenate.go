package imap

import (
	"context"
	"errors"
	"io"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// CATENATE (RFC 4469): APPEND (and REPLACE, RFC 8508 section 4.2) builds
// a message from literals and from messages or body parts already on the
// server, named by IMAP URLs (RFC 5092). Only the relative URLs of RFC
// 4469 section 3 are taken: they name the account's own mailboxes, which
// the session reads through the store as it reads them for FETCH, so a
// URL reaches nothing the session could not FETCH itself. Reading a part
// does not set \Seen (section 3).
//
// Every URL of a command is resolved before anything is stored, so a
// MULTIAPPEND with one bad URL stores nothing (RFC 3502 atomicity) and
// answers NO [BADURL url] naming the first bad one (section 4.1).

// catenation resolves the messages of one APPEND or REPLACE. A URL part
// is checked when it is resolved (the message and the part exist), then
// read when the store reads the new message: its body is opened again
// then, and closed at its end, so that a digest of a thousand messages
// holds one open body at a time, not a thousand.
type catenation struct {
	c     *session
	msgs  map[catKey]*store.Message
	parts []*lazyPart
}

type catKey struct {
	mbox store.MailboxID
	uid  store.UID
}

func (c *session) newCatenation() *catenation {
	return &catenation{c: c, msgs: map[catKey]*store.Message{}}
}

// Close releases the bodies of parts not read to their end.
func (cat *catenation) Close() {
	for _, p := range cat.parts {
		p.close()
	}
	cat.parts = nil
}

// lazyPart reads one URL part: it opens the message body at the first
// Read and closes it at EOF.
type lazyPart struct {
	open func() (io.Reader, io.Closer, error)
	r    io.Reader
	body io.Closer
	err  error
}

func (p *lazyPart) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.r == nil {
		if p.r, p.body, p.err = p.open(); p.err != nil {
			return 0, p.err
		}
	}
	n, err := p.r.Read(b)
	if err != nil {
		p.err = err
		p.close()
	}
	return n, err
}

func (p *lazyPart) close() {
	if p.body != nil {
		p.body.Close()
		p.body = nil
	}
}

// maxCatenatedSize is the largest message a CATENATE may build: the
// message size limit, and never beyond IMAP's 4 GB (section 4.2).
func (c *session) maxCatenatedSize() int64 {
	return min(c.limits.MaxMessageSize, 1<<32-1)
}

// message returns the octets of one append-message and their count: its
// literal, or the concatenation of its CATENATE parts.
func (cat *catenation) message(ctx context.Context, m *wire.AppendMessage) (io.Reader, int64, error) {
	if m.Catenate == nil {
		if m.Data == nil {
			return nil, 0, errNo("CANNOT", "Cannot append an empty message")
		}
		return m.Data.Open(), m.Data.Size(), nil
	}
	limit := cat.c.maxCatenatedSize()
	readers := make([]io.Reader, 0, len(m.Catenate))
	var total int64
	for _, p := range m.Catenate {
		var r io.Reader
		var n int64
		if p.Text != nil {
			r, n = p.Text.Open(), p.Text.Size()
		} else {
			var err error
			if r, n, err = cat.resolve(ctx, p.URL); err != nil {
				return nil, 0, err
			}
		}
		total += n
		if total > limit {
			return nil, 0, errNo("TOOBIG", "The catenated message is too large")
		}
		readers = append(readers, r)
	}
	return io.MultiReader(readers...), total, nil
}

// resolve finds the octets a URL part names: the message, or the section
// as FETCH BODY[section]<partial> would return it (section 3). It checks
// that they exist and counts them; the reader it returns reads them
// later (lazyPart).
func (cat *catenation) resolve(ctx context.Context, raw string) (io.Reader, int64, error) {
	c := cat.c
	bad := errNo("BADURL "+urlRespText(raw), "Cannot catenate the message or part the URL names")
	u, err := wire.ParseMessageURL(raw)
	if err != nil {
		return nil, 0, bad
	}
	mb, err := cat.mailbox(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, bad
	}
	if err != nil {
		return nil, 0, err
	}
	if u.UIDValidity != 0 && u.UIDValidity != mb.UIDValidity {
		return nil, 0, bad
	}
	key := catKey{mb.ID, store.UID(u.UID)}
	msg := cat.msgs[key]
	if msg == nil {
		msgs, err := c.mail.Messages(ctx, mb.ID, store.UIDSet{{Start: key.uid, Stop: key.uid}}, store.FetchOptions{Structure: true})
		if err != nil {
			return nil, 0, err
		}
		if len(msgs) == 0 {
			return nil, 0, bad
		}
		msg = &msgs[0]
		cat.msgs[key] = msg
	}
	// section opens the body and finds the part in it.
	section := func() (*sectionContent, store.Body, error) {
		body, err := c.mail.OpenBody(ctx, msg)
		if err != nil {
			return nil, nil, err
		}
		var sc *sectionContent
		if u.Section == nil {
			sc = rangeContent("", body, 0, msg.Size)
		} else {
			sc, err = bodySection(u.Section, msg, body)
			var re *respError
			switch {
			case errors.As(err, &re):
				err = bad
			case err == nil && sc.isNil:
				// A part the message does not have (section 4.1).
				err = bad
			}
			if err != nil {
				body.Close()
				return nil, nil, err
			}
		}
		if p := u.Partial; p != nil {
			count := uint32(min(sc.size, 1<<32-1))
			if p.HasLength {
				count = p.Length
			}
			sc = applyPartial(sc, &wire.Partial{Offset: p.Offset, Count: count})
		}
		return sc, body, nil
	}
	sc, body, err := section()
	if err != nil {
		return nil, 0, err
	}
	size := sc.size
	body.Close()
	part := &lazyPart{open: func() (io.Reader, io.Closer, error) {
		sc, body, err := section()
		if err != nil {
			return nil, nil, err
		}
		if sc.size != size {
			body.Close()
			return nil, nil, errors.New("imap: catenated part changed size")
		}
		return sc.open(), body, nil
	}}
	cat.parts = append(cat.parts, part)
	return part, size, nil
}

// mailbox resolves the URL's mailbox against the base of section 3:
// "imap://user@server/", or "imap://user@server/<selected mailbox>" in
// the selected state. A relative path naming a mailbox replaces the
// base's last hierarchy level (RFC 3986 section 5.2.3); one without, as
// ";UID=20", stays in the selected mailbox.
func (cat *catenation) mailbox(ctx context.Context, u *wire.MessageURL) (store.Mailbox, error) {
	c := cat.c
	name := u.Mailbox
	if u.Relative {
		base := ""
		if c.sel != nil {
			base = c.sel.mbox.Name
		}
		switch {
		case name == "" && base == "":
			return store.Mailbox{}, store.ErrNotFound
		case name == "":
			name = base
		default:
			if i := strings.LastIndexByte(base, '/'); i >= 0 {
				name = base[:i+1] + name
			}
		}
	}
	mb, err := c.mail.Mailbox(ctx, name)
	if errors.Is(err, store.ErrNotFound) && strings.IndexByte(name, '&') >= 0 {
		// RFC 2192, which RFC 5092 replaced, put modified UTF-7 names
		// into URLs; clients of that time still do.
		if dec, derr := wire.DecodeMailboxUTF7(name); derr == nil && dec != name {
			return c.mail.Mailbox(ctx, dec)
		}
	}
	return mb, err
}

// urlRespText makes a URL fit the BADURL response code (RFC 4469 section
// 5: url-resp-text is TEXT-CHAR but "]"), escaping what does not fit as
// the URL syntax itself would.
func urlRespText(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch < 0x21 || ch >= 0x7f || ch == ']' || ch == '%' && !isPercentEscape(raw[i:]) {
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func isPercentEscape(s string) bool {
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
	return len(s) >= 3 && isHex(s[1]) && isHex(s[2])
}

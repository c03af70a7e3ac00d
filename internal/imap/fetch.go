package imap

import (
	"context"
	"errors"
	"fmt"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

// fetchPlan is what a FETCH needs, worked out once per command.
type fetchPlan struct {
	items []wire.FetchItem
	// labels holds the label of each body section item of items, by
	// index ("" for other items; items added after planning have none).
	labels    []string
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

	// Set by cmdFetch for each chunk; NOTIFY's FETCH goes without.
	//
	// open opens a message's body when the store looks up the chunk's
	// bodies at once (store.BodiesOpener); bufs are the command's
	// buffers.
	open func(*store.Message) (store.Body, error)
	bufs *fetchBuffers
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
			if it.Section == nil {
				p.structure = true // BODY is BODYSTRUCTURE without extensions
				break
			}
			p.structure = p.structure || sectionNeedsTree(it.Section)
			p.body = true
			p.setSeen = true
		case "BODY.PEEK":
			if it.Section == nil {
				return p, errBad("", "BODY.PEEK needs a section")
			}
			p.structure = p.structure || sectionNeedsTree(it.Section)
			p.body = true
		case "RFC822", "RFC822.TEXT":
			// Sections of the message itself: the body tells where
			// its header ends.
			p.body, p.setSeen = true, true
		case "RFC822.HEADER":
			p.body = true
		case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
			if it.Section == nil {
				return p, errBad("", it.Name+" needs a section")
			}
			if it.Section.Specifier != "" {
				return p, errBad("", it.Name+" takes part numbers only")
			}
			p.structure = p.structure || len(it.Section.Part) > 0
			p.body = true
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
	p.labels = make([]string, len(p.items))
	for i, it := range p.items {
		p.labels[i] = itemLabel(it)
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
	plan.bufs = &fetchBuffers{}
	defer plan.bufs.release()
	bodies, _ := c.mail.(store.BodiesOpener)
	err = c.eachChunk(spans, func(set store.UIDSet, lo, hi int) error {
		msgs, err := c.mail.Messages(ctx, s.mbox.ID, set, store.FetchOptions{Structure: plan.structure})
		if err != nil {
			return err
		}
		if plan.body && bodies != nil && len(msgs) > 0 {
			// One lookup for the chunk's bodies rather than one each.
			if plan.open, err = bodies.OpenBodies(ctx, msgs); err != nil {
				return err
			}
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
	bufs := plan.bufs
	if bufs == nil {
		bufs = &fetchBuffers{}
		defer bufs.release()
	}
	bufs.fields = bufs.fields[:0]
	mb := messageBody{m: m, bufs: bufs}
	if plan.body {
		var b store.Body
		var err error
		if plan.open != nil {
			b, err = plan.open(m)
		} else {
			b, err = c.mail.OpenBody(ctx, m)
		}
		if err != nil {
			return fmt.Errorf("opening body of UID %d: %w", m.UID, err)
		}
		defer b.Close()
		mb.body = b
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
		label := ""
		if i < len(plan.labels) {
			label = plan.labels[i]
		}
		sc, err := c.resolveItem(it, label, &mb)
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
			if err := c.writeSection(sc, bufs); err != nil {
				return errStream{err}
			}
		}
	}
	c.w.Raw(")")
	c.w.CRLF()
	return c.w.Err()
}

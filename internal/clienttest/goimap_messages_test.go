package clienttest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/imaptest"
)

// TestGoIMAPMessages appends a corpus of realistic messages and reads it
// back with go-imap's client, comparing envelopes, body structures and
// every part, raw and decoded; then SEARCH, STORE, COPY, MOVE and EXPUNGE,
// checking UIDs, UIDVALIDITY and UIDNEXT all along. It runs once as an
// IMAP4rev1 client and once after ENABLE IMAP4rev2.
func TestGoIMAPMessages(t *testing.T) {
	for _, rev2 := range []bool{false, true} {
		name := "IMAP4rev1"
		if rev2 {
			name = "IMAP4rev2"
		}
		t.Run(name, func(t *testing.T) {
			env := imaptest.Start(t, imaptest.Options{})
			c := goLogin(t, env, "alice@example.org", nil)
			if rev2 {
				data := must[*imapclient.EnableData](t, "ENABLE")(c.Enable(imap.CapIMAP4rev2).Wait())
				if !data.Caps.Has(imap.CapIMAP4rev2) {
					t.Fatalf("ENABLE IMAP4rev2 answered %v", data.Caps)
				}
			}
			messagesScenario(t, c)
		})
	}
}

type appended struct {
	m   *corpusMessage
	uid imap.UID
	i   int
}

func messagesScenario(t *testing.T, c *imapclient.Client) {
	msgs := corpus(7, 24)
	res := appendMessages(t, c, "INBOX", msgs, appendOpts)
	validity := res[0].UIDValidity
	var all []appended
	for i, r := range res {
		if r.UIDValidity != validity || r.UID != imap.UID(i+1) {
			t.Fatalf("APPENDUID %d: validity %d uid %d, want %d %d", i, r.UIDValidity, r.UID, validity, i+1)
		}
		all = append(all, appended{msgs[i], r.UID, i})
	}

	sel := must[*imap.SelectData](t, "SELECT")(c.Select("INBOX", nil).Wait())
	if sel.NumMessages != 24 || sel.UIDValidity != validity || sel.UIDNext != 25 {
		t.Fatalf("SELECT: %d messages, UIDVALIDITY %d, UIDNEXT %d; want 24, %d, 25", sel.NumMessages, sel.UIDValidity, sel.UIDNext, validity)
	}
	if !slices.Contains(sel.PermanentFlags, imap.FlagWildcard) || !slices.Contains(sel.Flags, "$Label1") {
		t.Errorf("SELECT flags %v, permanent %v", sel.Flags, sel.PermanentFlags)
	}

	checkFetchAll(t, c, all)
	for _, a := range all {
		checkParts(t, c, a)
	}
	checkSearch(t, c, all)
	checkStore(t, c, all)
	checkCopyMoveExpunge(t, c, all, validity)
}

func wantFlags(i int) []imap.Flag {
	return appendOpts(i).Flags
}

func flagSet(fs []imap.Flag) []string {
	var out []string
	for _, f := range fs {
		if f != "\\Recent" {
			out = append(out, strings.ToLower(string(f)))
		}
	}
	slices.Sort(out)
	return out
}

func sameFlags(a, b []imap.Flag) bool { return slices.Equal(flagSet(a), flagSet(b)) }

// checkFetchAll fetches every message at once and compares what the
// client parsed with what was appended.
func checkFetchAll(t *testing.T, c *imapclient.Client, all []appended) {
	t.Helper()
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	partial := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 10, Size: 100}}
	fields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "Message-ID"}, Peek: true}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "FETCH 1:*")(c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{header, partial, fields},
	}).Collect())
	if len(bufs) != len(all) {
		t.Fatalf("FETCH 1:* returned %d messages, want %d", len(bufs), len(all))
	}
	for i, b := range bufs {
		a := all[i]
		m := a.m
		where := fmt.Sprintf("message %d (UID %d, %s)", i+1, a.uid, m.MessageID)
		if b.SeqNum != uint32(i+1) || b.UID != a.uid {
			t.Errorf("%s: seq %d UID %d", where, b.SeqNum, b.UID)
		}
		if !sameFlags(b.Flags, wantFlags(a.i)) {
			t.Errorf("%s: flags %v, want %v", where, b.Flags, wantFlags(a.i))
		}
		if want := appendOpts(a.i).Time; !b.InternalDate.Equal(want) {
			t.Errorf("%s: INTERNALDATE %v, want %v", where, b.InternalDate, want)
		}
		if b.RFC822Size != int64(len(m.Raw)) {
			t.Errorf("%s: RFC822.SIZE %d, want %d", where, b.RFC822Size, len(m.Raw))
		}
		checkEnvelope(t, where, b.Envelope, m)
		checkStructure(t, where, b.BodyStructure, m)
		hdrEnd := bytes.Index(m.Raw, []byte("\r\n\r\n")) + 4
		if got := b.FindBodySection(header); !bytes.Equal(got, m.Raw[:hdrEnd]) {
			t.Errorf("%s: BODY[HEADER] differs:\n%q\nwant\n%q", where, got, m.Raw[:hdrEnd])
		}
		if got := b.FindBodySection(partial); !bytes.Equal(got, m.Raw[10:110]) {
			t.Errorf("%s: BODY[]<10.100> = %q, want %q", where, got, m.Raw[10:110])
		}
		want := fmt.Sprintf("Subject: %s\r\nMessage-ID: <%s>\r\n\r\n", encodeHeader(m.Subject), m.MessageID)
		if got := b.FindBodySection(fields); string(got) != want {
			t.Errorf("%s: BODY[HEADER.FIELDS (Subject Message-ID)] = %q, want %q", where, got, want)
		}
	}
}

func addrs(ps []person) []imap.Address {
	var out []imap.Address
	for _, p := range ps {
		out = append(out, imap.Address{Name: p.Name, Mailbox: p.Mailbox, Host: p.Host})
	}
	return out
}

func checkEnvelope(t *testing.T, where string, env *imap.Envelope, m *corpusMessage) {
	t.Helper()
	if env == nil {
		t.Errorf("%s: no ENVELOPE", where)
		return
	}
	if env.Subject != m.Subject {
		t.Errorf("%s: ENVELOPE subject %q, want %q", where, env.Subject, m.Subject)
	}
	if !env.Date.Equal(m.Date) {
		t.Errorf("%s: ENVELOPE date %v, want %v", where, env.Date, m.Date)
	}
	if env.MessageID != m.MessageID {
		t.Errorf("%s: ENVELOPE Message-ID %q, want %q", where, env.MessageID, m.MessageID)
	}
	from := addrs([]person{m.From})
	if !slices.Equal(env.From, from) || !slices.Equal(env.Sender, from) || !slices.Equal(env.ReplyTo, from) {
		t.Errorf("%s: ENVELOPE from %v sender %v reply-to %v, want %v", where, env.From, env.Sender, env.ReplyTo, from)
	}
	if !slices.Equal(env.To, addrs(m.To)) || !slices.Equal(env.Cc, addrs(m.Cc)) || len(env.Bcc) != 0 {
		t.Errorf("%s: ENVELOPE to %v cc %v bcc %v, want %v %v", where, env.To, env.Cc, env.Bcc, addrs(m.To), addrs(m.Cc))
	}
	var irt []string
	if m.InReplyTo != "" {
		irt = []string{m.InReplyTo}
	}
	if !slices.Equal(env.InReplyTo, irt) {
		t.Errorf("%s: ENVELOPE in-reply-to %q, want %q", where, env.InReplyTo, irt)
	}
}

func checkStructure(t *testing.T, where string, bs imap.BodyStructure, m *corpusMessage) {
	t.Helper()
	if m.Parts[0].Path == nil {
		checkLeaf(t, where, bs, &m.Parts[0])
		return
	}
	mp, ok := bs.(*imap.BodyStructureMultiPart)
	if !ok {
		t.Errorf("%s: BODYSTRUCTURE %T, want multipart", where, bs)
		return
	}
	if len(mp.Children) != len(m.Parts) {
		t.Errorf("%s: %d parts, want %d", where, len(mp.Children), len(m.Parts))
		return
	}
	if mp.Extended == nil || mp.Extended.Params["boundary"] == "" {
		t.Errorf("%s: multipart without extension data or boundary: %+v", where, mp.Extended)
	}
	for i := range m.Parts {
		checkLeaf(t, fmt.Sprintf("%s part %d", where, i+1), mp.Children[i], &m.Parts[i])
	}
}

func checkLeaf(t *testing.T, where string, bs imap.BodyStructure, p *corpusPart) {
	t.Helper()
	sp, ok := bs.(*imap.BodyStructureSinglePart)
	if !ok {
		t.Errorf("%s: %T, want a single part", where, bs)
		return
	}
	if got, want := sp.MediaType(), p.Type+"/"+p.Subtype; got != want {
		t.Errorf("%s: type %s, want %s", where, got, want)
	}
	enc := p.Encoding
	if enc == "" {
		enc = "7bit"
	}
	if !strings.EqualFold(sp.Encoding, enc) {
		t.Errorf("%s: encoding %q, want %q", where, sp.Encoding, enc)
	}
	if sp.Size != uint32(len(p.Encoded)) {
		t.Errorf("%s: size %d, want %d", where, sp.Size, len(p.Encoded))
	}
	if p.Params != nil && !maps.Equal(sp.Params, p.Params) {
		t.Errorf("%s: params %v, want %v", where, sp.Params, p.Params)
	}
	switch {
	case p.IsMessage:
		if sp.MessageRFC822 == nil || sp.MessageRFC822.Envelope == nil {
			t.Errorf("%s: message/rfc822 without envelope", where)
			return
		}
		if sp.MessageRFC822.Envelope.Subject != p.Inner.Subject || sp.MessageRFC822.NumLines != int64(p.Lines) {
			t.Errorf("%s: encapsulated subject %q lines %d, want %q %d", where, sp.MessageRFC822.Envelope.Subject, sp.MessageRFC822.NumLines, p.Inner.Subject, p.Lines)
		}
		checkStructure(t, where+" (encapsulated)", sp.MessageRFC822.BodyStructure, p.Inner)
	case p.Type == "text":
		if sp.Text == nil || sp.Text.NumLines != int64(p.Lines) {
			t.Errorf("%s: text lines %+v, want %d", where, sp.Text, p.Lines)
		}
	}
	if p.Filename != "" {
		d := sp.Disposition()
		if d == nil || !strings.EqualFold(d.Value, "attachment") || d.Params["filename"] != p.Filename || sp.Filename() != p.Filename {
			t.Errorf("%s: disposition %+v, want attachment %q", where, d, p.Filename)
		}
	}
}

// checkParts fetches every part of one message by UID, raw (BODY) and
// decoded by the server (BINARY), and compares them with the originals.
func checkParts(t *testing.T, c *imapclient.Client, a appended) {
	t.Helper()
	m := a.m
	opts := &imap.FetchOptions{UID: true}
	var sections []*imap.FetchItemBodySection
	var binaries []*imap.FetchItemBinarySection
	for _, p := range m.Parts {
		path := p.Path
		if path == nil {
			path = []int{1}
		}
		s := &imap.FetchItemBodySection{Part: path, Peek: true}
		sections = append(sections, s)
		if !p.IsMessage {
			b := &imap.FetchItemBinarySection{Part: path, Peek: true}
			binaries = append(binaries, b)
			opts.BinarySectionSize = append(opts.BinarySectionSize, &imap.FetchItemBinarySectionSize{Part: path})
		} else {
			binaries = append(binaries, nil)
			// The encapsulated message's header and text.
			sections = append(sections,
				&imap.FetchItemBodySection{Part: path, Specifier: imap.PartSpecifierHeader, Peek: true},
				&imap.FetchItemBodySection{Part: path, Specifier: imap.PartSpecifierText, Peek: true})
		}
	}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	opts.BodySection = append(sections, text)
	for _, b := range binaries {
		if b != nil {
			opts.BinarySection = append(opts.BinarySection, b)
		}
	}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "UID FETCH parts")(c.Fetch(imap.UIDSetNum(a.uid), opts).Collect())
	if len(bufs) != 1 {
		t.Fatalf("UID FETCH %d: %d messages", a.uid, len(bufs))
	}
	b := bufs[0]
	where := fmt.Sprintf("UID %d (%s)", a.uid, m.MessageID)
	hdrEnd := bytes.Index(m.Raw, []byte("\r\n\r\n")) + 4
	if got := b.FindBodySection(text); !bytes.Equal(got, m.Raw[hdrEnd:]) {
		t.Errorf("%s: BODY[TEXT] differs", where)
	}
	si := 0
	for i, p := range m.Parts {
		got := b.FindBodySection(sections[si])
		si++
		if !bytes.Equal(got, p.Encoded) {
			t.Errorf("%s part %d: BODY[%v] is %d bytes, want %d:\n%q\nwant\n%q", where, i+1, sections[si-1].Part, len(got), len(p.Encoded), head(got), head(p.Encoded))
		}
		if p.IsMessage {
			innerEnd := bytes.Index(p.Inner.Raw, []byte("\r\n\r\n")) + 4
			if got := b.FindBodySection(sections[si]); !bytes.Equal(got, p.Inner.Raw[:innerEnd]) {
				t.Errorf("%s part %d: HEADER of the encapsulated message: %q", where, i+1, head(got))
			}
			if got := b.FindBodySection(sections[si+1]); !bytes.Equal(got, p.Inner.Raw[innerEnd:]) {
				t.Errorf("%s part %d: TEXT of the encapsulated message: %q", where, i+1, head(got))
			}
			si += 2
			continue
		}
		if got := b.FindBinarySection(binaries[i]); !bytes.Equal(got, p.Decoded) {
			t.Errorf("%s part %d: BINARY[%v] is %d bytes, want %d decoded:\n%q\nwant\n%q", where, i+1, binaries[i].Part, len(got), len(p.Decoded), head(got), head(p.Decoded))
		}
		if n, ok := b.FindBinarySectionSize(binaries[i].Part); !ok || n != uint32(len(p.Decoded)) {
			t.Errorf("%s part %d: BINARY.SIZE %d (%v), want %d", where, i+1, n, ok, len(p.Decoded))
		}
	}

	// Fetching the whole body sets \Seen and says so.
	whole := &imap.FetchItemBodySection{}
	bufs = must[[]*imapclient.FetchMessageBuffer](t, "UID FETCH BODY[]")(c.Fetch(imap.UIDSetNum(a.uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}}).Collect())
	if len(bufs) != 1 || !bytes.Equal(bufs[0].FindBodySection(whole), m.Raw) {
		t.Errorf("%s: BODY[] differs from the appended message", where)
	} else if seen := slices.Contains(wantFlags(a.i), imap.FlagSeen); seen != (bufs[0].Flags == nil) {
		// RFC 9051 section 6.4.5: the flag change is reported, and only
		// when there is one.
		t.Errorf("%s: BODY[] reported flags %v; \\Seen before: %v", where, bufs[0].Flags, seen)
	} else if !seen && !slices.Contains(bufs[0].Flags, imap.FlagSeen) {
		t.Errorf("%s: BODY[] did not report \\Seen: %v", where, bufs[0].Flags)
	}
}

func head(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// checkSearch runs searches whose answers follow from the corpus. After
// checkParts every message is \Seen.
func checkSearch(t *testing.T, c *imapclient.Client, all []appended) {
	t.Helper()
	seqs := func(pred func(a appended) bool) []uint32 {
		var out []uint32
		for i, a := range all {
			if pred(a) {
				out = append(out, uint32(i+1))
			}
		}
		return out
	}
	uidsOf := func(pred func(a appended) bool) []imap.UID {
		var out []imap.UID
		for _, a := range all {
			if pred(a) {
				out = append(out, a.uid)
			}
		}
		return out
	}
	hasFlag := func(f imap.Flag) func(a appended) bool {
		return func(a appended) bool { return slices.Contains(wantFlags(a.i), f) }
	}
	target := all[5]
	cases := []struct {
		name string
		crit *imap.SearchCriteria
		want func(a appended) bool
	}{
		{"ALL", &imap.SearchCriteria{}, func(appended) bool { return true }},
		{"FROM carol", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "carol@example.net"}}},
			func(a appended) bool { return a.m.From.Mailbox == "carol" }},
		{"SUBJECT report", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "report"}}},
			func(a appended) bool { return strings.Contains(strings.ToLower(a.m.Subject), "report") }},
		{"SUBJECT Grüße (UTF-8, encoded word)", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "Grüße"}}},
			func(a appended) bool { return strings.Contains(a.m.Subject, "Grüße") }},
		{"FROM Jürgen (encoded display name)", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "jürgen"}}},
			func(a appended) bool { return a.m.From.Mailbox == "juergen" }},
		{"HEADER Message-ID", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: target.m.MessageID}}},
			func(a appended) bool { return a.m == target.m }},
		{"HEADER In-Reply-To exists", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "In-Reply-To", Value: ""}}},
			func(a appended) bool { return a.m.InReplyTo != "" }},
		{"BODY keyword", &imap.SearchCriteria{Body: []string{target.m.Keyword}},
			func(a appended) bool { return a.m == target.m }},
		{"TEXT keyword", &imap.SearchCriteria{Text: []string{target.m.Keyword}},
			func(a appended) bool { return a.m == target.m }},
		{"FLAGGED", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, hasFlag(imap.FlagFlagged)},
		{"KEYWORD $Label1", &imap.SearchCriteria{Flag: []imap.Flag{"$Label1"}}, hasFlag("$Label1")},
		{"UNANSWERED UNDRAFT", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagAnswered, imap.FlagDraft}},
			func(a appended) bool { return !hasFlag(imap.FlagAnswered)(a) }},
		{"SINCE 10-Jan-2025", &imap.SearchCriteria{Since: time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)},
			func(a appended) bool { return a.i >= 9 }},
		{"BEFORE 5-Jan-2025", &imap.SearchCriteria{Before: time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)},
			func(a appended) bool { return a.i < 4 }},
		{"LARGER 4000", &imap.SearchCriteria{Larger: 4000}, func(a appended) bool { return len(a.m.Raw) > 4000 }},
		{"OR FLAGGED SMALLER 2000", &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagFlagged}}, {Smaller: 2000}}}},
			func(a appended) bool { return hasFlag(imap.FlagFlagged)(a) || len(a.m.Raw) < 2000 }},
		{"NOT FROM bob, UID 3:20", &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 3, Stop: 20}}}, Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "bob@"}}}}},
			func(a appended) bool { return a.uid >= 3 && a.uid <= 20 && a.m.From.Mailbox != "bob" }},
		{"SEEN", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, func(appended) bool { return true }},
	}
	for _, tc := range cases {
		want := seqs(tc.want)
		data := must[*imap.SearchData](t, "SEARCH "+tc.name)(c.Search(tc.crit, nil).Wait())
		if got := data.AllSeqNums(); !slices.Equal(got, want) {
			t.Errorf("SEARCH %s: %v, want %v", tc.name, got, want)
		}
		wantUIDs := uidsOf(tc.want)
		data = must[*imap.SearchData](t, "UID SEARCH "+tc.name)(c.UIDSearch(tc.crit, nil).Wait())
		if got := data.AllUIDs(); !slices.Equal(got, wantUIDs) {
			t.Errorf("UID SEARCH %s: %v, want %v", tc.name, got, wantUIDs)
		}
	}
	if len(seqs(cases[2].want)) == 0 || len(seqs(cases[3].want)) == 0 || len(seqs(cases[4].want)) == 0 {
		t.Fatalf("the corpus lacks messages for the header searches: %v %v %v", seqs(cases[2].want), seqs(cases[3].want), seqs(cases[4].want))
	}

	// ESEARCH return options (RFC 4731).
	crit := &imap.SearchCriteria{Larger: 2500}
	want := uidsOf(func(a appended) bool { return len(a.m.Raw) > 2500 })
	data := must[*imap.SearchData](t, "UID SEARCH RETURN")(c.UIDSearch(crit, &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true, ReturnAll: true}).Wait())
	if len(want) < 2 || data.Min != uint32(want[0]) || data.Max != uint32(want[len(want)-1]) || data.Count != uint32(len(want)) || !slices.Equal(data.AllUIDs(), want) {
		t.Errorf("UID SEARCH RETURN (MIN MAX COUNT ALL) LARGER 2500: min %d max %d count %d all %v, want %v", data.Min, data.Max, data.Count, data.AllUIDs(), want)
	}
}

// checkStore changes flags and keywords and reads them back.
func checkStore(t *testing.T, c *imapclient.Client, all []appended) {
	t.Helper()
	set := imap.UIDSet{{Start: all[0].uid, Stop: all[3].uid}}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "UID STORE +FLAGS")(c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Work"}}, nil).Collect())
	if len(bufs) != 4 {
		t.Fatalf("UID STORE +FLAGS answered for %d messages, want 4", len(bufs))
	}
	for _, b := range bufs {
		if !slices.Contains(b.Flags, imap.FlagFlagged) || !slices.Contains(b.Flags, "$Work") || !slices.Contains(b.Flags, imap.FlagSeen) || b.UID == 0 {
			t.Errorf("UID STORE +FLAGS: UID %d flags %v", b.UID, b.Flags)
		}
	}
	bufs = must[[]*imapclient.FetchMessageBuffer](t, "STORE -FLAGS")(c.Store(imap.SeqSetNum(2, 3), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen, "$Work"}}, nil).Collect())
	if len(bufs) != 2 {
		t.Fatalf("STORE -FLAGS answered for %d messages", len(bufs))
	}
	for _, b := range bufs {
		if slices.Contains(b.Flags, imap.FlagSeen) || slices.Contains(b.Flags, "$Work") || !slices.Contains(b.Flags, imap.FlagFlagged) {
			t.Errorf("STORE -FLAGS: seq %d flags %v", b.SeqNum, b.Flags)
		}
	}
	bufs = must[[]*imapclient.FetchMessageBuffer](t, "STORE FLAGS.SILENT")(c.Store(imap.SeqSetNum(4), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Collect())
	if len(bufs) != 0 {
		t.Errorf("STORE FLAGS.SILENT answered %d FETCH responses", len(bufs))
	}
	bufs = must[[]*imapclient.FetchMessageBuffer](t, "FETCH FLAGS")(c.Fetch(imap.SeqSetNum(1, 2, 3, 4), &imap.FetchOptions{Flags: true}).Collect())
	want := [][]imap.Flag{
		{imap.FlagSeen, imap.FlagFlagged, "$Work"},
		{imap.FlagFlagged},
		{imap.FlagFlagged, "$Label1"},
		{imap.FlagAnswered},
	}
	for i, b := range bufs {
		if !sameFlags(b.Flags, want[i]) {
			t.Errorf("flags of message %d: %v, want %v", i+1, b.Flags, want[i])
		}
	}
	data := must[*imap.SearchData](t, "SEARCH KEYWORD $Work")(c.Search(&imap.SearchCriteria{Flag: []imap.Flag{"$Work"}}, nil).Wait())
	if got := data.AllSeqNums(); !slices.Equal(got, []uint32{1}) {
		t.Errorf("SEARCH KEYWORD $Work: %v", got)
	}
}

// checkCopyMoveExpunge copies and moves messages to another mailbox,
// checking COPYUID, then expunges, checking the numbering and that UIDs
// are never reused.
func checkCopyMoveExpunge(t *testing.T, c *imapclient.Client, all []appended, validity uint32) {
	t.Helper()
	mustOK(t, "CREATE Work", c.Create("Work", nil).Wait())
	work := must[*imap.StatusData](t, "STATUS Work")(c.Status("Work", &imap.StatusOptions{UIDValidity: true, UIDNext: true}).Wait())
	if work.UIDNext != 1 || work.UIDValidity == validity {
		t.Fatalf("new mailbox: UIDNEXT %d, UIDVALIDITY %d (INBOX %d)", work.UIDNext, work.UIDValidity, validity)
	}

	cp := must[*imap.CopyData](t, "UID COPY")(c.Copy(imap.UIDSet{{Start: all[0].uid, Stop: all[2].uid}, {Start: all[10].uid, Stop: all[10].uid}}, "Work").Wait())
	if cp.UIDValidity != work.UIDValidity || cp.SourceUIDs.String() != fmt.Sprintf("%d:%d,%d", all[0].uid, all[2].uid, all[10].uid) || cp.DestUIDs.String() != "1:4" {
		t.Errorf("COPYUID %d %v %v", cp.UIDValidity, cp.SourceUIDs, cp.DestUIDs)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nowhere").Wait(); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("COPY to a missing mailbox: %v", err)
	}

	before := c.Mailbox().NumMessages
	mv := must[*imapclient.MoveData](t, "MOVE")(c.Move(imap.SeqSetNum(5, 6), "Work").Wait())
	if mv.UIDValidity != work.UIDValidity || mv.SourceUIDs.String() != fmt.Sprintf("%d:%d", all[4].uid, all[5].uid) || mv.DestUIDs.String() != "5:6" {
		t.Errorf("MOVE COPYUID %d %v %v", mv.UIDValidity, mv.SourceUIDs, mv.DestUIDs)
	}
	mustOK(t, "NOOP", c.Noop().Wait())
	if n := c.Mailbox().NumMessages; n != before-2 {
		t.Errorf("after MOVE the client counts %d messages, want %d", n, before-2)
	}
	left := slices.Concat(all[:4], all[6:])

	// Messages in Work keep their content, flags and internal date.
	mustOK(t, "EXAMINE Work", func() error { _, err := c.Select("Work", &imap.SelectOptions{ReadOnly: true}).Wait(); return err }())
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "FETCH Work")(c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Envelope: true, InternalDate: true, Flags: true}).Collect())
	wantIn := []appended{all[0], all[1], all[2], all[10], all[4], all[5]}
	if len(bufs) != len(wantIn) {
		t.Fatalf("Work has %d messages, want %d", len(bufs), len(wantIn))
	}
	for i, b := range bufs {
		w := wantIn[i]
		if b.UID != imap.UID(i+1) || b.Envelope.MessageID != w.m.MessageID || !b.InternalDate.Equal(appendOpts(w.i).Time) {
			t.Errorf("Work message %d: UID %d %s %v, want %s %v", i+1, b.UID, b.Envelope.MessageID, b.InternalDate, w.m.MessageID, appendOpts(w.i).Time)
		}
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err == nil {
		t.Errorf("STORE in an EXAMINEd mailbox: %v", err)
	}

	sel := must[*imap.SelectData](t, "SELECT INBOX")(c.Select("INBOX", nil).Wait())
	if sel.NumMessages != uint32(len(left)) || sel.UIDNext != 25 || sel.UIDValidity != validity {
		t.Fatalf("INBOX after MOVE: %d messages UIDNEXT %d UIDVALIDITY %d", sel.NumMessages, sel.UIDNext, sel.UIDValidity)
	}

	// EXPUNGE of messages 2, 3 and the last one: the responses renumber
	// as they go (RFC 9051 section 7.4.1).
	last := uint32(len(left))
	mustOK(t, "STORE \\Deleted", c.Store(imap.SeqSetNum(2, 3, last), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	seqs := must[[]uint32](t, "EXPUNGE")(c.Expunge().Collect())
	if !slices.Equal(seqs, []uint32{2, 2, last - 2}) && !slices.Equal(seqs, []uint32{last, 3, 2}) {
		t.Errorf("EXPUNGE reported %v", seqs)
	}
	left = slices.Concat(left[:1], left[3:len(left)-1])
	data := must[*imap.SearchData](t, "UID SEARCH ALL")(c.UIDSearch(&imap.SearchCriteria{}, nil).Wait())
	var wantUIDs []imap.UID
	for _, a := range left {
		wantUIDs = append(wantUIDs, a.uid)
	}
	if got := data.AllUIDs(); !slices.Equal(got, wantUIDs) {
		t.Errorf("UIDs after EXPUNGE: %v, want %v", got, wantUIDs)
	}

	// UID EXPUNGE removes only the named \Deleted messages.
	mustOK(t, "STORE \\Deleted", c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	seqs = must[[]uint32](t, "UID EXPUNGE")(c.UIDExpunge(imap.UIDSetNum(left[1].uid, left[5].uid)).Collect())
	if !slices.Equal(seqs, []uint32{2}) {
		t.Errorf("UID EXPUNGE reported %v, want [2]", seqs)
	}

	// The highest UID was expunged: UIDNEXT stays, and the next APPEND
	// gets a fresh UID.
	st := must[*imap.StatusData](t, "STATUS INBOX")(c.Status("INBOX", &imap.StatusOptions{UIDNext: true, NumMessages: true}).Wait())
	if st.UIDNext != 25 || *st.NumMessages != uint32(len(left)-1) {
		t.Errorf("STATUS after EXPUNGE: UIDNEXT %d, %d messages; want 25, %d", st.UIDNext, *st.NumMessages, len(left)-1)
	}
	res := must[*imap.AppendData](t, "APPEND")(appendOne(c, "INBOX", corpus(8, 1)[0].Raw, nil))
	if res.UID != 25 || res.UIDValidity != validity {
		t.Errorf("APPEND after EXPUNGE: UID %d validity %d", res.UID, res.UIDValidity)
	}
	mustOK(t, "NOOP", c.Noop().Wait())
	if n := c.Mailbox().NumMessages; n != uint32(len(left)) {
		t.Errorf("the client counts %d messages, want %d", n, len(left))
	}
	mustOK(t, "UNSELECT", c.Unselect().Wait())
}

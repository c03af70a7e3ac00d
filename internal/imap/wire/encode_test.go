package wire

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// encodeCommand writes cmd back in IMAP syntax, canonically: the test
// oracle for FuzzReadCommand, which checks that parsing the encoding gives
// the same command.
func encodeCommand(cmd *Command) []byte {
	var buf bytes.Buffer
	w := NewWriter(bufio.NewWriter(&buf))
	w.SetUTF8(true)
	w.Raw(cmd.Tag)
	w.SP()
	if cmd.UID {
		w.Raw("UID ")
	}
	w.Raw(cmd.Name)
	seq := func(s SeqSet) {
		if s.SearchRes {
			w.Byte('$')
			return
		}
		for i, r := range s.Ranges {
			if i > 0 {
				w.Byte(',')
			}
			num := func(n uint32) {
				if n == 0 {
					w.Byte('*')
				} else {
					w.Number(uint64(n))
				}
			}
			num(r.Start)
			if r.Stop != r.Start {
				w.Byte(':')
				num(r.Stop)
			}
		}
	}
	set := func(s SeqSet) {
		w.SP()
		seq(s)
	}
	list := func(items []string, f func(string)) {
		w.Byte('(')
		for i, s := range items {
			if i > 0 {
				w.SP()
			}
			f(s)
		}
		w.Byte(')')
	}
	date := func(t time.Time) {
		w.Raw(fmt.Sprintf("%d-%s-%04d", t.Day(), t.Month().String()[:3], t.Year()))
	}
	pattern := func(s string) {
		for i := 0; i < len(s); i++ {
			if !isListChar(s[i]) {
				w.String(s)
				return
			}
		}
		if s == "" {
			w.String(s)
			return
		}
		w.Raw(s)
	}

	switch a := cmd.Args.(type) {
	case nil:
	case *LoginArgs:
		w.SP()
		w.AString(a.User)
		w.SP()
		w.AString(a.Password)
	case *AuthenticateArgs:
		w.SP()
		w.Raw(a.Mechanism)
		if a.HasInitial {
			w.SP()
			if len(a.Initial) == 0 {
				w.Byte('=')
			} else {
				w.Raw(base64.StdEncoding.EncodeToString(a.Initial))
			}
		}
	case *EnableArgs:
		for _, c := range a.Capabilities {
			w.SP()
			w.Raw(c)
		}
	case *GetMetadataArgs:
		w.SP()
		var opts []string
		if a.MaxSize >= 0 {
			opts = append(opts, "MAXSIZE "+strconv.FormatInt(a.MaxSize, 10))
		}
		if a.Depth != 0 {
			opts = append(opts, map[int]string{1: "DEPTH 1", -1: "DEPTH infinity"}[a.Depth])
		}
		if opts != nil {
			list(opts, w.Raw)
			w.SP()
		}
		w.AString(a.Mailbox)
		w.SP()
		list(a.Entries, func(e string) { w.AString(e) })
	case *SetMetadataArgs:
		w.SP()
		w.AString(a.Mailbox)
		w.Raw(" (")
		for i, e := range a.Entries {
			if i > 0 {
				w.SP()
			}
			w.AString(e.Entry)
			w.SP()
			if e.Value == nil {
				w.Raw("NIL")
			} else {
				w.String(*e.Value)
			}
		}
		w.Raw(")")
	case *NotifyArgs:
		if a.None {
			w.Raw(" NONE")
			break
		}
		w.Raw(" SET")
		if a.Status {
			w.Raw(" STATUS")
		}
		for _, g := range a.Groups {
			w.Raw(" (" + g.Filter)
			if g.Mailboxes != nil {
				w.Raw(" (")
				for i, m := range g.Mailboxes {
					if i > 0 {
						w.SP()
					}
					w.AString(m)
				}
				w.Raw(")")
			}
			if len(g.Events) == 0 {
				w.Raw(" NONE)")
				continue
			}
			w.Raw(" (")
			for i, e := range g.Events {
				if i > 0 {
					w.SP()
				}
				w.Raw(e)
				if e == "MessageNew" && len(g.FetchAtts) > 0 {
					w.Raw(" (")
					for j, it := range g.FetchAtts {
						if j > 0 {
							w.SP()
						}
						w.Raw(it.Name)
					}
					w.Raw(")")
				}
			}
			w.Raw("))")
		}
	case *QuotaRootArgs:
		w.SP()
		w.String(a.Root)
	case *SetQuotaArgs:
		w.SP()
		w.String(a.Root)
		w.Raw(" (")
		for i, l := range a.Limits {
			if i > 0 {
				w.SP()
			}
			w.Raw(l.Resource)
			w.SP()
			w.Number(l.Limit)
		}
		w.Raw(")")
	case *CompressArgs:
		w.SP()
		w.Raw(a.Mechanism)
	case *IDArgs:
		w.SP()
		if a.Fields == nil {
			w.Raw("NIL")
			break
		}
		w.Byte('(')
		for i, f := range a.Fields {
			if i > 0 {
				w.SP()
			}
			w.String(f.Key)
			w.SP()
			if f.Value == nil {
				w.Raw("NIL")
			} else {
				w.String(*f.Value)
			}
		}
		w.Byte(')')
	case *SelectArgs:
		w.SP()
		w.AString(a.Mailbox)
		var params []string
		if a.CondStore {
			params = append(params, "CONDSTORE")
		}
		if q := a.QResync; q != nil {
			params = append(params, "QRESYNC")
		}
		if len(params) > 0 {
			w.SP()
			list(params, func(p string) {
				w.Raw(p)
				if p == "QRESYNC" {
					q := a.QResync
					w.Raw(" (")
					w.Number(uint64(q.UIDValidity))
					w.SP()
					w.Number(q.ModSeq)
					if q.KnownUIDs != nil {
						set(*q.KnownUIDs)
					}
					if q.SeqMatchSeqs != nil {
						w.Raw(" (")
						seq(*q.SeqMatchSeqs)
						set(*q.SeqMatchUIDs)
						w.Byte(')')
					}
					w.Byte(')')
				}
			})
		}
	case *CreateArgs:
		w.SP()
		w.AString(a.Mailbox)
		if a.SpecialUse != nil {
			w.Raw(" (USE ")
			list(a.SpecialUse, w.Raw)
			w.Byte(')')
		}
	case *MailboxArgs:
		w.SP()
		w.AString(a.Mailbox)
	case *RenameArgs:
		w.SP()
		w.AString(a.From)
		w.SP()
		w.AString(a.To)
	case *ListArgs:
		if a.Extended {
			var opts []string
			for _, o := range []struct {
				on   bool
				name string
			}{{a.SelectSubscribed, "SUBSCRIBED"}, {a.SelectRemote, "REMOTE"}, {a.SelectRecursiveMatch, "RECURSIVEMATCH"}, {a.SelectSpecialUse, "SPECIAL-USE"}} {
				if o.on {
					opts = append(opts, o.name)
				}
			}
			w.SP()
			list(opts, w.Raw)
		}
		w.SP()
		w.AString(a.Reference)
		w.SP()
		if a.Extended {
			list(a.Patterns, pattern)
			var opts []string
			for _, o := range []struct {
				on   bool
				name string
			}{{a.ReturnSubscribed, "SUBSCRIBED"}, {a.ReturnChildren, "CHILDREN"}, {a.ReturnSpecialUse, "SPECIAL-USE"}, {a.ReturnStatus != nil, "STATUS"}, {a.ReturnMetadata != nil, "METADATA"}} {
				if o.on {
					opts = append(opts, o.name)
				}
			}
			w.Raw(" RETURN ")
			list(opts, func(o string) {
				w.Raw(o)
				if o == "STATUS" {
					w.SP()
					list(a.ReturnStatus, w.Raw)
				}
				if m := a.ReturnMetadata; o == "METADATA" {
					var opts []string
					if m.MaxSize >= 0 {
						opts = append(opts, "MAXSIZE "+strconv.FormatInt(m.MaxSize, 10))
					}
					if m.Depth != 0 {
						opts = append(opts, map[int]string{1: "DEPTH 1", -1: "DEPTH infinity"}[m.Depth])
					}
					if opts != nil {
						w.SP()
						list(opts, w.Raw)
					}
					w.SP()
					list(m.Entries, func(e string) { w.AString(e) })
				}
			})
		} else {
			pattern(a.Patterns[0])
		}
	case *LsubArgs:
		w.SP()
		w.AString(a.Reference)
		w.SP()
		pattern(a.Pattern)
	case *StatusArgs:
		w.SP()
		w.AString(a.Mailbox)
		w.SP()
		list(a.Items, w.Raw)
	case *AppendArgs, *ReplaceArgs:
		var msgs []AppendMessage
		w.SP()
		if r, ok := a.(*ReplaceArgs); ok {
			if r.Number == 0 {
				w.Raw("*")
			} else {
				w.Number(uint64(r.Number))
			}
			w.SP()
			w.AString(r.Mailbox)
			msgs = []AppendMessage{r.Message}
		} else {
			a := a.(*AppendArgs)
			w.AString(a.Mailbox)
			msgs = a.Messages
		}
		for _, m := range msgs {
			if m.Flags != nil {
				w.SP()
				list(m.Flags, w.Raw)
			}
			if m.HasDate {
				w.SP()
				w.DateTime(m.Date)
			}
			w.SP()
			if m.Catenate != nil {
				w.Raw("CATENATE (")
				for i, p := range m.Catenate {
					if i > 0 {
						w.SP()
					}
					if p.Text == nil {
						w.Raw("URL ")
						w.AString(p.URL)
						continue
					}
					w.Raw("TEXT ")
					if p.Binary {
						w.Byte('~')
					}
					w.Raw("{" + strconv.FormatInt(p.Text.Size(), 10) + "+}\r\n")
					data, _ := io.ReadAll(p.Text.Open())
					w.Raw(string(data))
				}
				w.Byte(')')
				continue
			}
			if m.UTF8 {
				w.Raw("UTF8 (")
			}
			if m.Binary {
				w.Byte('~')
			}
			w.Raw("{" + strconv.FormatInt(m.Data.Size(), 10) + "+}\r\n")
			data, _ := io.ReadAll(m.Data.Open())
			w.Raw(string(data))
			if m.UTF8 {
				w.Byte(')')
			}
		}
	case *FetchArgs:
		set(a.Set)
		w.Raw(" (")
		for i, it := range a.Items {
			if i > 0 {
				w.SP()
			}
			w.Raw(it.Name)
			if s := it.Section; s != nil {
				w.Byte('[')
				for j, p := range s.Part {
					if j > 0 {
						w.Byte('.')
					}
					w.Number(uint64(p))
				}
				if s.Specifier != "" {
					if len(s.Part) > 0 {
						w.Byte('.')
					}
					w.Raw(s.Specifier)
				}
				if s.Fields != nil {
					w.SP()
					list(s.Fields, w.AString)
				}
				w.Byte(']')
			}
			if p := it.Partial; p != nil {
				w.Raw(fmt.Sprintf("<%d.%d>", p.Offset, p.Count))
			}
			if it.Lazy {
				w.Raw(" (LAZY)")
			}
		}
		w.Byte(')')
		var mods []string
		if a.ChangedSince != 0 {
			mods = append(mods, "CHANGEDSINCE "+strconv.FormatUint(a.ChangedSince, 10))
		}
		if a.Partial != nil {
			mods = append(mods, fmt.Sprintf("PARTIAL %d:%d", a.Partial.First, a.Partial.Last))
		}
		if a.Vanished {
			mods = append(mods, "VANISHED")
		}
		if mods != nil {
			w.SP()
			list(mods, w.Raw)
		}
	case *StoreArgs:
		set(a.Set)
		if a.HasUnchangedSince {
			w.Raw(" (UNCHANGEDSINCE ")
			w.Number(a.UnchangedSince)
			w.Byte(')')
		}
		w.SP()
		if a.Op != 0 {
			w.Byte(a.Op)
		}
		w.Raw("FLAGS")
		if a.Silent {
			w.Raw(".SILENT")
		}
		w.SP()
		list(a.Flags, w.Raw)
	case *CopyArgs:
		set(a.Set)
		w.SP()
		w.AString(a.Mailbox)
	case *ExpungeArgs:
		set(a.Set)
	case *SearchArgs, *SortArgs, *ThreadArgs, *ESearchArgs:
		var criteria []SearchKey
		if e, ok := a.(*ESearchArgs); ok {
			if e.Sources != nil {
				w.Raw(" IN (")
				for i, f := range e.Sources {
					if i > 0 {
						w.SP()
					}
					w.Raw(f.Filter)
					if f.Mailboxes != nil {
						w.SP()
						list(f.Mailboxes, func(m string) { w.AString(m) })
					}
				}
				w.Byte(')')
			}
			a = e.Search
		}
		switch a := a.(type) {
		case *SearchArgs:
			if a.HasReturn {
				w.Raw(" RETURN ")
				list(a.Return, func(o string) {
					w.Raw(o)
					if o == "PARTIAL" {
						w.Raw(fmt.Sprintf(" %d:%d", a.Partial.First, a.Partial.Last))
					}
				})
			}
			if a.Charset != "" {
				w.Raw(" CHARSET ")
				w.String(a.Charset)
			}
			criteria = a.Criteria
		case *SortArgs:
			if a.HasReturn {
				w.Raw(" RETURN ")
				list(a.Return, w.Raw)
			}
			w.Raw(" (")
			for i, k := range a.Keys {
				if i > 0 {
					w.SP()
				}
				if k.Reverse {
					w.Raw("REVERSE ")
				}
				w.Raw(k.Key)
			}
			w.Raw(") ")
			w.String(a.Charset)
			criteria = a.Criteria
		case *ThreadArgs:
			w.SP()
			w.Raw(a.Algorithm)
			w.SP()
			w.String(a.Charset)
			criteria = a.Criteria
		}
		var key func(k SearchKey)
		key = func(k SearchKey) {
			switch k.Name {
			case "SEQSET":
				seq(k.Set)
				return
			case "AND":
				w.Byte('(')
				for i, c := range k.Children {
					if i > 0 {
						w.SP()
					}
					key(c)
				}
				w.Byte(')')
				return
			}
			w.Raw(k.Name)
			switch k.Name {
			case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
				w.SP()
				w.AString(k.String)
			case "KEYWORD", "UNKEYWORD", "EMAILID", "THREADID":
				w.SP()
				w.Raw(k.String)
			case "HEADER":
				w.SP()
				w.AString(k.Field)
				w.SP()
				w.AString(k.String)
			case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
				w.SP()
				date(k.Date)
			case "LARGER", "SMALLER", "OLDER", "YOUNGER", "MODSEQ":
				w.SP()
				w.Number(k.Number)
			case "UID":
				set(k.Set)
			case "NOT", "OR", "FUZZY":
				for _, c := range k.Children {
					w.SP()
					key(c)
				}
			}
		}
		for _, k := range criteria {
			w.SP()
			key(k)
		}
	default:
		panic(fmt.Sprintf("encodeCommand: unhandled %T", a))
	}
	w.CRLF()
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// checkReencode checks that cmd, written back canonically and parsed again,
// gives the same command.
func checkReencode(t *testing.T, cmd *Command) {
	t.Helper()
	enc := encodeCommand(cmd)
	r, _ := newTestReader(string(enc), Options{MaxLineLength: 1 << 20, MaxLiteralSize: 1 << 20, MaxMessageSize: 1 << 20})
	again, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("re-encoded %s as %q: %v", dump(cmd), enc, err)
	}
	defer closeCommand(again)
	if !sameCommand(cmd, again) {
		t.Fatalf("re-encoded %s\nas %q\nparsed to %s", dump(cmd), enc, dump(again))
	}
}

// sameCommand compares commands, APPEND message data and dates by value.
func sameCommand(a, b *Command) bool {
	aa, ok1 := a.Args.(*AppendArgs)
	ba, ok2 := b.Args.(*AppendArgs)
	if !ok1 || !ok2 {
		return reflect.DeepEqual(a, b)
	}
	if a.Tag != b.Tag || a.Name != b.Name || aa.Mailbox != ba.Mailbox || len(aa.Messages) != len(ba.Messages) {
		return false
	}
	for i := range aa.Messages {
		m, n := aa.Messages[i], ba.Messages[i]
		_, o1 := m.Date.Zone()
		_, o2 := n.Date.Zone()
		d1, d2 := literalBytes(m.Data), literalBytes(n.Data)
		if !reflect.DeepEqual(m.Flags, n.Flags) || m.HasDate != n.HasDate || !m.Date.Equal(n.Date) || o1 != o2 ||
			m.Binary != n.Binary || m.UTF8 != n.UTF8 || !bytes.Equal(d1, d2) || len(m.Catenate) != len(n.Catenate) {
			return false
		}
		for j, p := range m.Catenate {
			q := n.Catenate[j]
			if p.URL != q.URL || p.Binary != q.Binary || (p.Text == nil) != (q.Text == nil) {
				return false
			}
			if p.Text != nil {
				if !bytes.Equal(literalBytes(p.Text), literalBytes(q.Text)) {
					return false
				}
			}
		}
	}
	return true
}

// literalBytes reads a literal's data; nil for no literal.
func literalBytes(l *Literal) []byte {
	if l == nil {
		return nil
	}
	b, _ := io.ReadAll(l.Open())
	return b
}

// TestReencode runs the re-encoding oracle over the valid table commands.
func TestReencode(t *testing.T) {
	for _, in := range append(append([]string{}, fuzzSeeds...),
		"t SEARCH (OR (1 2) NOT ((SEEN)))\r\n",
		"t LIST \"\" ({3+}\r\na b \"\")\r\n",
		"t ID (\"k\" \"v\" \"x\" NIL)\r\n",
	) {
		r, _ := newTestReader(in, Options{})
		for {
			cmd, err := r.ReadCommand()
			if err == io.EOF {
				break
			}
			if err != nil {
				continue
			}
			checkReencode(t, cmd)
			closeCommand(cmd)
		}
	}
}

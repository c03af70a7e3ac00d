package thread

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// msg is a test message with its IDs and subject as strings.
type msg struct {
	num     uint32
	id      string
	refs    []string
	subject string
	reply   bool
	date    time.Time
}

func day(n int) time.Time { return time.Date(2026, 1, n, 0, 0, 0, 0, time.UTC) }

// numbered numbers IDs and subjects as a caller does: equal strings get
// equal numbers, "" gets 0.
func numbered(in []msg) []Message {
	ids, subjects := map[string]uint32{"": 0}, map[string]uint32{"": 0}
	number := func(m map[string]uint32, s string) uint32 {
		n, ok := m[s]
		if !ok {
			n = uint32(len(m))
			m[s] = n
		}
		return n
	}
	out := make([]Message, len(in))
	for i, m := range in {
		out[i] = Message{Num: m.num, Date: m.date.Unix(), ID: number(ids, m.id), Subject: number(subjects, m.subject), Reply: m.reply}
		for _, r := range m.refs {
			out[i].Refs = append(out[i].Refs, number(ids, r))
		}
	}
	return out
}

func TestOrderedSubject(t *testing.T) {
	msgs := []msg{
		{num: 1, subject: "A", date: day(3)},
		{num: 2, subject: "B", date: day(1)},
		{num: 3, subject: "A", date: day(2)},
		{num: 4, subject: "A", date: day(5)},
		{num: 5, subject: "C", date: day(4)},
		{num: 6, subject: "B", date: day(6)},
		{num: 7, date: day(7)},
		{num: 8, date: day(7)},
	}
	if got, want := OrderedSubject(numbered(msgs)).String(), "(2 6)(3 (1)(4))(5)(7 8)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := OrderedSubject(nil).String(); got != "" {
		t.Errorf("no messages: %q", got)
	}
}

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []msg
		want string
	}{
		{"chain", []msg{
			{num: 1, id: "a", subject: "X", date: day(1)},
			{num: 2, id: "b", refs: []string{"a"}, subject: "X", reply: true, date: day(2)},
			{num: 3, id: "c", refs: []string{"a", "b"}, subject: "X", reply: true, date: day(3)},
		}, "(1 2 3)"},
		{"siblings", []msg{
			{num: 1, id: "a", subject: "X", date: day(1)},
			{num: 2, id: "b", refs: []string{"a"}, subject: "X", reply: true, date: day(3)},
			{num: 3, id: "c", refs: []string{"a"}, subject: "X", reply: true, date: day(2)},
		}, "(1 (3)(2))"},
		{"missing parent: a dummy for two children stays at the root", []msg{
			{num: 1, id: "b", refs: []string{"a"}, subject: "X", reply: true, date: day(1)},
			{num: 2, id: "c", refs: []string{"a"}, subject: "X", reply: true, date: day(2)},
		}, "((1)(2))"},
		{"missing parent with one child: promoted", []msg{
			{num: 1, id: "b", refs: []string{"a"}, subject: "Y", reply: true, date: day(1)},
			{num: 2, id: "z", subject: "Z", date: day(2)},
		}, "(1)(2)"},
		{"missing grandparent: the inner dummy's children join the root dummy", []msg{
			{num: 1, id: "c", refs: []string{"a", "b"}, subject: "Y", date: day(1)},
			{num: 2, id: "d", refs: []string{"a", "b"}, subject: "Y", date: day(2)},
		}, "((1)(2))"},
		{"subject merge: a reply joins the original", []msg{
			{num: 1, id: "a", subject: "X", date: day(1)},
			{num: 2, id: "b", subject: "X", reply: true, date: day(2)},
		}, "(1 2)"},
		{"subject merge: two originals under a dummy", []msg{
			{num: 1, id: "a", subject: "X", date: day(1)},
			{num: 2, id: "b", subject: "X", date: day(2)},
		}, "((1)(2))"},
		{"subject merge: a message joins a dummy thread", []msg{
			{num: 1, id: "b", refs: []string{"a"}, subject: "X", reply: true, date: day(2)},
			{num: 2, id: "c", refs: []string{"a"}, subject: "X", reply: true, date: day(3)},
			{num: 3, id: "d", subject: "X", date: day(1)},
		}, "((3)(1)(2))"},
		{"subject merge: two dummy threads", []msg{
			{num: 1, id: "b", refs: []string{"a"}, subject: "X", reply: true, date: day(2)},
			{num: 2, id: "c", refs: []string{"a"}, subject: "X", reply: true, date: day(3)},
			{num: 3, id: "e", refs: []string{"d"}, subject: "X", reply: true, date: day(1)},
			{num: 4, id: "f", refs: []string{"d"}, subject: "X", reply: true, date: day(4)},
		}, "((3)(1)(2)(4))"},
		{
			// Step 4 sorts the threads by date before step 5 merges
			// them: the reply 3 is seen first, then replaced in the
			// subject table by 2, which it joins; 1 and 2 then share a
			// new dummy. Merging in mailbox order would give
			// ((3)(2)(1)).
			"subject merge follows date order", []msg{
				{num: 1, id: "x", subject: "S", date: day(3)},
				{num: 2, id: "y", subject: "S", date: day(2)},
				{num: 3, id: "z", subject: "S", reply: true, date: day(1)},
			}, "((2 3)(1))",
		},
		{"empty subjects do not merge", []msg{
			{num: 1, id: "a", date: day(1)},
			{num: 2, id: "b", date: day(2)},
		}, "(1)(2)"},
		{"duplicate Message-ID", []msg{
			{num: 1, id: "a", subject: "P", date: day(1)},
			{num: 2, id: "a", subject: "Q", date: day(2)},
			{num: 3, id: "c", refs: []string{"a"}, subject: "R", date: day(3)},
		}, "(1 3)(2)"},
		{"reference loop", []msg{
			{num: 1, id: "a", refs: []string{"b"}, subject: "P", date: day(1)},
			{num: 2, id: "b", refs: []string{"a"}, subject: "Q", date: day(2)},
		}, "(2 1)"}, // the first message made b the parent of a; 2 cannot undo it without a loop
		{"self reference", []msg{
			{num: 1, id: "a", refs: []string{"a"}, subject: "P", date: day(1)},
		}, "(1)"},
		{"a later message corrects a truncated References", []msg{
			{num: 1, id: "a", subject: "P", date: day(1)},
			{num: 2, id: "b", refs: []string{"a"}, subject: "P", reply: true, date: day(2)},
			{num: 3, id: "c", refs: []string{"a"}, subject: "P", reply: true, date: day(3)},
			{num: 4, id: "d", refs: []string{"b", "c"}, subject: "P", reply: true, date: day(4)},
		}, "(1 (2)(3 4))"},
		{"equal dates: by number", []msg{
			{num: 2, id: "b", subject: "Q", date: day(1)},
			{num: 1, id: "a", subject: "P", date: day(1)},
		}, "(1)(2)"},
		{"no messages", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := numbered(tc.msgs)
			if got := References(msgs).String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if got := referenceThreads(msgs); got != tc.want {
				t.Errorf("reference implementation: got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestThreadsRandom compares both algorithms on random reference graphs
// with the plain implementations below, and checks that every message
// appears exactly once.
func TestThreadsRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		n := 1 + rnd.IntN(60)
		in := make([]msg, n)
		for i := range in {
			in[i] = msg{num: uint32(i + 1), id: fmt.Sprint("m", rnd.IntN(n+5)), subject: fmt.Sprint("s", rnd.IntN(5)), reply: rnd.IntN(2) == 0, date: day(1 + rnd.IntN(20))}
			if rnd.IntN(10) == 0 {
				in[i].id = ""
			}
			if rnd.IntN(8) == 0 {
				in[i].subject = ""
			}
			for range rnd.IntN(4) {
				in[i].refs = append(in[i].refs, fmt.Sprint("m", rnd.IntN(n+5)))
			}
		}
		msgs := numbered(in)
		got := References(msgs).String()
		if want := referenceThreads(msgs); got != want {
			t.Fatalf("round %d: REFERENCES\n got %s\nwant %s\ninput %+v", round, got, want, in)
		}
		checkOnce(t, got, n)
		got = OrderedSubject(msgs).String()
		if want := orderedSubjectThreads(msgs); got != want {
			t.Fatalf("round %d: ORDEREDSUBJECT\n got %s\nwant %s", round, got, want)
		}
		checkOnce(t, got, n)
	}
}

// checkOnce checks that a response lists 1..n once each, with balanced
// parentheses.
func checkOnce(t *testing.T, resp string, n int) {
	t.Helper()
	depth := 0
	for _, c := range resp {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				t.Fatalf("unbalanced: %s", resp)
			}
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced: %s", resp)
	}
	var nums []int
	for _, f := range strings.FieldsFunc(resp, func(r rune) bool { return r == '(' || r == ')' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad number %q in %s", f, resp)
		}
		nums = append(nums, v)
	}
	slices.Sort(nums)
	if len(nums) != n || (n > 0 && (nums[0] != 1 || nums[n-1] != n)) || len(slices.Compact(nums)) != n {
		t.Fatalf("messages not listed once each: %s", resp)
	}
}

// A deep reference chain must not need deep recursion.
func TestReferencesDeepChain(t *testing.T) {
	const n = 200_000
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Num: uint32(i + 1), Date: int64(i), ID: uint32(i + 1), Subject: 1, Reply: i > 0}
		if i > 0 {
			msgs[i].Refs = []uint32{uint32(i)}
		}
	}
	f := References(msgs)
	if f.Threads() != 1 {
		t.Fatalf("%d threads, want 1", f.Threads())
	}
	out := f.String()
	if !strings.HasPrefix(out, "(1 2 3 ") || !strings.HasSuffix(out, " 199999 200000)") {
		t.Errorf("chain: %.40s...%s", out, out[len(out)-20:])
	}
}

// The plain implementations: nodes with pointers and child slices,
// recursion, as RFC 5256 words the steps. They check the fast ones.

type pnode struct {
	m        *Message
	parent   *pnode
	children []*pnode
}

func (n *pnode) key() (int64, uint32) {
	for n.m == nil {
		n = n.children[0]
	}
	return n.m.Date, n.m.Num
}

func sortP(nodes []*pnode) {
	slices.SortFunc(nodes, func(a, b *pnode) int {
		da, na := a.key()
		db, nb := b.key()
		if da != db {
			return int(da - db)
		}
		return int(int64(na) - int64(nb))
	})
}

func formatP(b *strings.Builder, n *pnode) {
	if n.m != nil {
		b.WriteString(strconv.Itoa(int(n.m.Num)))
	}
	switch len(n.children) {
	case 0:
		return
	case 1:
		if n.m != nil {
			b.WriteByte(' ')
		}
		formatP(b, n.children[0])
		return
	}
	if n.m != nil {
		b.WriteByte(' ')
	}
	for _, c := range n.children {
		b.WriteByte('(')
		formatP(b, c)
		b.WriteByte(')')
	}
}

func formatRoots(roots []*pnode) string {
	var b strings.Builder
	for _, r := range roots {
		b.WriteByte('(')
		formatP(&b, r)
		b.WriteByte(')')
	}
	return b.String()
}

func orderedSubjectThreads(msgs []Message) string {
	sorted := make([]*Message, len(msgs))
	for i := range msgs {
		sorted[i] = &msgs[i]
	}
	slices.SortFunc(sorted, func(a, b *Message) int {
		if a.Date != b.Date {
			return int(a.Date - b.Date)
		}
		return int(int64(a.Num) - int64(b.Num))
	})
	bySubject := map[uint32]*pnode{}
	var roots []*pnode
	for _, m := range sorted {
		if r := bySubject[m.Subject]; r != nil {
			r.children = append(r.children, &pnode{m: m})
			continue
		}
		r := &pnode{m: m}
		bySubject[m.Subject] = r
		roots = append(roots, r)
	}
	return formatRoots(roots)
}

func referenceThreads(msgs []Message) string {
	byID := map[uint32]*pnode{}
	var all []*pnode
	newNode := func() *pnode { n := &pnode{}; all = append(all, n); return n }
	isAncestor := func(a, of *pnode) bool { // a is of or an ancestor of it
		for n := of; n != nil; n = n.parent {
			if n == a {
				return true
			}
		}
		return false
	}
	link := func(p, c *pnode) { c.parent = p; p.children = append(p.children, c) }
	unlink := func(c *pnode) {
		p := c.parent
		p.children = slices.DeleteFunc(p.children, func(x *pnode) bool { return x == c })
		c.parent = nil
	}
	for i := range msgs {
		m := &msgs[i]
		c := byID[m.ID]
		if m.ID == 0 || c != nil && c.m != nil {
			c = nil
		}
		if c == nil {
			c = newNode()
			if m.ID != 0 && byID[m.ID] == nil {
				byID[m.ID] = c
			}
		}
		c.m = m
		var prev *pnode
		for _, r := range m.Refs {
			rc := byID[r]
			if rc == nil {
				rc = newNode()
				byID[r] = rc
			}
			if prev != nil && rc.parent == nil && !isAncestor(rc, prev) {
				link(prev, rc)
			}
			prev = rc
		}
		if prev != nil && isAncestor(c, prev) {
			prev = nil
		}
		if c.parent != nil {
			unlink(c)
		}
		if prev != nil {
			link(prev, c)
		}
	}
	var roots []*pnode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	var prune func(nodes []*pnode, root bool) []*pnode
	prune = func(nodes []*pnode, root bool) []*pnode {
		var out []*pnode
		for _, n := range nodes {
			n.children = prune(n.children, false)
			switch {
			case n.m != nil:
				out = append(out, n)
			case len(n.children) == 0:
			case root && len(n.children) > 1:
				out = append(out, n)
			default:
				for _, c := range n.children {
					c.parent = n.parent
				}
				out = append(out, n.children...)
			}
		}
		return out
	}
	roots = prune(roots, true)
	for _, r := range roots {
		if r.m == nil {
			sortP(r.children)
		}
	}
	sortP(roots)
	subjectOf := func(n *pnode) *Message {
		if n.m != nil {
			return n.m
		}
		return n.children[0].m
	}
	table := map[uint32]*pnode{}
	for _, r := range roots {
		m := subjectOf(r)
		if m.Subject == 0 {
			continue
		}
		old := table[m.Subject]
		if old == nil || old.m != nil && (r.m == nil || old.m.Reply && !r.m.Reply) {
			table[m.Subject] = r
		}
	}
	var out []*pnode
	for _, r := range roots {
		m := subjectOf(r)
		t := table[m.Subject]
		if m.Subject == 0 || t == r {
			out = append(out, r)
			continue
		}
		if r.parent != nil {
			continue
		}
		switch {
		case t.m == nil && r.m == nil:
			for _, c := range r.children {
				c.parent = t
			}
			t.children = append(t.children, r.children...)
		case t.m == nil:
			link(t, r)
		case r.m.Reply && !t.m.Reply:
			link(t, r)
		default:
			d := &pnode{}
			for i, x := range out {
				if x == t {
					out[i] = d
				}
			}
			link(d, t)
			link(d, r)
			table[m.Subject] = d
		}
	}
	var sortAll func(nodes []*pnode)
	sortAll = func(nodes []*pnode) {
		for _, n := range nodes {
			sortAll(n.children)
		}
		sortP(nodes)
	}
	sortAll(out)
	return formatRoots(out)
}

func BenchmarkReferences100k(b *testing.B) {
	msgs := benchMessages(100_000)
	b.ReportAllocs()
	for b.Loop() {
		References(msgs).Append(nil)
	}
}

func BenchmarkOrderedSubject100k(b *testing.B) {
	msgs := benchMessages(100_000)
	b.ReportAllocs()
	for b.Loop() {
		OrderedSubject(msgs).Append(nil)
	}
}

// benchMessages: threads of five, each reply referring to the thread's
// first message and to an earlier reply.
func benchMessages(n int) []Message {
	rnd := rand.New(rand.NewPCG(3, 4))
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Num: uint32(i + 1), ID: uint32(i + 1), Subject: uint32(i/5 + 1), Date: day(1).Add(time.Duration(i) * time.Minute).Unix()}
		if i%5 != 0 {
			msgs[i].Refs = []uint32{uint32(i - i%5 + 1), uint32(i - rnd.IntN(i%5) + 0)}
			msgs[i].Reply = true
		}
	}
	return msgs
}

// Package thread builds message threads as IMAP THREAD (RFC 5256) defines
// them: ORDEREDSUBJECT, which groups by base subject, and REFERENCES,
// which follows Message-ID, References and In-Reply-To (section 2.2,
// after Jamie Zawinski's algorithm) and then merges threads by subject.
//
// The package knows nothing of the store or the protocol: callers hand in
// Messages with the fields already extracted and numbered, and get back a
// Forest they can write as a THREAD response.
//
// Message IDs and base subjects come as numbers, not strings: a mailbox of
// 100,000 messages is threaded with slices indexed by those numbers, with
// no map and no allocation per message. Trees are slices of node indices
// too, and every walk over them is iterative, so a reference chain as
// long as the mailbox needs no deep recursion.
package thread

import (
	"slices"
	"strconv"
)

// Message is what threading needs of one message.
//
// Message IDs (compared case-sensitively, RFC 5256 section 2.2) and base
// subjects (compared with i;ascii-casemap) are numbered by the caller:
// equal strings, equal numbers; 0 means absent (no Message-ID) or empty (no
// base subject). Slices sized by the largest number are allocated, so the
// numbers should be dense.
type Message struct {
	// Num is the number the response shows: a sequence number or a UID.
	// Ties in date order are broken by Num (RFC 5256 section 2.2), so
	// Nums are distinct and ascend with the mailbox order.
	Num     uint32
	Date    int64    // sent date, else internal date, Unix seconds (section 2.2)
	ID      uint32   // Message-ID
	Refs    []uint32 // References, or the In-Reply-To ID; oldest first
	Subject uint32   // base subject
	Reply   bool     // the subject had reply or forward artifacts
}

// Forest is the result of threading: threads in the order the response
// lists them, each a tree of messages and of placeholders ("dummies")
// for messages referred to but not present.
//
// Node 0 is the invisible root whose children are the threads.
type Forest struct {
	msgs []Message
	// Per node: the message index or -1 for a dummy, the parent (0, the
	// root, for a thread or a node not linked yet), the first and last
	// child, the next and previous sibling (0: none).
	msg                 []int32
	parent, first, last []int32
	next, prev          []int32
	date                []int64  // sort key: the message's date, or a dummy's first child's
	num                 []uint32 // and the tie-breaker
	scratch             []int32
}

func newForest(msgs []Message, nodes int) *Forest {
	f := &Forest{
		msgs:   msgs,
		msg:    make([]int32, 1, nodes+1),
		parent: make([]int32, 1, nodes+1),
		first:  make([]int32, 1, nodes+1),
		last:   make([]int32, 1, nodes+1),
		next:   make([]int32, 1, nodes+1),
		prev:   make([]int32, 1, nodes+1),
		date:   make([]int64, 1, nodes+1),
		num:    make([]uint32, 1, nodes+1),
	}
	f.msg[0] = -1
	return f
}

// add creates a node for message m (-1: a dummy) and returns its index.
func (f *Forest) add(m int32) int32 {
	n := int32(len(f.msg))
	f.msg = append(f.msg, m)
	f.parent = append(f.parent, 0)
	f.first = append(f.first, 0)
	f.last = append(f.last, 0)
	f.next = append(f.next, 0)
	f.prev = append(f.prev, 0)
	var d int64
	var num uint32
	if m >= 0 {
		d, num = f.msgs[m].Date, f.msgs[m].Num
	}
	f.date = append(f.date, d)
	f.num = append(f.num, num)
	return n
}

// link appends c to p's children. c must not be linked anywhere.
func (f *Forest) link(p, c int32) {
	f.parent[c] = p
	f.prev[c], f.next[c] = f.last[p], 0
	if f.last[p] != 0 {
		f.next[f.last[p]] = c
	} else {
		f.first[p] = c
	}
	f.last[p] = c
}

// unlink removes c from its parent's children; c's parent becomes 0.
func (f *Forest) unlink(c int32) {
	p := f.parent[c]
	if f.prev[c] != 0 {
		f.next[f.prev[c]] = f.next[c]
	} else {
		f.first[p] = f.next[c]
	}
	if f.next[c] != 0 {
		f.prev[f.next[c]] = f.prev[c]
	} else {
		f.last[p] = f.prev[c]
	}
	f.parent[c], f.next[c], f.prev[c] = 0, 0, 0
}

// children returns n's children, in order, in f's scratch slice (valid
// until the next call).
func (f *Forest) children(n int32) []int32 {
	kids := f.scratch[:0]
	for c := f.first[n]; c != 0; c = f.next[c] {
		kids = append(kids, c)
	}
	f.scratch = kids
	return kids
}

// setChildren relinks n's children to be exactly kids, in order.
func (f *Forest) setChildren(n int32, kids []int32) {
	f.first[n], f.last[n] = 0, 0
	var prev int32
	for _, c := range kids {
		f.parent[c], f.prev[c], f.next[c] = n, prev, 0
		if prev == 0 {
			f.first[n] = c
		} else {
			f.next[prev] = c
		}
		prev = c
	}
	f.last[n] = prev
}

// reachable reports whether to is from or an ancestor of from: linking
// from as the parent of to would then make a loop. A node without
// children is nobody's ancestor, which spares the walk up a long thread
// for each new message.
func (f *Forest) reachable(from, to int32) bool {
	if f.first[to] == 0 {
		return from == to
	}
	for n := from; n != 0; n = f.parent[n] {
		if n == to {
			return true
		}
	}
	return false
}

// postorder returns the nodes under the root, children before parents,
// the root last.
func (f *Forest) postorder() []int32 {
	out := make([]int32, 0, len(f.msg))
	// A node goes on the stack twice: first to expand, then (negated) to
	// emit after its children.
	stack := []int32{0}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n < 0 {
			out = append(out, ^n)
			continue
		}
		stack = append(stack, ^n)
		for c := f.first[n]; c != 0; c = f.next[c] {
			stack = append(stack, c)
		}
	}
	return out
}

// compare orders nodes by sent date, then by number (RFC 5256 section 2.2).
func (f *Forest) compare(a, b int32) int {
	if f.date[a] != f.date[b] {
		if f.date[a] < f.date[b] {
			return -1
		}
		return 1
	}
	switch {
	case f.num[a] < f.num[b]:
		return -1
	case f.num[a] > f.num[b]:
		return 1
	}
	return 0
}

// sortChildren sorts n's children by date; a dummy n takes the date of its
// first child afterwards.
func (f *Forest) sortChildren(n int32) {
	if f.first[n] == 0 {
		return
	}
	if f.first[n] != f.last[n] {
		kids := f.children(n)
		slices.SortFunc(kids, f.compare)
		f.setChildren(n, kids)
	}
	if f.msg[n] < 0 && n != 0 {
		c := f.first[n]
		f.date[n], f.num[n] = f.date[c], f.num[c]
	}
}

// OrderedSubject threads by base subject (RFC 5256 section 3,
// ORDEREDSUBJECT): the earliest message of a subject is the parent of the
// others, which are its children in date order; threads are ordered by
// their first message's date.
func OrderedSubject(msgs []Message) *Forest {
	f := newForest(msgs, len(msgs))
	order := make([]int32, len(msgs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ma, mb := &msgs[a], &msgs[b]
		switch {
		case ma.Date < mb.Date:
			return -1
		case ma.Date > mb.Date:
			return 1
		case ma.Num < mb.Num:
			return -1
		case ma.Num > mb.Num:
			return 1
		}
		return 0
	})
	maxSubj := uint32(0)
	for i := range msgs {
		maxSubj = max(maxSubj, msgs[i].Subject)
	}
	// Threads of the empty subject group too: they share a base subject.
	root := make([]int32, int(maxSubj)+1)
	for _, m := range order {
		n := f.add(m)
		s := msgs[m].Subject
		if root[s] == 0 {
			root[s] = n
			f.link(0, n)
			continue
		}
		f.link(root[s], n)
	}
	return f
}

// References threads by the reference chains, then merges threads with
// the same base subject (RFC 5256 section 2.2, THREAD=REFERENCES). msgs
// are in mailbox order.
func References(msgs []Message) *Forest {
	maxID, maxSubj, refs := uint32(0), uint32(0), 0
	for i := range msgs {
		m := &msgs[i]
		maxID, maxSubj = max(maxID, m.ID), max(maxSubj, m.Subject)
		for _, r := range m.Refs {
			maxID = max(maxID, r)
		}
		refs += len(m.Refs)
	}
	f := newForest(msgs, len(msgs)+min(refs, len(msgs)))
	// byID is the container of each message ID (0: none yet).
	byID := make([]int32, int(maxID)+1)
	// Step 1.
	for i := range msgs {
		m := &msgs[i]
		// 1A: the message's container. A message without a Message-ID,
		// or with one an earlier message had, gets a container of its
		// own (a "unique Message ID").
		var c int32
		if m.ID != 0 {
			if c = byID[m.ID]; c != 0 && f.msg[c] >= 0 {
				c = 0
			}
		}
		if c == 0 {
			c = f.add(int32(i))
			if m.ID != 0 && byID[m.ID] == 0 {
				byID[m.ID] = c
			}
		} else {
			// A dummy created for a reference becomes this message.
			f.msg[c] = int32(i)
			f.date[c], f.num[c] = m.Date, m.Num
		}
		// Link the references in order, parent to child, where the
		// child has no parent yet and no loop results.
		var prev int32
		for _, ref := range m.Refs {
			if ref == 0 {
				continue
			}
			rc := byID[ref]
			if rc == 0 {
				rc = f.add(-1)
				byID[ref] = rc
			}
			if prev != 0 && f.parent[rc] == 0 && !f.reachable(prev, rc) {
				f.link(prev, rc)
			}
			prev = rc
		}
		// 1B: the message's parent is the last reference, replacing any
		// parent it had, unless that makes a loop.
		if prev != 0 && f.reachable(prev, c) {
			prev = 0 // c is prev or an ancestor of it
		}
		if f.parent[c] != 0 {
			f.unlink(c)
		}
		if prev != 0 {
			f.link(prev, c)
		}
	}
	// Step 2: the root set, in order of creation (which follows the
	// messages' order).
	for n := int32(1); n < int32(len(f.msg)); n++ {
		if f.parent[n] == 0 {
			f.link(0, n)
		}
	}
	// Step 3: prune dummies.
	f.prune()
	// Step 4: sort the root set by date, a dummy by its first child.
	for c := f.first[0]; c != 0; c = f.next[c] {
		if f.msg[c] < 0 {
			f.sortChildren(c)
		}
	}
	f.sortChildren(0)
	// Step 5: merge threads by base subject.
	f.mergeBySubject(maxSubj)
	// Step 6: sort every set of siblings, the youngest first.
	for _, n := range f.postorder() {
		f.sortChildren(n)
	}
	return f
}

// prune is step 3: it removes dummies without children and replaces other
// dummies by their children, except a dummy at the root with several
// children, which stays. Children are pruned before their parents.
func (f *Forest) prune() {
	var kids []int32
	for _, n := range f.postorder() {
		changed := false
		kids = kids[:0]
		for c := f.first[n]; c != 0; c = f.next[c] {
			switch {
			case f.msg[c] >= 0:
				kids = append(kids, c)
			case f.first[c] == 0:
				changed = true // 3A: drop it
			case n == 0 && f.first[c] != f.last[c]:
				kids = append(kids, c) // keep it at the root
			default:
				changed = true // promote its children
				for g := f.first[c]; g != 0; g = f.next[g] {
					kids = append(kids, g)
				}
			}
		}
		if changed {
			f.setChildren(n, kids)
		}
	}
}

// subjectOf is the base subject of a thread (step 5B): its message's, or
// its first child's for a dummy; reply is that message's Reply.
func (f *Forest) subjectOf(n int32) (subj uint32, reply bool) {
	if f.msg[n] < 0 {
		n = f.first[n]
		if n == 0 || f.msg[n] < 0 {
			return 0, false
		}
	}
	m := &f.msgs[f.msg[n]]
	return m.Subject, m.Reply
}

// mergeBySubject is step 5: threads with the same base subject are joined.
func (f *Forest) mergeBySubject(maxSubj uint32) {
	roots := slices.Clone(f.children(0))
	table := make([]int32, int(maxSubj)+1)
	// 5B: choose, per subject, the thread to keep: a dummy over a
	// message, a non-reply over a reply.
	for _, r := range roots {
		subj, _ := f.subjectOf(r)
		if subj == 0 {
			continue
		}
		old := table[subj]
		switch {
		case old == 0:
			table[subj] = r
		case f.msg[old] >= 0 && f.msg[r] < 0:
			table[subj] = r
		case f.msg[old] >= 0 && f.msgs[f.msg[old]].Reply && !f.msgs[f.msg[r]].Reply:
			table[subj] = r
		}
	}
	// 5C: merge.
	for _, r := range roots {
		subj, reply := f.subjectOf(r)
		if subj == 0 {
			continue
		}
		t := table[subj]
		if t == r || f.parent[r] != 0 {
			continue // the kept thread, or one a merge already moved
		}
		switch {
		case f.msg[t] < 0 && f.msg[r] < 0:
			// Both dummies: r's children join t's.
			f.unlink(r)
			for c := f.first[r]; c != 0; {
				next := f.next[c]
				f.unlink(c)
				f.link(t, c)
				c = next
			}
		case f.msg[t] < 0:
			// The kept thread is a dummy: the message joins it.
			f.unlink(r)
			f.link(t, r)
		case f.msg[r] < 0:
			// The table prefers dummies, so this does not happen; keep
			// the tree whole if it does.
			f.unlink(t)
			f.link(r, t)
			table[subj] = r
		case reply && !f.msgs[f.msg[t]].Reply:
			// A reply joins the original as its child.
			f.unlink(r)
			f.link(t, r)
		default:
			// Both become children of a new dummy, which takes t's
			// place among the threads and in the table.
			d := f.add(-1)
			f.insertBefore(t, d)
			f.unlink(t)
			f.unlink(r)
			f.link(d, t)
			f.link(d, r)
			table[subj] = d
		}
	}
}

// insertBefore puts the unlinked node n just before sibling s.
func (f *Forest) insertBefore(s, n int32) {
	p := f.parent[s]
	f.parent[n], f.next[n], f.prev[n] = p, s, f.prev[s]
	if f.prev[s] != 0 {
		f.next[f.prev[s]] = n
	} else {
		f.first[p] = n
	}
	f.prev[s] = n
}

// Threads returns the number of threads.
func (f *Forest) Threads() int {
	n := 0
	for c := f.first[0]; c != 0; c = f.next[c] {
		n++
	}
	return n
}

// Append appends the threads in the syntax of the THREAD response (RFC
// 5256 section 4), without the "THREAD" keyword: each thread in
// parentheses; a message followed by its only child continues the list,
// several children each get parentheses.
func (f *Forest) Append(dst []byte) []byte {
	const closeParen = -1
	// Stack items: a node whose list opens with "(", or closeParen.
	var stack []int32
	for c := f.last[0]; c != 0; c = f.prev[c] {
		stack = append(stack, c)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == closeParen {
			dst = append(dst, ')')
			continue
		}
		dst = append(dst, '(')
		stack = append(stack, closeParen)
		for {
			isMsg := f.msg[n] >= 0
			if isMsg {
				dst = strconv.AppendUint(dst, uint64(f.msgs[f.msg[n]].Num), 10)
			}
			if f.first[n] == 0 {
				break
			}
			if isMsg {
				dst = append(dst, ' ')
			}
			if f.first[n] == f.last[n] {
				n = f.first[n]
				continue
			}
			for c := f.last[n]; c != 0; c = f.prev[c] {
				stack = append(stack, c)
			}
			break
		}
	}
	return dst
}

// String returns the threads as Append writes them.
func (f *Forest) String() string { return string(f.Append(nil)) }

// Package thread builds message threads as IMAP THREAD (RFC 5256) defines
// them: ORDEREDSUBJECT, which groups by base subject, and REFERENCES,
// which follows Message-ID, References and In-Reply-To (section 2.2,
// after Jamie Zawinski's algorithm) and then merges threads by subject.
//
// The package knows nothing of the store or the protocol: callers hand in
// Messages with the fields already extracted and get back trees.
package thread

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Message is what threading needs of one message.
type Message struct {
	// Num is the number the response shows: a sequence number or a UID.
	// Ties in date order are broken by Num (RFC 5256 section 2.2).
	Num         uint32
	MessageID   string   // without angle brackets; "" when absent
	References  []string // oldest first
	BaseSubject string   // compared exactly; callers normalize case
	Reply       bool
	Date        time.Time
}

// Node is a thread: a message (nil for a placeholder of a message that is
// referred to but not present) and its replies.
type Node struct {
	Msg      *Message
	Children []*Node

	parent *Node
	id     string // message ID of the container, for REFERENCES
}

// date is the sort date of a node: its message's, or, for a placeholder,
// that of its first child once children are sorted (section 2.2 step 6).
func (n *Node) date() (time.Time, uint32) {
	for n.Msg == nil {
		if len(n.Children) == 0 {
			return time.Time{}, 0
		}
		n = n.Children[0]
	}
	return n.Msg.Date, n.Msg.Num
}

func sortNodes(nodes []*Node) {
	slices.SortStableFunc(nodes, func(a, b *Node) int {
		da, na := a.date()
		db, nb := b.date()
		if c := da.Compare(db); c != 0 {
			return c
		}
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	})
}

// sortTree sorts every level, children before parents, so that a
// placeholder's date is known when its level is sorted.
func sortTree(nodes []*Node) {
	for _, n := range nodes {
		sortTree(n.Children)
	}
	sortNodes(nodes)
}

// OrderedSubject threads by base subject (RFC 5256 section 3,
// ORDEREDSUBJECT): the earliest message of a subject is the parent of the
// others, which are its children in date order; threads are ordered by
// their first message's date.
func OrderedSubject(msgs []Message) []*Node {
	bySubject := map[string]*Node{}
	var roots []*Node
	sorted := make([]*Message, len(msgs))
	for i := range msgs {
		sorted[i] = &msgs[i]
	}
	slices.SortStableFunc(sorted, func(a, b *Message) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return int(int64(a.Num) - int64(b.Num))
	})
	for _, m := range sorted {
		root := bySubject[m.BaseSubject]
		if root == nil {
			root = &Node{Msg: m}
			bySubject[m.BaseSubject] = root
			roots = append(roots, root)
			continue
		}
		root.Children = append(root.Children, &Node{Msg: m, parent: root})
	}
	return roots
}

// References threads by the reference chains, then merges threads with
// the same base subject (RFC 5256 section 2.2, THREAD=REFERENCES).
func References(msgs []Message) []*Node {
	byID := map[string]*Node{}
	// all holds every container in order of creation, which follows the
	// messages' order: the root set comes out in a stable order.
	var all []*Node
	newNode := func(id string) *Node {
		n := &Node{id: id}
		all = append(all, n)
		return n
	}
	// Step 1.
	for i := range msgs {
		m := &msgs[i]
		// 1A: the message's container. A Message-ID seen before on
		// another message is treated as absent.
		var c *Node
		if m.MessageID != "" {
			c = byID[m.MessageID]
			if c != nil && c.Msg != nil {
				c = nil
			}
		}
		if c == nil {
			c = newNode(m.MessageID)
			if m.MessageID != "" && byID[m.MessageID] == nil {
				byID[m.MessageID] = c
			}
		}
		c.Msg = m
		// 1B: link the references in order, parent to child, where
		// neither link exists and no loop results.
		var prev *Node
		for _, ref := range m.References {
			rc := byID[ref]
			if rc == nil {
				rc = newNode(ref)
				byID[ref] = rc
			}
			if prev != nil && rc.parent == nil && !reachable(prev, rc) {
				link(prev, rc)
			}
			prev = rc
		}
		// 1C: the message's parent is the last reference, replacing
		// any parent it had, unless that makes a loop.
		if prev != nil && reachable(prev, c) {
			prev = nil // c is prev or an ancestor of it
		}
		if c.parent != nil {
			unlink(c)
		}
		if prev != nil {
			link(prev, c)
		}
	}
	// Step 2: the root set.
	var roots []*Node
	for _, c := range all {
		if c.parent == nil {
			roots = append(roots, c)
		}
	}
	// Step 4: prune placeholders.
	roots = prune(roots, true)
	// Step 5: merge threads by base subject.
	roots = mergeBySubject(roots)
	// Step 6: sort.
	sortTree(roots)
	return roots
}

// reachable reports whether to is from or an ancestor of from: linking
// from as the parent of to would then make a loop.
func reachable(from, to *Node) bool {
	for n := from; n != nil; n = n.parent {
		if n == to {
			return true
		}
	}
	return false
}

func link(parent, child *Node) {
	child.parent = parent
	parent.Children = append(parent.Children, child)
}

func unlink(c *Node) {
	p := c.parent
	p.Children = slices.DeleteFunc(p.Children, func(x *Node) bool { return x == c })
	c.parent = nil
}

// prune removes placeholders without children and promotes the children
// of other placeholders, except a root placeholder with several children,
// which stays (step 4).
func prune(nodes []*Node, root bool) []*Node {
	var out []*Node
	for _, n := range nodes {
		n.Children = prune(n.Children, false)
		if n.Msg != nil {
			out = append(out, n)
			continue
		}
		switch {
		case len(n.Children) == 0:
			// 4A: drop it.
		case root && len(n.Children) > 1:
			// 4B: keep it at the root.
			out = append(out, n)
		default:
			for _, c := range n.Children {
				c.parent = n.parent
			}
			out = append(out, n.Children...)
		}
	}
	return out
}

// subjectOf is the base subject a root is grouped under: its message's,
// or its first child's for a placeholder (step 5B).
func subjectOf(n *Node) (string, *Message) {
	if n.Msg != nil {
		return n.Msg.BaseSubject, n.Msg
	}
	if len(n.Children) > 0 && n.Children[0].Msg != nil {
		return n.Children[0].Msg.BaseSubject, n.Children[0].Msg
	}
	return "", nil
}

// mergeBySubject is step 5: roots with the same base subject are joined.
func mergeBySubject(roots []*Node) []*Node {
	table := map[string]*Node{}
	// 5C: choose, per subject, the root to keep: a placeholder over a
	// message, a non-reply over a reply.
	for _, r := range roots {
		subj, m := subjectOf(r)
		if subj == "" {
			continue
		}
		old := table[subj]
		switch {
		case old == nil:
			table[subj] = r
		case old.Msg != nil && r.Msg == nil:
			table[subj] = r
		case old.Msg != nil && r.Msg != nil && old.Msg.Reply && !m.Reply:
			table[subj] = r
		}
	}
	var out []*Node
	for _, r := range roots {
		subj, m := subjectOf(r)
		t := table[subj]
		if subj == "" || t == r {
			out = append(out, r)
			continue
		}
		switch {
		case t.Msg == nil && r.Msg == nil:
			// 5E1: both placeholders: r's children join t.
			for _, c := range r.Children {
				c.parent = t
			}
			t.Children = append(t.Children, r.Children...)
		case t.Msg == nil || r.Msg == nil:
			// 5E2: one placeholder: the message joins it as a child.
			if t.Msg == nil {
				link(t, r)
			} else {
				// The kept root is a message and r a placeholder: the
				// table prefers placeholders, so this does not happen.
				link(r, t)
			}
		case !t.Msg.Reply && m.Reply:
			// 5E3: a reply joins the non-reply as its child.
			link(t, r)
		default:
			// 5E4: otherwise both become children of a new placeholder,
			// which takes t's place in the root set and the table.
			moved := &Node{Msg: t.Msg, Children: t.Children, id: t.id}
			for _, c := range moved.Children {
				c.parent = moved
			}
			*t = Node{}
			link(t, moved)
			link(t, r)
		}
	}
	return out
}

// Format writes threads in the syntax of the THREAD response (RFC 5256
// section 4): each thread in parentheses; a node followed by its only
// child continues the list, several children each get parentheses.
func Format(b *strings.Builder, roots []*Node) {
	for _, r := range roots {
		b.WriteByte('(')
		formatNode(b, r)
		b.WriteByte(')')
	}
}

func formatNode(b *strings.Builder, n *Node) {
	for {
		if n.Msg != nil {
			b.WriteString(strconv.FormatUint(uint64(n.Msg.Num), 10))
		}
		switch len(n.Children) {
		case 0:
			return
		case 1:
			if n.Msg != nil {
				b.WriteByte(' ')
			}
			n = n.Children[0]
			continue
		}
		if n.Msg != nil {
			b.WriteByte(' ')
		}
		for _, c := range n.Children {
			b.WriteByte('(')
			formatNode(b, c)
			b.WriteByte(')')
		}
		return
	}
}

package sqlite

import (
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"strings"

	"postfach/internal/store"
)

// sortDerived is what an entry of the sort cache computes from its key table:
// per column, the messages in key order and their ranks; the memoized
// order of each key list; the numbered thread keys. Each slice, once set,
// is never changed, so a copy of sortDerived may share them.
type sortDerived struct {
	// perm[c] lists the messages (indices into the table) ascending by
	// column c, equal keys ascending by index, that is by UID.
	perm [numCols][]int32
	// rank[c][i] is the rank of message i's key in column c: equal keys,
	// equal ranks; a smaller key, a smaller rank.
	rank   [numCols][]uint32
	orders map[string][]store.UID
	thread *store.ThreadKeys
}

// maxSortOrders bounds the memoized key lists of an entry.
const maxSortOrders = 8

func (d *sortDerived) size() int64 {
	var b int64
	for c := range d.perm {
		b += 4*int64(len(d.perm[c])) + 4*int64(len(d.rank[c]))
	}
	for _, o := range d.orders {
		b += 4 * int64(len(o))
	}
	if k := d.thread; k != nil {
		b += 4*int64(len(k.IDs)+len(k.Subjects)+len(k.RefEnds)+len(k.Refs)) + 16*int64(len(k.IDs))
	}
	return b
}

// clone returns a copy sharing the slices.
func (d *sortDerived) clone() sortDerived {
	c := *d
	c.orders = make(map[string][]store.UID, len(d.orders))
	for k, v := range d.orders {
		c.orders[k] = v
	}
	return c
}

// catchUp carries the per-column orders over to t, the table that keeps
// the messages remap keeps (in order, as the first kept of t's messages)
// followed by new ones: the kept messages stay in order, the new ones
// are sorted and merged in. Ranks, memoized orders and thread keys are
// recomputed when next needed.
func (d *sortDerived) catchUp(t *keyTable, remap []int32, kept int) sortDerived {
	var nd sortDerived
	fresh := make([]int32, 0, t.len()-kept)
	for i := kept; i < t.len(); i++ {
		fresh = append(fresh, int32(i))
	}
	for c, old := range d.perm {
		if old == nil {
			continue
		}
		col := sortCol(c)
		cmpIdx := func(a, b int32) int { return t.compare(col, a, b) }
		f := slices.Clone(fresh)
		slices.SortFunc(f, cmpIdx)
		out := make([]int32, 0, t.len())
		for _, i := range old {
			r := remap[i]
			if r < 0 {
				continue
			}
			for len(f) > 0 && cmpIdx(f[0], r) < 0 {
				out = append(out, f[0])
				f = f[1:]
			}
			out = append(out, r)
		}
		nd.perm[c] = append(out, f...)
	}
	return nd
}

// compare orders messages a and b of t by column c, then by index.
func (t *keyTable) compare(c sortCol, a, b int32) int {
	var r int
	if c < colSubject {
		r = cmp.Compare(t.num[c][a], t.num[c][b])
	} else {
		col := t.text[int(c)-numNumCols]
		r = strings.Compare(col[a], col[b])
	}
	if r != 0 {
		return r
	}
	return cmp.Compare(a, b)
}

// equal reports whether messages a and b of t have equal keys in c.
func (t *keyTable) equal(c sortCol, a, b int32) bool {
	if c < colSubject {
		return t.num[c][a] == t.num[c][b]
	}
	col := t.text[int(c)-numNumCols]
	return col[a] == col[b]
}

// load reads column c of e, whose mutex is held, if it has not been read.
func (e *sortEntry) load(ctx context.Context, tx reader, c sortCol) error {
	if c < colSubject {
		return nil
	}
	return e.loadText(ctx, tx)
}

// sortNeedsText reports whether sorting by keys reads text columns.
func sortNeedsText(keys []store.SortKey) bool {
	for _, k := range keys {
		if c, _ := sortColOf(k.Field); c >= colSubject {
			return true
		}
	}
	return false
}

// ranked computes the order and ranks of column c, which is loaded.
func (e *sortEntry) ranked(c sortCol) {
	t, d := &e.t, &e.d
	if d.rank[c] != nil {
		return
	}
	n := t.len()
	if d.perm[c] == nil {
		d.perm[c] = orderColumn(t, c)
	}
	perm := d.perm[c]
	rank := make([]uint32, n)
	r := uint32(0)
	for j := 1; j < n; j++ {
		if !t.equal(c, perm[j-1], perm[j]) {
			r++
		}
		rank[perm[j]] = r
	}
	d.rank[c] = rank
	e.grew()
}

// orderColumn returns the messages of t in the order of column c, equal
// keys by index.
func orderColumn(t *keyTable, c sortCol) []int32 {
	n := t.len()
	perm := make([]int32, n)
	if c < colSubject {
		type item struct {
			k int64
			i int32
		}
		items := make([]item, n)
		for i, k := range t.num[c] {
			items[i] = item{k, int32(i)}
		}
		slices.SortFunc(items, func(a, b item) int {
			if a.k != b.k {
				return cmp.Compare(a.k, b.k)
			}
			return cmp.Compare(a.i, b.i)
		})
		for j := range items {
			perm[j] = items[j].i
		}
		return perm
	}
	// Strings sort by their first eight octets as one number, and by the
	// whole string only when those are equal.
	col := t.text[int(c)-numNumCols]
	type item struct {
		p uint64
		i int32
	}
	items := make([]item, n)
	for i, s := range col {
		var b [8]byte
		copy(b[:], s)
		items[i] = item{binary.BigEndian.Uint64(b[:]), int32(i)}
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.p != b.p {
			return cmp.Compare(a.p, b.p)
		}
		if sa, sb := col[a.i], col[b.i]; len(sa) > 8 || len(sb) > 8 || len(sa) != len(sb) {
			if r := strings.Compare(sa, sb); r != 0 {
				return r
			}
		}
		return cmp.Compare(a.i, b.i)
	})
	for j := range items {
		perm[j] = items[j].i
	}
	return perm
}

// order returns e's messages as UIDs in the order of keys, equal keys by
// UID (RFC 5256 section 3), memoized. The caller must not modify it.
func (e *sortEntry) order(ctx context.Context, tx reader, keys []store.SortKey) ([]store.UID, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cols := make([]sortCol, len(keys))
	memo := make([]byte, len(keys))
	for i, k := range keys {
		c, ok := sortColOf(k.Field)
		if !ok {
			return nil, errSortKey(k.Field)
		}
		cols[i] = c
		memo[i] = byte(c)
		if k.Reverse {
			memo[i] |= 0x80
		}
	}
	if o, ok := e.d.orders[string(memo)]; ok {
		return o, nil
	}
	t := &e.t
	if len(keys) == 0 {
		return t.uids, nil
	}
	for _, c := range cols {
		if err := e.load(ctx, tx, c); err != nil {
			return nil, err
		}
		e.ranked(c)
	}
	n := t.len()
	idx := make([]int32, 0, n)
	first, rank := cols[0], e.d.rank[cols[0]]
	perm := e.d.perm[first]
	if !keys[0].Reverse {
		idx = append(idx, perm...)
	} else {
		// REVERSE reverses the key, not the tie-break by UID (RFC 5256
		// section 3): runs of equal keys keep ascending order.
		for j := n - 1; j >= 0; {
			k := j
			for k > 0 && rank[perm[k-1]] == rank[perm[j]] {
				k--
			}
			idx = append(idx, perm[k:j+1]...)
			j = k - 1
		}
	}
	if len(keys) > 1 {
		// Runs equal in the first key are sorted by the others.
		rest, restRanks := keys[1:], make([][]uint32, len(keys)-1)
		for i, c := range cols[1:] {
			restRanks[i] = e.d.rank[c]
		}
		cmpRest := func(a, b int32) int {
			for i, r := range restRanks {
				if r[a] != r[b] {
					if rest[i].Reverse {
						return cmp.Compare(r[b], r[a])
					}
					return cmp.Compare(r[a], r[b])
				}
			}
			return cmp.Compare(a, b)
		}
		for j := 0; j < n; {
			k := j + 1
			for k < n && rank[idx[k]] == rank[idx[j]] {
				k++
			}
			if k-j > 1 {
				slices.SortFunc(idx[j:k], cmpRest)
			}
			j = k
		}
	}
	out := make([]store.UID, n)
	for j, i := range idx {
		out[j] = t.uids[i]
	}
	if e.d.orders == nil {
		e.d.orders = map[string][]store.UID{}
	}
	if len(e.d.orders) >= maxSortOrders {
		for k := range e.d.orders {
			delete(e.d.orders, k)
			break
		}
	}
	e.d.orders[string(memo)] = out
	e.grew()
	return out, nil
}

// threadKeys returns e's messages' keys for THREAD, computed once.
func (e *sortEntry) threadKeys(ctx context.Context, tx reader) (*store.ThreadKeys, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.d.thread != nil {
		return e.d.thread, nil
	}
	if err := e.loadText(ctx, tx); err != nil {
		return nil, err
	}
	e.ranked(colSubject)
	t, th := &e.t, e.t.thread
	n := t.len()
	k := &store.ThreadKeys{
		UIDs:     t.uids,
		Dates:    t.num[colDate],
		IDs:      make([]uint32, n),
		Subjects: make([]uint32, n),
		Reply:    th.reply,
		RefEnds:  make([]uint32, n),
		Refs:     make([]uint32, 0, n),
	}
	// Message IDs are numbered in order of first appearance; base
	// subjects by their rank, which is equal for equal subjects.
	ids := make(map[string]uint32, n+n/2)
	number := func(id string) uint32 {
		v, ok := ids[id]
		if !ok {
			v = uint32(len(ids) + 1)
			ids[id] = v
		}
		return v
	}
	subjects, subjRank := t.text[int(colSubject)-numNumCols], e.d.rank[colSubject]
	for i := range n {
		if id := th.id[i]; id != "" {
			k.IDs[i] = number(id)
		}
		for refs := th.refs[i]; refs != ""; {
			ref, rest, _ := strings.Cut(refs, " ")
			if ref != "" {
				k.Refs = append(k.Refs, number(ref))
			}
			refs = rest
		}
		k.RefEnds[i] = uint32(len(k.Refs))
		if subjects[i] != "" {
			k.Subjects[i] = subjRank[i] + 1
		}
	}
	e.d.thread = k
	e.grew()
	return k, nil
}

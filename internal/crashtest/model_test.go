//go:build linux

package crashtest

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The model is what the account must hold: every effect the server
// acknowledged, exactly, plus the operations that were in flight when the
// server was killed, each of which may have taken effect entirely or not
// at all. After a restart, reconcile compares it with what the server
// shows and resolves each operation in flight from the evidence.
//
// Workers own disjoint sets of messages (see partition), so the model of
// a message changes only through the one worker that acts on it, one
// command at a time, and each message has at most one operation in flight.

// Mailbox names the tests use.
const (
	inbox   = "INBOX"
	archive = "Archive" // MOVE target; user add creates it
	copies  = "Copies"  // COPY target; created by the test
)

// entry is a message in a mailbox.
type entry struct {
	msg   *sent
	flags string // canonical
}

// box is the model of one mailbox.
type box struct {
	name        string
	uidValidity uint32
	msgs        map[uint32]*entry
	// maxUID is the highest UID known to have been given out (by an
	// acknowledgement or seen), startMax its value when the cycle began:
	// any message that appears in a cycle must have a UID above startMax.
	maxUID, startMax uint32
}

type opKind int

const (
	opAppend opKind = iota
	opStore
	opCopy
	opMove
	opExpunge
)

var opNames = [...]string{"APPEND", "STORE", "COPY", "MOVE", "EXPUNGE"}

func (k opKind) String() string { return opNames[k] }

// op is one command that changes the account.
type op struct {
	kind opKind
	msgs []*sent // opAppend: the messages, in order
	// The others act on uids of box; copy and move into dst.
	box    string
	uids   []uint32
	before map[uint32]string // opStore: flags before and as asked
	after  map[uint32]string
	src    []*entry // opCopy, opMove: the source messages at sending time
	dst    string
}

// cycleStats count what one cycle did.
type cycleStats struct {
	acked      [len(opNames)]int // acknowledged commands by kind
	ackedMsgs  int               // messages whose APPEND was acknowledged
	ackedBytes int64
	inFlight   [len(opNames)]int // commands in flight at the kill
	survived   [len(opNames)]int // of those, how many had taken effect
	lostMsgs   int               // messages of appends in flight that did not survive
}

func (s *cycleStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages (%.1f MiB) acknowledged", s.ackedMsgs, float64(s.ackedBytes)/(1<<20))
	for k := opStore; k <= opExpunge; k++ {
		if s.acked[k] > 0 {
			fmt.Fprintf(&b, ", %d %s", s.acked[k], k)
		}
	}
	b.WriteString("; in flight at the kill:")
	any := false
	for k := range opNames {
		if s.inFlight[k] > 0 {
			fmt.Fprintf(&b, " %s %d (%d took effect)", opKind(k), s.inFlight[k], s.survived[k])
			any = true
		}
	}
	if !any {
		b.WriteString(" none")
	}
	return b.String()
}

type model struct {
	mu      sync.Mutex
	boxes   map[string]*box
	pending map[*op]bool
	sums    map[[32]byte]*sent // every message sent, by content
	copied  map[*sent]bool     // copied once already: never again
	lost    int                // messages lost in flight over all cycles
	stats   cycleStats
	// problems found while the load ran (unexpected refusals, UIDs out
	// of order); reconcile reports them.
	problems []string
}

func newModel() *model {
	m := &model{
		boxes:   map[string]*box{},
		pending: map[*op]bool{},
		sums:    map[[32]byte]*sent{},
		copied:  map[*sent]bool{},
	}
	for _, name := range []string{inbox, archive, copies} {
		m.boxes[name] = &box{name: name, msgs: map[uint32]*entry{}}
	}
	return m
}

func (m *model) problem(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.problems = append(m.problems, fmt.Sprintf(format, args...))
}

// startCycle notes the UIDs known so far and resets the statistics.
func (m *model) startCycle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.boxes {
		b.startMax = b.maxUID
	}
	m.stats = cycleStats{}
}

// partition returns the INBOX UIDs that worker i of n owns in a cycle.
// Ownership rotates from cycle to cycle, so that a message copied in one
// cycle may be moved or expunged in a later one: the store must then keep
// the blob its copy shares.
func (m *model) partition(i, n, cycle int) []uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []uint32
	for uid := range m.boxes[inbox].msgs {
		if (int(uid%uint32(n))+cycle)%n == i {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out
}

// flags returns the current flags of messages of mailbox name.
func (m *model) flags(name string, uids []uint32) map[uint32]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[uint32]string{}
	for _, u := range uids {
		if e := m.boxes[name].msgs[u]; e != nil {
			out[u] = e.flags
		}
	}
	return out
}

// entries returns the current entries of messages of mailbox name, and
// marks them copied when forCopy.
func (m *model) entries(name string, uids []uint32, forCopy bool) []*entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*entry, len(uids))
	for i, u := range uids {
		e := m.boxes[name].msgs[u]
		out[i] = &entry{msg: e.msg, flags: e.flags}
		if forCopy {
			m.copied[e.msg] = true
		}
	}
	return out
}

func (m *model) wasCopied(name string, uid uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.boxes[name].msgs[uid]
	return e == nil || m.copied[e.msg]
}

// begin records o as in flight, before its first octet is sent.
func (m *model) begin(o *op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range o.msgs {
		m.sums[s.sum] = s
	}
	m.pending[o] = true
}

// refused records a NO or BAD, or a malformed answer, to a command that
// must have succeeded. The command stays in flight: reconcile accepts
// either outcome, so that one failure does not cascade into more reports.
func (m *model) refused(o *op, err error) {
	m.problem("%s failed: %v", o.kind, err)
}

// ackAppend applies an acknowledged APPEND.
func (m *model) ackAppend(o *op, uidValidity uint32, uids []uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, o)
	b := m.boxes[inbox]
	m.checkUIDValidity(b, uidValidity, "APPENDUID")
	for i, s := range o.msgs {
		uid := uids[i]
		if uid <= b.startMax {
			m.problems = append(m.problems, fmt.Sprintf("APPENDUID %d for %s is not above %d, the highest INBOX UID before the crash", uid, s, b.startMax))
		}
		if i > 0 && uid <= uids[i-1] {
			m.problems = append(m.problems, fmt.Sprintf("MULTIAPPEND UIDs not ascending in message order: %v", uids))
		}
		if old := b.msgs[uid]; old != nil {
			m.problems = append(m.problems, fmt.Sprintf("APPENDUID %d for %s already belongs to %s", uid, s, old.msg))
		}
		b.msgs[uid] = &entry{msg: s, flags: s.flags}
		b.maxUID = max(b.maxUID, uid)
		m.stats.ackedMsgs++
		m.stats.ackedBytes += s.size
	}
	m.stats.acked[opAppend]++
}

func (m *model) checkUIDValidity(b *box, v uint32, what string) {
	if b.uidValidity != v {
		m.problems = append(m.problems, fmt.Sprintf("%s of %s names UIDVALIDITY %d, the mailbox has %d", what, b.name, v, b.uidValidity))
	}
}

// ackStore applies an acknowledged STORE.
func (m *model) ackStore(o *op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, o)
	for _, u := range o.uids {
		m.boxes[o.box].msgs[u].flags = o.after[u]
	}
	m.stats.acked[opStore]++
}

// ackCopy applies an acknowledged COPY or MOVE with its COPYUID.
func (m *model) ackCopy(o *op, uidValidity uint32, srcUIDs, dstUIDs []uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, o)
	src, dst := m.boxes[o.box], m.boxes[o.dst]
	m.checkUIDValidity(dst, uidValidity, "COPYUID")
	if !slices.Equal(sorted(srcUIDs), sorted(o.uids)) {
		m.problems = append(m.problems, fmt.Sprintf("%s of UIDs %v answered COPYUID for %v", o.kind, o.uids, srcUIDs))
		return
	}
	for i, su := range srcUIDs {
		du := dstUIDs[i]
		e := src.msgs[su]
		if du <= dst.startMax {
			m.problems = append(m.problems, fmt.Sprintf("%s gave %s UID %d, not above %d, the highest UID before the crash", o.kind, o.dst, du, dst.startMax))
		}
		if old := dst.msgs[du]; old != nil {
			m.problems = append(m.problems, fmt.Sprintf("%s gave %s UID %d, which already belongs to %s", o.kind, o.dst, du, old.msg))
		}
		dst.msgs[du] = &entry{msg: e.msg, flags: e.flags}
		dst.maxUID = max(dst.maxUID, du)
		if o.kind == opMove {
			delete(src.msgs, su)
		}
	}
	m.stats.acked[o.kind]++
}

// ackExpunge applies an acknowledged UID EXPUNGE of messages that all
// have \Deleted.
func (m *model) ackExpunge(o *op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, o)
	for _, u := range o.uids {
		delete(m.boxes[o.box].msgs, u)
	}
	m.stats.acked[opExpunge]++
}

func sorted(u []uint32) []uint32 {
	s := slices.Clone(u)
	slices.Sort(s)
	return s
}

// observedBox is what the server shows of a mailbox after a restart.
type observedBox struct {
	status map[string]uint64 // STATUS items
	msgs   map[uint32]*observedMsg
}

type observedMsg struct {
	size    int64
	flags   string
	sum     [32]byte
	haveSum bool
}

// reconcile checks what the server shows against the model, resolves the
// operations in flight, and leaves the model equal to what was shown. It
// returns every problem found, the workers' included.
func (m *model) reconcile(obs map[string]*observedBox) (problems []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	problems = m.problems
	m.problems = nil
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	names := slices.Sorted(maps.Keys(m.boxes))

	// Messages the model does not know, by mailbox and content; known
	// messages that are gone, by mailbox.
	type key struct {
		box string
		sum [32]byte
	}
	unknown := map[key][]uint32{}
	missing := map[string]map[uint32]bool{}
	for _, name := range names {
		b, o := m.boxes[name], obs[name]
		missing[name] = map[uint32]bool{}
		for uid, e := range b.msgs {
			om := o.msgs[uid]
			if om == nil {
				missing[name][uid] = true
				continue
			}
			if om.size != e.msg.size {
				bad("%s UID %d (%s): RFC822.SIZE %d, sent %d", name, uid, e.msg, om.size, e.msg.size)
			}
			if om.haveSum && om.sum != e.msg.sum {
				bad("%s UID %d (%s): content differs from what was sent (half-written or another message)", name, uid, e.msg)
			}
		}
		for uid, om := range o.msgs {
			if b.msgs[uid] != nil {
				continue
			}
			if !om.haveSum {
				bad("%s UID %d: internal error: unknown message fetched without body", name, uid)
				continue
			}
			if uid <= b.startMax {
				bad("%s UID %d appeared after the crash, but UIDs up to %d were known before it (UID reused?)", name, uid, b.startMax)
			}
			k := key{name, om.sum}
			unknown[k] = append(unknown[k], uid)
		}
	}
	// take removes and returns the unknown message of mailbox name with
	// the content of s.
	take := func(name string, s *sent) (uint32, bool) {
		k := key{name, s.sum}
		us := unknown[k]
		if len(us) == 0 {
			return 0, false
		}
		if len(us) > 1 {
			bad("%s: %s appears %d times (UIDs %v)", name, s, len(us), us)
		}
		delete(unknown, k)
		return us[0], true
	}
	adopt := func(name string, uid uint32, s *sent, flags string) {
		b := m.boxes[name]
		if got := obs[name].msgs[uid].flags; got != flags {
			bad("%s UID %d (%s), in flight at the crash: flags (%s), want (%s)", name, uid, s, got, flags)
		}
		b.msgs[uid] = &entry{msg: s, flags: obs[name].msgs[uid].flags}
	}

	for _, o := range m.sortedPending() {
		m.stats.inFlight[o.kind]++
		switch o.kind {
		case opAppend:
			uids := make([]uint32, len(o.msgs))
			found := 0
			for i, s := range o.msgs {
				if u, ok := take(inbox, s); ok {
					uids[i] = u
					found++
				}
			}
			if found > 0 && found < len(o.msgs) {
				bad("MULTIAPPEND in flight: %d of its %d messages present (%v): all or nothing, RFC 3502", found, len(o.msgs), o.msgs)
			}
			for i, s := range o.msgs {
				if uids[i] != 0 {
					adopt(inbox, uids[i], s, s.flags)
				} else {
					m.lost++
					m.stats.lostMsgs++
				}
			}
			if found == len(o.msgs) {
				m.stats.survived[opAppend]++
			}
		case opStore:
			changed := 0
			for _, u := range o.uids {
				om := obs[o.box].msgs[u]
				if om == nil {
					continue // reported as missing
				}
				if om.flags != o.before[u] && om.flags != o.after[u] {
					bad("%s UID %d, STORE in flight: flags (%s), want the old (%s) or the new (%s)", o.box, u, om.flags, o.before[u], o.after[u])
				}
				if om.flags != o.before[u] {
					changed++
				}
				m.boxes[o.box].msgs[u].flags = om.flags
			}
			if changed > 0 {
				m.stats.survived[opStore]++
			}
		case opCopy, opMove:
			dstUIDs := make([]uint32, len(o.src))
			found := 0
			for i, e := range o.src {
				if u, ok := take(o.dst, e.msg); ok {
					dstUIDs[i] = u
					found++
				}
			}
			present := 0
			for _, u := range o.uids {
				if obs[o.box].msgs[u] != nil {
					present++
				}
			}
			switch {
			case found > 0 && found < len(o.src):
				bad("%s in flight: %d of its %d messages in %s: all or nothing", o.kind, found, len(o.src), o.dst)
			case o.kind == opMove && found == len(o.src) && present > 0:
				bad("MOVE in flight: %d messages both in %s and %s", present, o.box, o.dst)
			case o.kind == opMove && found == 0 && present < len(o.uids):
				bad("MOVE in flight: %d messages neither in %s nor in %s", len(o.uids)-present, o.box, o.dst)
			}
			for i, e := range o.src {
				if dstUIDs[i] != 0 {
					adopt(o.dst, dstUIDs[i], e.msg, e.flags)
				}
			}
			if found == len(o.src) {
				m.stats.survived[o.kind]++
				if o.kind == opMove {
					for _, u := range o.uids {
						if obs[o.box].msgs[u] == nil {
							delete(m.boxes[o.box].msgs, u)
							delete(missing[o.box], u)
						}
					}
				}
			}
		case opExpunge:
			present := 0
			for _, u := range o.uids {
				if obs[o.box].msgs[u] != nil {
					present++
				}
			}
			if present > 0 && present < len(o.uids) {
				bad("UID EXPUNGE in flight: %d of its %d messages gone: all or nothing", len(o.uids)-present, len(o.uids))
			}
			if present < len(o.uids) {
				m.stats.survived[opExpunge]++
				for _, u := range o.uids {
					if obs[o.box].msgs[u] == nil {
						delete(m.boxes[o.box].msgs, u)
						delete(missing[o.box], u)
					}
				}
			}
		}
	}
	m.pending = map[*op]bool{}

	// What is left unexplained is a failure; the model takes it on, so
	// that one failure is reported once.
	for k, us := range unknown {
		for _, u := range us {
			what := "a message never sent (half-written?)"
			if s := m.sums[k.sum]; s != nil {
				what = s.id + ", which was neither acknowledged nor in flight here (lost earlier, or a duplicate)"
			}
			bad("%s UID %d holds %s", k.box, u, what)
			s := m.sums[k.sum]
			if s == nil {
				s = &sent{id: fmt.Sprintf("unknown-%x", k.sum[:6]), size: obs[k.box].msgs[u].size, sum: k.sum}
			}
			m.boxes[k.box].msgs[u] = &entry{msg: s, flags: obs[k.box].msgs[u].flags}
		}
	}
	for _, name := range names {
		for _, u := range slices.Sorted(maps.Keys(missing[name])) {
			bad("acknowledged message lost: %s UID %d (%s)", name, u, m.boxes[name].msgs[u].msg)
			delete(m.boxes[name].msgs, u)
		}
	}

	// Flags, counters and UIDs of what is now the whole truth.
	for _, name := range names {
		b, o := m.boxes[name], obs[name]
		var size int64
		var unseen, deleted uint64
		for _, u := range slices.Sorted(maps.Keys(b.msgs)) {
			e, om := b.msgs[u], o.msgs[u]
			if om.flags != e.flags {
				bad("%s UID %d (%s): flags (%s), want (%s)", name, u, e.msg, om.flags, e.flags)
			}
			size += om.size
			if !hasFlag(om.flags, `\Seen`) {
				unseen++
			}
			if hasFlag(om.flags, `\Deleted`) {
				deleted++
			}
			b.maxUID = max(b.maxUID, u)
		}
		st := o.status
		if b.uidValidity == 0 {
			b.uidValidity = uint32(st["UIDVALIDITY"])
		} else if uint32(st["UIDVALIDITY"]) != b.uidValidity {
			bad("%s: UIDVALIDITY changed from %d to %d", name, b.uidValidity, st["UIDVALIDITY"])
		}
		for item, want := range map[string]uint64{"MESSAGES": uint64(len(o.msgs)), "SIZE": uint64(size), "UNSEEN": unseen, "DELETED": deleted} {
			if st[item] != want {
				bad("%s: STATUS %s %d, but FETCH shows %d", name, item, st[item], want)
			}
		}
		if st["UIDNEXT"] <= uint64(b.maxUID) {
			bad("%s: UIDNEXT %d, but UID %d was given out already", name, st["UIDNEXT"], b.maxUID)
		}
	}
	return problems
}

// sortedPending lists the operations in flight in a stable order, so that
// reports do not depend on map order.
func (m *model) sortedPending() []*op {
	ops := slices.Collect(maps.Keys(m.pending))
	sort.Slice(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return opLabel(a) < opLabel(b)
	})
	return ops
}

func opLabel(o *op) string {
	if len(o.msgs) > 0 {
		return o.msgs[0].id
	}
	return fmt.Sprintf("%s%v", o.box, o.uids)
}

func hasFlag(flags, f string) bool {
	return slices.Contains(strings.Fields(flags), f)
}

// contents returns the distinct message contents the account holds.
func (m *model) contents() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[[32]byte]bool{}
	for _, b := range m.boxes {
		for _, e := range b.msgs {
			seen[e.msg.sum] = true
		}
	}
	return len(seen)
}

// orphanedCopies counts the messages of Copies whose original is no
// longer in INBOX (moved or expunged): their blobs outlived a release.
func (m *model) orphanedCopies() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	inInbox := map[[32]byte]bool{}
	for _, e := range m.boxes[inbox].msgs {
		inInbox[e.msg.sum] = true
	}
	n := 0
	for _, e := range m.boxes[copies].msgs {
		if !inInbox[e.msg.sum] {
			n++
		}
	}
	return n
}

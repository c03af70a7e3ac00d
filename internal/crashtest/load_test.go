//go:build linux

package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// load is the work of one cycle: appenders and mutators, each on its own
// IMAPS connection, until the server is killed.
type load struct {
	m      *model
	sc     scenario
	cycle  int
	seed   uint64
	killed atomic.Bool
	// firstAck is closed at the first acknowledgement of the cycle.
	firstAck     chan struct{}
	firstAckOnce sync.Once
}

// worker is one connection's loop; it returns when the connection breaks
// or ctx ends.
type worker func(ctx context.Context, c *client, r *rand.Rand)

func (l *load) acked() {
	l.firstAckOnce.Do(func() { close(l.firstAck) })
}

// broken handles a failed command: a refusal or a malformed answer is
// always a problem, a broken connection only before the kill.
func (l *load) broken(o *op, what string, err error) {
	switch {
	case isAnswer(err):
		l.m.refused(o, err)
	case !l.killed.Load():
		l.m.problem("%s: connection broke before the kill: %v", what, err)
	}
}

// appender APPENDs new messages to INBOX: mostly one at a time, sometimes
// several in one MULTIAPPEND; with LITERAL+ or synchronizing literals;
// with random flags.
func (l *load) appender(w int) worker {
	return func(ctx context.Context, c *client, r *rand.Rand) {
		for seq := 0; ctx.Err() == nil; seq++ {
			n := 1
			if r.IntN(5) == 0 {
				n = 2 + r.IntN(2)
			}
			o := &op{kind: opAppend}
			items := make([]appendItem, n)
			for i := range items {
				id := fmt.Sprintf("c%dw%ds%dm%d-%x", l.cycle, w, seq, i, r.Uint32())
				raw := newMessage(r, id, l.sc.messageSize(r))
				flags := randomFlags(r, appendFlags)
				items[i] = appendItem{flags: flags, data: raw}
				o.msgs = append(o.msgs, describe(id, raw, flags))
			}
			l.m.begin(o)
			uv, uids, err := c.appendMessages(inbox, items, r.IntN(2) == 0)
			if err != nil {
				l.broken(o, "APPEND", err)
				return
			}
			l.m.ackAppend(o, uv, uids)
			l.acked()
		}
	}
}

// Flags the load sets. APPEND never sets \Deleted, so that the messages
// with it are exactly those the expunger marked.
var (
	appendFlags = []string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`, "$Forwarded", "$CrashTest"}
	storeFlags  = []string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`, "$Forwarded", "$CrashTest", "Later"}
)

// randomFlags picks each flag with probability 1/3.
func randomFlags(r *rand.Rand, from []string) []string {
	var out []string
	for _, f := range from {
		if r.IntN(3) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// pick removes and returns up to n random UIDs of *uids.
func pick(r *rand.Rand, uids *[]uint32, n int) []uint32 {
	var out []uint32
	for len(out) < n && len(*uids) > 0 {
		i := r.IntN(len(*uids))
		out = append(out, (*uids)[i])
		*uids = slices.Delete(*uids, i, i+1)
	}
	return out
}

// mutator runs one kind of change on the INBOX messages it owns (mine),
// a few UIDs per command, until the kill. A message is copied once at
// most, so that its copies can be told apart.
func (l *load) mutator(kind opKind, mine []uint32) worker {
	if kind == opCopy {
		mine = slices.DeleteFunc(mine, func(u uint32) bool { return l.m.wasCopied(inbox, u) })
	}
	return func(ctx context.Context, c *client, r *rand.Rand) {
		if _, err := c.do("SELECT " + inbox); err != nil {
			l.broken(&op{kind: kind}, "SELECT", err)
			return
		}
		for ctx.Err() == nil {
			if len(mine) == 0 {
				<-ctx.Done() // nothing left to change: wait for the kill
				return
			}
			n := 1 + r.IntN(4)
			var ok bool
			switch kind {
			case opStore:
				uids := pick(r, &mine, n)
				ok = l.store(c, uids, randomStore(r))
				mine = append(mine, uids...) // flags can change again
			case opExpunge:
				uids := pick(r, &mine, n)
				ok = l.store(c, uids, "+FLAGS.SILENT (\\Deleted)") && l.expunge(c, uids)
			case opCopy:
				ok = l.copyMove(c, opCopy, pick(r, &mine, n), copies)
			case opMove:
				ok = l.copyMove(c, opMove, pick(r, &mine, n), archive)
			}
			if !ok {
				return
			}
		}
	}
}

// randomStore returns a STORE data item: +FLAGS, -FLAGS or FLAGS, silent
// or not, with some of storeFlags.
func randomStore(r *rand.Rand) string {
	item := []string{"+FLAGS", "-FLAGS", "FLAGS"}[r.IntN(3)]
	if r.IntN(2) == 0 {
		item += ".SILENT"
	}
	return item + " (" + strings.Join(randomFlags(r, storeFlags), " ") + ")"
}

// afterStore computes the flags a STORE item leaves.
func afterStore(before, item string) string {
	name, list, _ := strings.Cut(item, " ")
	flags := strings.Fields(strings.Trim(list, "()"))
	cur := strings.Fields(before)
	switch {
	case strings.HasPrefix(name, "+"):
		cur = append(cur, flags...)
	case strings.HasPrefix(name, "-"):
		cur = slices.DeleteFunc(cur, func(f string) bool { return slices.Contains(flags, f) })
	default:
		cur = flags
	}
	return canonFlags(cur)
}

func (l *load) store(c *client, uids []uint32, item string) bool {
	before := l.m.flags(inbox, uids)
	o := &op{kind: opStore, box: inbox, uids: uids, before: before, after: map[uint32]string{}}
	for _, u := range uids {
		o.after[u] = afterStore(before[u], item)
	}
	l.m.begin(o)
	res, err := c.do("UID STORE " + formatUIDs(uids) + " " + item)
	if err != nil {
		l.broken(o, "STORE", err)
		return false
	}
	// Unless silent, the server reports the flags it now has (RFC 9051
	// section 6.4.6); they must be the flags asked for.
	if !strings.Contains(item, ".SILENT") {
		for _, u := range res.untagged {
			f, ok, err := parseFetch(u)
			if err != nil {
				l.m.problem("STORE response: %v", err)
			}
			if ok && f.has.flags && slices.Contains(uids, f.uid) && f.flags != o.after[f.uid] {
				l.m.problem("STORE %s on UID %d answered flags (%s), want (%s)", item, f.uid, f.flags, o.after[f.uid])
			}
		}
	}
	l.m.ackStore(o)
	l.acked()
	return true
}

func (l *load) expunge(c *client, uids []uint32) bool {
	o := &op{kind: opExpunge, box: inbox, uids: uids}
	l.m.begin(o)
	if _, err := c.do("UID EXPUNGE " + formatUIDs(uids)); err != nil {
		l.broken(o, "UID EXPUNGE", err)
		return false
	}
	l.m.ackExpunge(o)
	l.acked()
	return true
}

// copyMove runs UID COPY or UID MOVE and applies its COPYUID, which MOVE
// sends in an untagged OK (RFC 6851 section 4.3).
func (l *load) copyMove(c *client, kind opKind, uids []uint32, dst string) bool {
	o := &op{kind: kind, box: inbox, uids: uids, src: l.m.entries(inbox, uids, kind == opCopy), dst: dst}
	l.m.begin(o)
	res, err := c.do("UID " + kind.String() + " " + formatUIDs(uids) + " " + dst)
	if err != nil {
		l.broken(o, kind.String(), err)
		return false
	}
	texts := []string{res.text}
	for _, u := range res.untagged {
		texts = append(texts, u.text)
	}
	for _, t := range texts {
		v, src, dstUIDs, found, err := parseCopyUID(t)
		if err != nil {
			l.m.problem("%s: %v", kind, err)
			return false
		}
		if found {
			l.m.ackCopy(o, v, src, dstUIDs)
			l.acked()
			return true
		}
	}
	l.m.problem("%s of UIDs %v answered without COPYUID", kind, uids)
	return false
}

// Package notify fans out change events to every session of an account.
//
// Events are wake-up calls, not the changes themselves: a session that is
// woken reads what changed from the store (store.Mail.Changes), so that a
// slow or briefly absent session can never miss or misorder a change. An
// event does say up to which MODSEQ its mailbox changed, so that sessions
// woken by the same change can share one read of it.
//
// A session learns of pending events from its channel (C) or, while it
// waits for its client rather than for events (IDLE), from a function the
// subscription calls (WakeFunc): an idle session then needs no goroutine
// of its own to watch for events.
//
// Invariants:
//   - Publish never blocks: a subscriber that has not drained its events
//     keeps one pending wake-up and the set of mailboxes touched since,
//     each with the highest MODSEQ published for it.
//   - A wake function runs at most once per WakeFunc, never while its
//     subscription's lock is held, and in the goroutine that publishes
//     (or calls WakeFunc): it must not block nor publish.
//   - A Hub holds no package-level state; tests run many in one process.
package notify

import (
	"slices"
	"sync"
)

// Kind says what an event is about.
type Kind uint8

const (
	// MailboxChanged: messages were added, changed or expunged in Mailbox.
	MailboxChanged Kind = iota + 1
	// MailboxesChanged: a mailbox of the account was created, deleted,
	// renamed or (un)subscribed.
	MailboxesChanged
	// AccountRemoved: the account is gone; sessions should end.
	AccountRemoved
)

// Event reports a committed change.
type Event struct {
	Account int64
	Kind    Kind
	Mailbox int64 // for MailboxChanged
	// ModSeq is, for MailboxChanged, the mailbox's highest MODSEQ once
	// the change committed (0: not known).
	ModSeq uint64
}

// Hub routes events to the subscribers of each account.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
	// scratch holds the subscribers of the event being published, so
	// that their wake-ups run outside mu; publishing is serialised by
	// pubMu so that one buffer serves every event.
	pubMu   sync.Mutex
	scratch []*Subscription
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: make(map[int64]map[*Subscription]struct{})}
}

// Subscription receives the events of one account.
type Subscription struct {
	hub     *Hub
	account int64
	c       chan struct{}

	mu sync.Mutex
	// pending is what accumulated since the last Take; outMailboxes and
	// outModSeqs hold what the last Take returned.
	pending      []change
	outMailboxes []int64
	outModSeqs   []uint64
	mailboxesChanged,
	removed bool
	// wake is the function WakeFunc armed, nil when none is.
	wake func()
}

// change is a mailbox with events pending and the highest MODSEQ
// published for it.
type change struct {
	mailbox int64
	modseq  uint64
}

// Subscribe starts delivering the events of account. Close the
// subscription when the session ends.
func (h *Hub) Subscribe(account int64) *Subscription {
	s := &Subscription{hub: h, account: account, c: make(chan struct{}, 1)}
	h.mu.Lock()
	m := h.subs[account]
	if m == nil {
		m = make(map[*Subscription]struct{})
		h.subs[account] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Publish delivers ev to every subscriber of its account. It costs no
// allocation per subscriber: with thousands of sessions on one mailbox,
// each delivery reaches all of them.
func (h *Hub) Publish(ev Event) {
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	h.mu.Lock()
	subs := h.scratch[:0]
	for s := range h.subs[ev.Account] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.add(ev)
	}
	clear(subs) // no reference keeps a closed subscription alive
	if cap(subs) > 1024 && len(subs) < cap(subs)/4 {
		subs = nil // one large account should not pin its buffer
	}
	h.scratch = subs[:0]
}

// Subscribers reports how many subscriptions an account has.
func (h *Hub) Subscribers(account int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[account])
}

func (s *Subscription) add(ev Event) {
	s.mu.Lock()
	switch ev.Kind {
	case MailboxChanged:
		s.addChange(ev.Mailbox, ev.ModSeq)
	case MailboxesChanged:
		s.mailboxesChanged = true
	case AccountRemoved:
		s.removed = true
	}
	wake := s.wake
	s.wake = nil
	s.mu.Unlock()
	if wake != nil {
		wake()
		return
	}
	select {
	case s.c <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// addChange records a change of mailbox up to modseq; the list stays
// short (the mailboxes touched since the session last looked).
func (s *Subscription) addChange(mailbox int64, modseq uint64) {
	for i := range s.pending {
		if p := &s.pending[i]; p.mailbox == mailbox {
			p.modseq = max(p.modseq, modseq)
			return
		}
	}
	s.pending = append(s.pending, change{mailbox, modseq})
}

// C is signalled when events are pending, unless a wake function was
// armed (WakeFunc): it is called instead. Read the events with Take.
func (s *Subscription) C() <-chan struct{} { return s.c }

// WakeFunc arranges for f to be called once events are pending: at once,
// by WakeFunc itself, if some already are, otherwise by the Publish of the
// next event for the account. f must return quickly, without blocking or
// publishing (hand the work to another goroutine), and may be called with
// the caller's locks held. f is called at most once; call WakeFunc again
// to wait for further events. A later WakeFunc replaces an earlier one
// that has not fired.
func (s *Subscription) WakeFunc(f func()) {
	s.mu.Lock()
	if len(s.pending) > 0 || s.mailboxesChanged || s.removed {
		s.wake = nil
		s.mu.Unlock()
		f()
		return
	}
	s.wake = f
	s.mu.Unlock()
}

// StopWake disarms the function of WakeFunc. It reports whether one was
// armed: false means none was, or it has been called (or is about to be)
// and the caller must synchronise with what it started itself.
func (s *Subscription) StopWake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	armed := s.wake != nil
	s.wake = nil
	return armed
}

// Pending is what accumulated since the last Take.
type Pending struct {
	Mailboxes []int64 // mailboxes with MailboxChanged, ascending
	// ModSeqs[i] is the highest MODSEQ published for Mailboxes[i] (0: not
	// known): the store holds at least that much of its changes.
	ModSeqs          []uint64
	MailboxesChanged bool
	AccountRemoved   bool
}

// Empty reports whether nothing is pending.
func (p Pending) Empty() bool {
	return len(p.Mailboxes) == 0 && !p.MailboxesChanged && !p.AccountRemoved
}

// Has reports whether mailbox changed.
func (p Pending) Has(mailbox int64) bool {
	_, ok := slices.BinarySearch(p.Mailboxes, mailbox)
	return ok
}

// ModSeq returns the highest MODSEQ published for mailbox, and whether it
// changed at all.
func (p Pending) ModSeq(mailbox int64) (uint64, bool) {
	i, ok := slices.BinarySearch(p.Mailboxes, mailbox)
	if !ok {
		return 0, false
	}
	return p.ModSeqs[i], true
}

// Take returns and clears what is pending. The slices of the result stay
// valid until the next Take, which reuses them: a session that takes its
// events in turn allocates nothing once its buffers have grown.
func (s *Subscription) Take() Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p Pending
	if len(s.pending) > 0 {
		sortChanges(s.pending)
		s.outMailboxes, s.outModSeqs = s.outMailboxes[:0], s.outModSeqs[:0]
		for _, c := range s.pending {
			s.outMailboxes = append(s.outMailboxes, c.mailbox)
			s.outModSeqs = append(s.outModSeqs, c.modseq)
		}
		p.Mailboxes, p.ModSeqs = s.outMailboxes, s.outModSeqs
		s.pending = s.pending[:0]
	}
	p.MailboxesChanged, p.AccountRemoved = s.mailboxesChanged, s.removed
	s.mailboxesChanged, s.removed = false, false
	return p
}

// sortChanges sorts by mailbox. The list is short, mostly one mailbox:
// an insertion sort, with the small frame of a leaf function, spares the
// goroutine of an IDLE push (started small) a stack growth.
func sortChanges(cs []change) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].mailbox < cs[j-1].mailbox; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// Close stops delivery. A wake function armed and not yet started is
// dropped.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if m := h.subs[s.account]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, s.account)
		}
	}
	h.mu.Unlock()
	s.StopWake()
}

// Package notify fans out change events to every session of an account.
//
// Events are wake-up calls, not the changes themselves: a session that is
// woken reads what changed from the store (store.Mail.Changes), so that a
// slow or briefly absent session can never miss or misorder a change.
//
// Invariants:
//   - Publish never blocks: a subscriber that has not drained its events
//     keeps one pending wake-up and the set of mailboxes touched since.
//   - A Hub holds no package-level state; tests run many in one process.
package notify

import (
	"sort"
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
	ModSeq  uint64
}

// Hub routes events to the subscribers of each account.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
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

	mu        sync.Mutex
	mailboxes map[int64]struct{}
	mailboxesChanged,
	removed bool
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

// Publish delivers ev to every subscriber of its account.
func (h *Hub) Publish(ev Event) {
	h.mu.Lock()
	subs := make([]*Subscription, 0, len(h.subs[ev.Account]))
	for s := range h.subs[ev.Account] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.add(ev)
	}
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
		if s.mailboxes == nil {
			s.mailboxes = make(map[int64]struct{})
		}
		s.mailboxes[ev.Mailbox] = struct{}{}
	case MailboxesChanged:
		s.mailboxesChanged = true
	case AccountRemoved:
		s.removed = true
	}
	s.mu.Unlock()
	select {
	case s.c <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// C is signalled when events are pending; read them with Take.
func (s *Subscription) C() <-chan struct{} { return s.c }

// Pending is what accumulated since the last Take.
type Pending struct {
	Mailboxes        []int64 // mailboxes with MailboxChanged, ascending
	MailboxesChanged bool
	AccountRemoved   bool
}

// Empty reports whether nothing is pending.
func (p Pending) Empty() bool {
	return len(p.Mailboxes) == 0 && !p.MailboxesChanged && !p.AccountRemoved
}

// Has reports whether mailbox changed.
func (p Pending) Has(mailbox int64) bool {
	i := sort.Search(len(p.Mailboxes), func(i int) bool { return p.Mailboxes[i] >= mailbox })
	return i < len(p.Mailboxes) && p.Mailboxes[i] == mailbox
}

// Take returns and clears what is pending.
func (s *Subscription) Take() Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p Pending
	for id := range s.mailboxes {
		p.Mailboxes = append(p.Mailboxes, id)
	}
	sort.Slice(p.Mailboxes, func(i, j int) bool { return p.Mailboxes[i] < p.Mailboxes[j] })
	p.MailboxesChanged, p.AccountRemoved = s.mailboxesChanged, s.removed
	s.mailboxes, s.mailboxesChanged, s.removed = nil, false, false
	return p
}

// Close stops delivery.
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
}

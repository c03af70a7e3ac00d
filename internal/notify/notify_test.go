package notify

import (
	"sync"
	"testing"
	"time"
)

func TestDeliveryPerAccount(t *testing.T) {
	h := NewHub()
	a1 := h.Subscribe(1)
	a2 := h.Subscribe(1)
	b := h.Subscribe(2)
	defer a2.Close()
	defer b.Close()

	h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 7})
	h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 3})
	h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 7})
	for _, s := range []*Subscription{a1, a2} {
		select {
		case <-s.C():
		default:
			t.Fatal("no wake-up for a subscriber of the account")
		}
		p := s.Take()
		if len(p.Mailboxes) != 2 || p.Mailboxes[0] != 3 || p.Mailboxes[1] != 7 || !p.Has(7) || p.Has(5) {
			t.Fatalf("pending %+v", p)
		}
		if !s.Take().Empty() {
			t.Fatal("Take did not clear")
		}
	}
	select {
	case <-b.C():
		t.Fatal("other account woken")
	default:
	}
	a1.Close()
	if n := h.Subscribers(1); n != 1 {
		t.Fatalf("subscribers after Close: %d", n)
	}
	h.Publish(Event{Account: 1, Kind: MailboxesChanged})
	h.Publish(Event{Account: 1, Kind: AccountRemoved})
	if p := a2.Take(); !p.MailboxesChanged || !p.AccountRemoved {
		t.Fatalf("kinds: %+v", p)
	}
	if p := a1.Take(); !p.Empty() {
		t.Fatalf("closed subscription got %+v", p)
	}
}

// Publish never blocks, however many events pile up unread, and at most
// one wake-up is pending.
func TestPublishNeverBlocks(t *testing.T) {
	h := NewHub()
	s := h.Subscribe(1)
	defer s.Close()
	for i := 0; i < 10000; i++ {
		h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: int64(i % 10)})
	}
	if len(s.c) != 1 {
		t.Fatalf("%d wake-ups pending", len(s.c))
	}
	if p := s.Take(); len(p.Mailboxes) != 10 {
		t.Fatalf("pending %+v", p)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s := h.Subscribe(int64(g % 2))
				h.Publish(Event{Account: int64(i % 2), Kind: MailboxChanged, Mailbox: int64(i)})
				s.Take()
				s.Close()
			}
		}(g)
	}
	wg.Wait()
	if h.Subscribers(0)+h.Subscribers(1) != 0 {
		t.Fatal("subscriptions leaked")
	}
}

// Each pending mailbox carries the highest MODSEQ published for it, and
// the buffers of Take are reused without a change of what it reports.
func TestPendingModSeq(t *testing.T) {
	h := NewHub()
	s := h.Subscribe(1)
	defer s.Close()
	for _, ev := range []Event{
		{Account: 1, Kind: MailboxChanged, Mailbox: 9, ModSeq: 4},
		{Account: 1, Kind: MailboxChanged, Mailbox: 2, ModSeq: 7},
		{Account: 1, Kind: MailboxChanged, Mailbox: 9, ModSeq: 3}, // older, published late
		{Account: 1, Kind: MailboxChanged, Mailbox: 9, ModSeq: 6},
	} {
		h.Publish(ev)
	}
	p := s.Take()
	for _, tc := range []struct {
		mailbox int64
		modseq  uint64
		ok      bool
	}{{2, 7, true}, {9, 6, true}, {5, 0, false}} {
		if ms, ok := p.ModSeq(tc.mailbox); ms != tc.modseq || ok != tc.ok {
			t.Errorf("ModSeq(%d) = %d, %v; want %d, %v", tc.mailbox, ms, ok, tc.modseq, tc.ok)
		}
	}
	h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 5, ModSeq: 1})
	if p := s.Take(); len(p.Mailboxes) != 1 || p.Mailboxes[0] != 5 || p.ModSeqs[0] != 1 {
		t.Fatalf("second Take: %+v", p)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 5, ModSeq: 2})
		h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 8, ModSeq: 3})
		<-s.C()
		s.Take()
	}); allocs != 0 {
		t.Errorf("%v allocations per publish and take", allocs)
	}
}

// A wake function runs once per WakeFunc, at once when events are
// already pending, and not after StopWake or Close.
func TestWakeFunc(t *testing.T) {
	h := NewHub()
	s := h.Subscribe(1)
	woken := make(chan int, 10)
	s.WakeFunc(func() { woken <- 1 })
	select {
	case <-woken:
		t.Fatal("woken with nothing pending")
	case <-time.After(10 * time.Millisecond):
	}
	h.Publish(Event{Account: 2, Kind: MailboxChanged, Mailbox: 1})
	h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 1})
	h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: 1})
	<-woken
	select {
	case <-woken:
		t.Fatal("woken twice for one WakeFunc")
	case <-time.After(10 * time.Millisecond):
	}
	// Still pending: a new WakeFunc fires at once.
	s.WakeFunc(func() { woken <- 2 })
	if n := <-woken; n != 2 {
		t.Fatalf("woke %d", n)
	}
	s.Take()
	s.WakeFunc(func() { woken <- 3 })
	if !s.StopWake() {
		t.Fatal("StopWake: nothing was armed")
	}
	if s.StopWake() {
		t.Fatal("StopWake twice reports armed")
	}
	s.WakeFunc(func() { woken <- 4 })
	s.Close()
	h.Publish(Event{Account: 1, Kind: AccountRemoved})
	select {
	case n := <-woken:
		t.Fatalf("woke %d after StopWake and Close", n)
	case <-time.After(10 * time.Millisecond):
	}
}

// Publishing to many subscribers while they arm, take and close: the race
// detector checks the locking, and every armed function runs or is
// stopped.
func TestWakeFuncConcurrent(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			s := h.Subscribe(1)
			defer s.Close()
			woken := make(chan struct{}, 1)
			for i := range 300 {
				s.WakeFunc(func() { woken <- struct{}{} })
				if g == 0 {
					h.Publish(Event{Account: 1, Kind: MailboxChanged, Mailbox: int64(i % 3), ModSeq: uint64(i)})
				}
				if !s.StopWake() {
					<-woken
				}
				s.Take()
			}
		})
	}
	wg.Wait()
}

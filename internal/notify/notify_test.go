package notify

import (
	"sync"
	"testing"
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

package smtp

import (
	"sync"
	"time"

	"postfach/internal/store"
)

// rateWindow is the span the sending limits count over.
const rateWindow = time.Hour

// rateLimiter bounds what each account submits in any hour: messages and
// recipients. It counts what was accepted (end of DATA), and refuses a
// new MAIL or RCPT that would go past a limit. Counts live in memory: a
// restart forgets them, which at worst lets one more hour's worth out.
type rateLimiter struct {
	maxMessages, maxRecipients int
	now                        func() time.Time

	mu       sync.Mutex
	accounts map[store.AccountID][]sent
}

// sent is one accepted message.
type sent struct {
	at         time.Time
	recipients int
}

func newRateLimiter(maxMessages, maxRecipients int, now func() time.Time) *rateLimiter {
	return &rateLimiter{maxMessages: maxMessages, maxRecipients: maxRecipients, now: now, accounts: map[store.AccountID][]sent{}}
}

// recent returns the account's messages of the last hour, dropping older
// ones. The caller holds mu.
func (l *rateLimiter) recent(acct store.AccountID) []sent {
	list := l.accounts[acct]
	cut := l.now().Add(-rateWindow)
	i := 0
	for i < len(list) && !list[i].at.After(cut) {
		i++
	}
	if i > 0 {
		list = append(list[:0], list[i:]...)
		if len(list) == 0 {
			delete(l.accounts, acct)
		} else {
			l.accounts[acct] = list
		}
	}
	return list
}

// allowMessage reports whether the account may start another message.
func (l *rateLimiter) allowMessage(acct store.AccountID) bool {
	if l.maxMessages <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(acct)) < l.maxMessages
}

// allowRecipients reports whether the account may send a message with n
// recipients now.
func (l *rateLimiter) allowRecipients(acct store.AccountID, n int) bool {
	if l.maxRecipients <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	total := n
	for _, s := range l.recent(acct) {
		total += s.recipients
	}
	return total <= l.maxRecipients
}

// record counts an accepted message.
func (l *rateLimiter) record(acct store.AccountID, recipients int) {
	if l.maxMessages <= 0 && l.maxRecipients <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accounts[acct] = append(l.recent(acct), sent{at: l.now(), recipients: recipients})
}

// setClock replaces the clock (tests).
func (l *rateLimiter) setClock(now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.now = now
}

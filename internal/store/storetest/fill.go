package storetest

import (
	"context"
	"sync"
	"sync/atomic"

	"postfach/internal/store"
)

// Fill appends n messages to a mailbox as fast as the store allows, for
// benchmark fixtures: batches of 500 per Append, from workers goroutines.
// msg builds the i-th message, 0 <= i < n.
func Fill(ctx context.Context, m store.Mail, mbox store.MailboxID, n, workers int, msg func(i int) store.NewMessage) error {
	const batch = 500
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(batch)) - batch
				if start >= n {
					return
				}
				msgs := make([]store.NewMessage, min(batch, n-start))
				for j := range msgs {
					msgs[j] = msg(start + j)
				}
				if _, err := m.Append(ctx, mbox, msgs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

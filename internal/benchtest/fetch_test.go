package benchtest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"postfach/internal/imaptest"
)

// listingFields are the header fields a mail client fetches to list
// messages (as postfach bench's imap-fetch workload does).
const listingFields = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])"

// BenchmarkFetchListing: 8 TLS connections of one account, each with
// INBOX (100 messages of 10 KB) selected, in turn FETCH the listing
// fields of 20 messages at a random place and the whole body of one
// random message, as clients list and read mail. Each FETCH is an
// operation; reports FETCH/s and the process's CPU per FETCH.
func BenchmarkFetchListing(b *testing.B) {
	const clients, messages = 8, 100
	env := imaptest.Start(b, imaptest.Options{Users: []string{"alice@example.org"}, DataDir: keptDir(b)})
	conns := make([]*client, clients)
	for i := range conns {
		c, err := login(env.IMAPS, "alice@example.org", imaptest.Password, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.close()
		conns[i] = c
	}
	st := newStamper()
	for i := range messages {
		if _, err := conns[0].appendMessage("INBOX", st.stamp(i)); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range conns {
		if err := c.ok("SELECT INBOX", nil); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	cpu := startCPU()
	b.ResetTimer()
	for i, c := range conns {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(1, uint64(i)))
			for {
				op := next.Add(1)
				if op > int64(b.N) {
					return
				}
				cmd := fmt.Sprintf("FETCH %d BODY.PEEK[]", 1+r.IntN(messages))
				if op%2 == 1 {
					lo := 1 + r.IntN(messages-19)
					cmd = fmt.Sprintf("FETCH %d:%d %s", lo, lo+19, listingFields)
				}
				if err := c.ok(cmd, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "FETCH/s")
	cpu.report(b)
}

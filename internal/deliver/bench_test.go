package deliver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// BenchmarkDeliver10Recipients: 8 callers deliver 10 KB messages, each
// to 10 of 100 accounts in turn (the LMTP load of bench/compare, without
// the protocol), fsync on. "shared" stores each message once for its 10
// recipients (store.SharedAppender); "each" appends to every recipient's
// mailbox on its own, as Deliver does for stores without it.
//
//	go test -run '^$' -bench Deliver10Recipients -benchtime 5s ./internal/deliver/
func BenchmarkDeliver10Recipients(b *testing.B) {
	for _, kind := range storeKinds {
		b.Run(kind.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, sqlite.Options{Dir: b.TempDir(), Hub: notify.NewHub(), SpareBlobs: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if _, err := st.AddDomain(ctx, "example.org"); err != nil {
				b.Fatal(err)
			}
			var accounts []store.AccountID
			for i := range 100 {
				a, err := st.AddAccount(ctx, fmt.Sprintf("user%d@example.org", i), "")
				if err != nil {
					b.Fatal(err)
				}
				accounts = append(accounts, a.ID)
			}
			d := New(kind.of(st), Options{})
			body := "From: bench@example.net\r\nTo: undisclosed-recipients:;\r\nSubject: benchmark\r\n\r\n" +
				strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\r\n", 160)
			msg := Message{ReturnPath: "bench@example.net", Body: strings.NewReader(body), Size: int64(len(body))}
			const callers, perMessage = 8, 10
			var next, rcpt atomic.Int64
			var failed atomic.Value
			var wg sync.WaitGroup
			b.SetBytes(int64(len(body)))
			cpu := cpuTime()
			b.ResetTimer()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rcpts := make([]Recipient, perMessage)
					for next.Add(1) <= int64(b.N) {
						first := rcpt.Add(perMessage) - perMessage
						for k := range rcpts {
							rcpts[k] = Recipient{Account: accounts[(first+int64(k))%int64(len(accounts))]}
						}
						for _, r := range d.Deliver(ctx, msg, rcpts) {
							if r.Err != nil {
								failed.Store(r.Err)
							}
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*perMessage)/b.Elapsed().Seconds(), "deliveries/s")
			// On a shared machine wall time includes waiting for a core;
			// CPU time per delivery does not.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N*perMessage), "cpu-µs/delivery")
		})
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

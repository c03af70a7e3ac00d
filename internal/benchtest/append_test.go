package benchtest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"postfach/internal/imaptest"
)

// BenchmarkAppend8Clients: 8 logged-in TLS connections of one account
// APPEND 10 KB messages to INBOX as fast as the server acknowledges them,
// fsync on: every OK means the message is on disk. The target is 2,000
// messages per second on 2 cores.
//
// "plain" clients append without a mailbox selected (an import, or
// several clients saving to Sent); in "selected" every client has INBOX
// selected, so every message is also announced to the 7 other sessions
// (EXISTS, and \Recent claimed by one of them), as when mail arrives while
// clients watch the mailbox. In "accounts" each client is a user of its
// own, appending to its INBOX: the shape of bench/compare's imap-append,
// where no two APPENDs of a group commit touch the same mailbox.
func BenchmarkAppend8Clients(b *testing.B) {
	for _, tc := range []struct {
		name        string
		selectInbox bool
		accounts    bool
	}{{"plain", false, false}, {"selected", true, false}, {"accounts", false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			const clients = 8
			users := []string{"alice@example.org"}
			if tc.accounts {
				users = users[:0]
				for i := range clients {
					users = append(users, fmt.Sprintf("user%d@example.org", i))
				}
			}
			env := imaptest.Start(b, imaptest.Options{Sync: true, Users: users, DataDir: keptDir(b)})
			conns := make([]*client, clients)
			for i := range conns {
				c, err := login(env.IMAPS, users[i%len(users)], imaptest.Password, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				if tc.selectInbox {
					if err := c.ok("SELECT INBOX", nil); err != nil {
						b.Fatal(err)
					}
				}
				conns[i] = c
			}
			b.SetBytes(10 << 10)
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			cpu := startCPU()
			b.ResetTimer()
			for _, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := newStamper()
					for {
						seq := next.Add(1)
						if seq > int64(b.N) {
							return
						}
						text, err := c.appendMessage("INBOX", st.stamp(int(seq)))
						if err != nil {
							errs <- err
							return
						}
						if !strings.HasPrefix(text, "[APPENDUID ") {
							errs <- fmt.Errorf("APPEND OK without APPENDUID: %q", text)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			cpu.report(b)
			// The messages are all there.
			total := 0
			for _, c := range conns[:len(users)] {
				var n int
				if err := c.ok("STATUS INBOX (MESSAGES)", func(line []byte) error {
					if _, rest, ok := strings.Cut(string(line), "(MESSAGES "); ok {
						_, err := fmt.Sscanf(rest, "%d)", &n)
						return err
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				total += n
			}
			if total != b.N {
				b.Fatalf("STATUS after %d APPENDs: %d messages", b.N, total)
			}
		})
	}
}

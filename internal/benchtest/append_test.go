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
// clients watch the mailbox.
func BenchmarkAppend8Clients(b *testing.B) {
	for _, tc := range []struct {
		name        string
		selectInbox bool
	}{{"plain", false}, {"selected", true}} {
		b.Run(tc.name, func(b *testing.B) {
			const clients = 8
			env := imaptest.Start(b, imaptest.Options{Sync: true, Users: []string{"alice@example.org"}, DataDir: keptDir(b)})
			conns := make([]*client, clients)
			for i := range conns {
				c, err := login(env.IMAPS, "alice@example.org", imaptest.Password, nil)
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
			var got string
			if err := conns[0].ok("STATUS INBOX (MESSAGES)", func(line []byte) error {
				if strings.HasPrefix(string(line), "STATUS ") {
					got = string(line)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if want := fmt.Sprintf("(MESSAGES %d)", b.N); !strings.Contains(got, want) {
				b.Fatalf("STATUS after %d APPENDs: %q", b.N, got)
			}
		})
	}
}

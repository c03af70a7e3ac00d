package benchtest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/store/sqlite"
)

// sizedServers holds one server per mailbox size for the resync
// benchmarks (the 100k one is the shared fixture).
var sizedServers struct {
	mu    sync.Mutex
	addrs map[int]string
}

// startSized returns the IMAPS address of a server whose bigUser INBOX
// holds m fixture messages.
func startSized(b *testing.B, m int) string {
	b.Helper()
	if m == bigMessages {
		return startBig(b)
	}
	ss := &sizedServers
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if addr, ok := ss.addrs[m]; ok {
		return addr
	}
	dir := keptDir(b)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := fillInbox(ctx, s, bigUser, m, fixtureNewMessage); err != nil {
		b.Fatal(err)
	}
	s.Close()
	srv, err := startServer(ctx, dir, config.Listen{IMAPS: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if ss.addrs == nil {
		ss.addrs = map[int]string{}
	}
	addr := srv.Addr("imaps").String()
	ss.addrs[m] = addr
	// The servers live until the test binary exits.
	return addr
}

// resyncChanges is N, the number of changes between two syncs.
const resyncChanges = 10

// BenchmarkResync measures what a client that was away pays to catch up
// after resyncChanges flag changes and one expunge-free period, in a
// mailbox of M messages:
//   - qresync: SELECT INBOX (QRESYNC (uidvalidity modseq)) (RFC 7162),
//     which reports only what changed;
//   - full: SELECT INBOX plus UID FETCH 1:* (FLAGS), what a client without
//     CONDSTORE must do.
//
// The QRESYNC cost should stay nearly flat as M grows; the full one grows
// with M.
func BenchmarkResync(b *testing.B) {
	for _, m := range []int{1_000, 10_000, bigMessages} {
		for _, mode := range []string{"qresync", "full"} {
			b.Run(fmt.Sprintf("M=%d/%s", m, mode), func(b *testing.B) {
				addr := startSized(b, m)
				writer, err := login(addr, bigUser, imaptest.Password, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer writer.close()
				reader, err := login(addr, bigUser, imaptest.Password, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer reader.close()
				if err := writer.ok("SELECT INBOX", nil); err != nil {
					b.Fatal(err)
				}
				if err := reader.ok("ENABLE QRESYNC", nil); err != nil {
					b.Fatal(err)
				}
				var uidValidity, highest string
				if err := reader.ok("SELECT INBOX", func(line []byte) error {
					if v, ok := bytes.CutPrefix(line, []byte("OK [UIDVALIDITY ")); ok {
						uidValidity = string(v[:bytes.IndexByte(v, ']')])
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				round := 0
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					// The state the client remembers, then N changes by
					// another client, spread over the mailbox.
					if err := reader.ok("STATUS INBOX (HIGHESTMODSEQ)", func(line []byte) error {
						if i := bytes.Index(line, []byte("HIGHESTMODSEQ ")); i >= 0 {
							highest = string(bytes.TrimRight(line[i+len("HIGHESTMODSEQ "):], ")"))
						}
						return nil
					}); err != nil {
						b.Fatal(err)
					}
					// Toggle a keyword on N messages spread over the
					// mailbox, whatever state an earlier run left.
					round++
					for k := range resyncChanges {
						uid := strconv.Itoa(1 + (k*m/resyncChanges+round)%m)
						has := false
						if err := writer.ok("UID FETCH "+uid+" (FLAGS)", func(line []byte) error {
							has = has || bytes.Contains(line, []byte("$ResyncBench"))
							return nil
						}); err != nil {
							b.Fatal(err)
						}
						op := "+"
						if has {
							op = "-"
						}
						if err := writer.ok("UID STORE "+uid+" "+op+"FLAGS.SILENT ($ResyncBench)", nil); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					fetched := 0
					count := func(line []byte) error {
						if bytes.Contains(line, []byte(" FETCH (")) {
							fetched++
						}
						return nil
					}
					if mode == "qresync" {
						err = reader.ok("SELECT INBOX (QRESYNC ("+uidValidity+" "+highest+"))", count)
					} else {
						if err = reader.ok("SELECT INBOX", nil); err == nil {
							err = reader.ok("UID FETCH 1:* (FLAGS)", count)
						}
					}
					if err != nil {
						b.Fatal(err)
					}
					if mode == "qresync" && fetched != resyncChanges || mode == "full" && fetched != m {
						b.Fatalf("%s: %d FETCH responses", mode, fetched)
					}
				}
			})
		}
	}
}

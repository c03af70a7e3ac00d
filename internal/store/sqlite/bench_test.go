package sqlite

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"postfach/internal/store"
	"postfach/internal/store/storetest"
)

// benchMessage is a plausible message of about size bytes.
func benchMessage(i, size int) string {
	h := fmt.Sprintf("From: Sender %d <sender%d@example.org>\r\nTo: alice@example.com\r\nSubject: Report number %d about topic %d\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", i%97, i%97, i, i%13, i)
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
	var b strings.Builder
	b.WriteString(h)
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}

// BenchmarkAppend measures Append of 10 KB messages from 8 goroutines with
// fsync on: what the group commit is for.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.AddDomain(ctx, "example.com")
	a, _ := s.AddAccount(ctx, "alice@example.com", "")
	m := s.Mail(a.ID)
	inbox, _ := m.Mailbox(ctx, "INBOX")
	msg := benchMessage(1, 10<<10)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n.Add(1) <= int64(b.N) {
				if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(msg)}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// fixture100k is a store with a 100,000-message INBOX, built once per test
// binary run.
var fixture100k struct {
	once sync.Once
	dir  string
	err  error
}

const fixtureMessages = 100_000

func bigMailbox(_ testing.TB) (string, error) {
	f := &fixture100k
	f.once.Do(func() {
		f.dir, f.err = os.MkdirTemp("", "postfach-bench-")
		if f.err != nil {
			return
		}
		f.err = buildFixture(f.dir)
	})
	return f.dir, f.err
}

// buildFixture fills dir quickly: no fsync, 500 messages per Append, 4
// appenders.
func buildFixture(dir string) error {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	s.AddDomain(ctx, "example.com")
	a, err := s.AddAccount(ctx, "alice@example.com", "")
	if err != nil {
		return err
	}
	m := s.Mail(a.ID)
	inbox, _ := m.Mailbox(ctx, "INBOX")
	return storetest.Fill(ctx, m, inbox.ID, fixtureMessages, 4, func(i int) store.NewMessage {
		return store.NewMessage{Flags: store.Flags(i % 3), Body: strings.NewReader(benchMessage(i, 600))}
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture100k.dir != "" {
		os.RemoveAll(fixture100k.dir)
	}
	os.Exit(code)
}

func openBig(b *testing.B) (store.Mail, store.MailboxID, func()) {
	dir, err := bigMailbox(b)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.AccountByAddress(ctx, "alice@example.com")
	if err != nil {
		b.Fatal(err)
	}
	m := s.Mail(a.ID)
	inbox, _ := m.Mailbox(ctx, "INBOX")
	return m, inbox.ID, func() { s.Close() }
}

// cpuTime is the process's user+system CPU time. The read benchmarks
// report it per operation beside wall time: on a shared machine the wall
// time includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs fn b.N times and reports CPU ms per operation.
func loop(b *testing.B, fn func() error) {
	b.Helper()
	start := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func BenchmarkSnapshot100k(b *testing.B) {
	m, id, done := openBig(b)
	defer done()
	ctx := context.Background()
	loop(b, func() error {
		snap, err := m.Snapshot(ctx, id)
		if err == nil && len(snap.UIDs) != fixtureMessages {
			err = fmt.Errorf("snapshot: %d UIDs", len(snap.UIDs))
		}
		return err
	})
}

func BenchmarkMessages100k(b *testing.B) {
	m, id, done := openBig(b)
	defer done()
	ctx := context.Background()
	loop(b, func() error {
		msgs, err := m.Messages(ctx, id, store.AllUIDs(), store.FetchOptions{})
		if err == nil && len(msgs) != fixtureMessages {
			err = fmt.Errorf("messages: %d", len(msgs))
		}
		return err
	})
}

func BenchmarkSearchSubject100k(b *testing.B) {
	m, id, done := openBig(b)
	defer done()
	ctx := context.Background()
	c := &store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Subject", Value: "NUMBER 4242"}}}
	loop(b, func() error {
		uids, err := m.Search(ctx, id, c)
		if err == nil && len(uids) != 11 { // 4242, 42420..42429
			err = fmt.Errorf("search: %d results", len(uids))
		}
		return err
	})
}

func BenchmarkSearchUnseenFlagged100k(b *testing.B) {
	m, id, done := openBig(b)
	defer done()
	ctx := context.Background()
	c := &store.SearchCriteria{NotFlags: store.FlagSeen, Larger: []int64{100}}
	loop(b, func() error {
		_, err := m.Search(ctx, id, c)
		return err
	})
}

func BenchmarkStatus100k(b *testing.B) {
	m, id, done := openBig(b)
	defer done()
	ctx := context.Background()
	loop(b, func() error {
		_, err := m.Status(ctx, id)
		return err
	})
}

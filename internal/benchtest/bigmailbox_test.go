package benchtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/server"
)

// bigServer is one server on the 100k fixture, shared by the benchmarks of
// the test binary: starting one walks every blob file (garbage collection),
// which should not be timed, nor repeated for every b.N.
var bigServer struct {
	once sync.Once
	srv  *server.Server
	addr string
	err  error
}

// startBig returns the IMAPS address of the shared 100k server. The store
// keeps fsync on, as in production: SELECT may write (\Recent).
func startBig(b *testing.B) string {
	b.Helper()
	bs := &bigServer
	bs.once.Do(func() {
		start := time.Now()
		dir, err := fixtureDir()
		if err != nil {
			bs.err = err
			return
		}
		srv, err := startServer(context.Background(), dir, config.Listen{IMAPS: "127.0.0.1:0"}, nil)
		if err != nil {
			bs.err = fmt.Errorf("server on the fixture (is another benchmark run using it?): %w", err)
			return
		}
		bs.srv, bs.addr = srv, srv.Addr("imaps").String()
		b.Logf("100k fixture ready in %v (%s)", time.Since(start).Round(time.Millisecond), dir)
	})
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	return bs.addr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bs := &bigServer; bs.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		bs.srv.Shutdown(ctx)
		cancel()
	}
	if kept.root != "" {
		os.RemoveAll(kept.root)
	}
	os.Exit(code)
}

// kept holds data directories that live until the test binary exits.
var kept struct {
	mu   sync.Mutex
	root string
	n    int
}

// keptDir returns a new data directory that is removed when the test
// binary exits, not when the benchmark ends. Removing thousands of blob
// files makes creating files in the same place slow for a while (ext4
// skips recently freed inodes, at a cost per skipped inode), which would
// slow the next round of the same benchmark.
func keptDir(b *testing.B) string {
	b.Helper()
	kept.mu.Lock()
	defer kept.mu.Unlock()
	if kept.root == "" {
		root, err := os.MkdirTemp("", "postfach-benchtest-")
		if err != nil {
			b.Fatal(err)
		}
		kept.root = root
	}
	kept.n++
	dir := filepath.Join(kept.root, strconv.Itoa(kept.n))
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	return dir
}

// bigClient logs in to the 100k server.
func bigClient(b *testing.B) *client {
	b.Helper()
	c, err := login(startBig(b), bigUser, imaptest.Password, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.close)
	return c
}

// BenchmarkSelect100k: SELECT INBOX of 100,000 messages, all responses
// read. Target: under 50 ms.
func BenchmarkSelect100k(b *testing.B) {
	c := bigClient(b)
	want := []byte(strconv.Itoa(bigMessages) + " EXISTS")
	cpu := startCPU()
	b.ResetTimer()
	for b.Loop() {
		exists := false
		if err := c.ok("SELECT INBOX", func(line []byte) error {
			exists = exists || bytes.Equal(line, want)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if !exists {
			b.Fatalf("SELECT did not report %s", want)
		}
	}
	cpu.report(b)
}

// BenchmarkUIDFetchFlags100k: UID FETCH 1:* (FLAGS) on 100,000 messages,
// every FETCH response read by the client, as a client does to
// resynchronise flags. Target: under 500 ms.
func BenchmarkUIDFetchFlags100k(b *testing.B) {
	c := bigClient(b)
	if err := c.ok("SELECT INBOX", nil); err != nil {
		b.Fatal(err)
	}
	cpu := startCPU()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := c.ok("UID FETCH 1:* (FLAGS)", func(line []byte) error {
			if bytes.Contains(line, []byte(" FETCH (")) {
				n++
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != bigMessages {
			b.Fatalf("%d FETCH responses, want %d", n, bigMessages)
		}
	}
	cpu.report(b)
}

// BenchmarkSearchHeader100k: UID SEARCH for a substring of a header field
// that a few hundred of the 100,000 messages have.
func BenchmarkSearchHeader100k(b *testing.B) {
	for _, tc := range []struct {
		name, query string
		hits        int
	}{
		{"subject", `UID SEARCH SUBJECT "` + subjectNeedle + `"`, subjectHits},
		{"from", `UID SEARCH FROM "` + fromNeedle + `"`, fromHits()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := bigClient(b)
			if err := c.ok("EXAMINE INBOX", nil); err != nil {
				b.Fatal(err)
			}
			cpu := startCPU()
			b.ResetTimer()
			for b.Loop() {
				n := -1
				if err := c.ok(tc.query, func(line []byte) error {
					if bytes.HasPrefix(line, []byte("SEARCH")) {
						n = len(bytes.Fields(line)) - 1
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if n != tc.hits {
					b.Fatalf("%s: %d hits, want %d", tc.query, n, tc.hits)
				}
			}
			cpu.report(b)
		})
	}
}

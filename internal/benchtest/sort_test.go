package benchtest

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkSortThread100k: SORT and THREAD over the 100,000 messages of
// the fixture, every result read by the client (RFC 5256). The keys are
// computed at delivery; the store keeps them in memory once read, with
// the sorted order of each key. The command runs once before the timer
// starts, so the timed loop measures the steady state of a mailbox that
// does not change. The first command, with nothing in memory, is timed
// by running one sub-benchmark alone with -benchtime 1x and
// POSTFACH_BENCH_SORT_COLD=1.
func BenchmarkSortThread100k(b *testing.B) {
	cold := os.Getenv("POSTFACH_BENCH_SORT_COLD") != ""
	for _, tc := range []struct {
		name, cmd, prefix string
	}{
		{"sort-date", "UID SORT (DATE) UTF-8 ALL", "SORT "},
		{"sort-subject", "UID SORT (SUBJECT) UTF-8 ALL", "SORT "},
		{"sort-reverse-arrival", "UID SORT (REVERSE ARRIVAL) UTF-8 ALL", "SORT "},
		{"thread-references", "UID THREAD REFERENCES UTF-8 ALL", "THREAD "},
		{"thread-orderedsubject", "UID THREAD ORDEREDSUBJECT UTF-8 ALL", "THREAD "},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := bigClient(b)
			if err := c.ok("EXAMINE INBOX", nil); err != nil {
				b.Fatal(err)
			}
			if !cold {
				if err := c.ok(tc.cmd, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				got := 0
				if err := c.ok(tc.cmd, func(line []byte) error {
					if bytes.HasPrefix(line, []byte(tc.prefix)) {
						got = len(line)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if got < bigMessages {
					b.Fatalf("%s: response of %d octets", tc.cmd, got)
				}
			}
		})
	}
}

// BenchmarkSortCacheMemory100k reports the memory the store keeps to
// answer SORT and THREAD on the 100,000 messages from memory: the growth
// of the live heap once every sort key and both threading algorithms
// have run. Run it alone (-bench SortCacheMemory100k): after the other
// SORT benchmarks of the same binary, the keys are in memory already and
// the growth reads near zero. The timed loop is a steady SORT by date.
func BenchmarkSortCacheMemory100k(b *testing.B) {
	c := bigClient(b)
	if err := c.ok("EXAMINE INBOX", nil); err != nil {
		b.Fatal(err)
	}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for _, cmd := range []string{
		"UID SORT (ARRIVAL) UTF-8 ALL", "UID SORT (DATE) UTF-8 ALL", "UID SORT (SIZE) UTF-8 ALL",
		"UID SORT (SUBJECT) UTF-8 ALL", "UID SORT (FROM) UTF-8 ALL", "UID SORT (TO) UTF-8 ALL",
		"UID SORT (CC) UTF-8 ALL", "UID SORT (DISPLAYFROM) UTF-8 ALL", "UID SORT (DISPLAYTO) UTF-8 ALL",
		"UID SORT (REVERSE DATE) UTF-8 ALL", "UID SORT (SUBJECT DATE) UTF-8 ALL",
		"UID THREAD REFERENCES UTF-8 ALL", "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
	} {
		if err := c.ok(cmd, nil); err != nil {
			b.Fatal(err)
		}
	}
	grown := float64(int64(heap()-before)) / (1 << 20)
	b.ResetTimer()
	for b.Loop() {
		if err := c.ok("UID SORT (DATE) UTF-8 ALL", nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(grown, "MiB-kept")
}

// BenchmarkSortThreadChanged100k: SORT and THREAD on the 100,000
// messages right after they changed: another session appended a message
// (and expunged the one of the round before), so the store brings the
// keys it holds up to date instead of serving them as they were. Only
// the command is timed; the fixture keeps its 100,000 messages.
func BenchmarkSortThreadChanged100k(b *testing.B) {
	for _, tc := range []struct {
		name, cmd, prefix string
	}{
		{"sort-date", "UID SORT (DATE) UTF-8 ALL", "SORT "},
		{"sort-subject", "UID SORT (SUBJECT) UTF-8 ALL", "SORT "},
		{"thread-references", "UID THREAD REFERENCES UTF-8 ALL", "THREAD "},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, other := bigClient(b), bigClient(b)
			if err := c.ok("EXAMINE INBOX", nil); err != nil {
				b.Fatal(err)
			}
			if err := other.ok("SELECT INBOX", nil); err != nil {
				b.Fatal(err)
			}
			// Warm: the keys in memory, as in the steady state.
			if err := c.ok(tc.cmd, nil); err != nil {
				b.Fatal(err)
			}
			last := ""
			expunge := func() {
				if last == "" {
					return
				}
				if err := other.ok("UID STORE "+last+` +FLAGS.SILENT (\Deleted)`, nil); err != nil {
					b.Fatal(err)
				}
				if err := other.ok("UID EXPUNGE "+last, nil); err != nil {
					b.Fatal(err)
				}
				last = ""
			}
			defer expunge()
			msg := []byte("From: bench@example.org\r\nSubject: Re: changed\r\nDate: Mon, 2 Feb 2026 10:00:00 +0000\r\nMessage-ID: <changed@example.org>\r\n\r\nx\r\n")
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				expunge()
				text, err := other.appendMessage("INBOX", msg)
				if err != nil {
					b.Fatal(err)
				}
				// [APPENDUID uidvalidity uid]
				f := strings.Fields(strings.TrimRight(text[strings.Index(text, "APPENDUID"):], "]"))
				if len(f) < 3 {
					b.Fatalf("no APPENDUID in %q", text)
				}
				last = strings.TrimRight(f[2], "]")
				b.StartTimer()
				got := 0
				if err := c.ok(tc.cmd, func(line []byte) error {
					if bytes.HasPrefix(line, []byte(tc.prefix)) {
						got = len(line)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if got < bigMessages {
					b.Fatalf("%s: response of %d octets", tc.cmd, got)
				}
			}
		})
	}
}

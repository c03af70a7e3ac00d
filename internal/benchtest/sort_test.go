package benchtest

import (
	"bytes"
	"testing"
)

// BenchmarkSortThread100k: SORT and THREAD over the 100,000 messages of
// the fixture, every result read by the client (RFC 5256). The keys are
// columns computed at delivery, so SQLite sorts without opening a
// message.
func BenchmarkSortThread100k(b *testing.B) {
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

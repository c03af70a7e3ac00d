package wire

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
)

// repeatReader returns the same data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func benchmarkRead(b *testing.B, cmd string) {
	r := NewReader(bufio.NewReaderSize(&repeatReader{data: []byte(cmd)}, 64<<10), Options{}, func(string) error { return nil })
	b.SetBytes(int64(len(cmd)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := r.ReadCommand()
		if err != nil {
			b.Fatal(err)
		}
		closeCommand(c)
	}
}

func BenchmarkReadCommand(b *testing.B) {
	b.Run("FETCH", func(b *testing.B) {
		benchmarkRead(b, "A0042 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)])\r\n")
	})
	b.Run("FETCH-flags", func(b *testing.B) {
		benchmarkRead(b, "A0042 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n")
	})
	b.Run("UID-STORE", func(b *testing.B) {
		benchmarkRead(b, "A0043 UID STORE 1200:1300,1400 +FLAGS.SILENT (\\Seen \\Flagged $Forwarded)\r\n")
	})
	b.Run("SEARCH", func(b *testing.B) {
		benchmarkRead(b, "A0044 UID SEARCH RETURN (ALL COUNT) CHARSET UTF-8 OR FROM \"alice@example.org\" SUBJECT report SINCE 1-Jan-2024 NOT DELETED\r\n")
	})
	b.Run("APPEND-10KB-literal+", func(b *testing.B) {
		msg := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 10240/58+1)[:10240]
		benchmarkRead(b, "A0045 APPEND \"Sent Items\" (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {10240+}\r\n"+msg+"\r\n")
	})
}

// BenchmarkWriteFetchFlags writes the response to UID FETCH 1:* (FLAGS)
// for 100,000 messages per op.
func BenchmarkWriteFetchFlags(b *testing.B) {
	w := NewWriter(bufio.NewWriterSize(io.Discard, 64<<10))
	flags := []string{`\Seen`, `\Answered`, "$Forwarded"}
	b.ReportAllocs()
	for b.Loop() {
		for seq := uint64(1); seq <= 100000; seq++ {
			w.Raw("* ")
			w.Number(seq)
			w.Raw(" FETCH (UID ")
			w.Number(seq + 1000)
			w.Raw(" FLAGS (")
			for i, f := range flags {
				if i > 0 {
					w.SP()
				}
				w.Atom(f)
			}
			w.Raw("))")
			w.CRLF()
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriteEnvelopeStrings writes typical envelope fields.
func BenchmarkWriteEnvelopeStrings(b *testing.B) {
	w := NewWriter(bufio.NewWriterSize(io.Discard, 64<<10))
	w.SetUTF8(true)
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		w.DateTime(date)
		w.SP()
		w.NString("Re: Quarterly \"report\" for Jörg")
		w.SP()
		w.AString("INBOX")
		w.SP()
		w.Mailbox("Entwürfe/2024", false)
		w.CRLF()
	}
}

func BenchmarkUTF7(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		enc := EncodeMailboxUTF7("~peter/mail/台北/日本語")
		if _, err := DecodeMailboxUTF7(enc); err != nil {
			b.Fatal(err)
		}
	}
}

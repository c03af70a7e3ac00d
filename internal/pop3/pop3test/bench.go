package pop3test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// BenchMessages is the size of the benchmark maildrop.
const BenchMessages = 10_000

// BenchMessage is message i of the POP3 benchmark maildrop, the same
// bytes whichever server is measured (internal/benchtest, and Dovecot
// through bench/pop3). Sizes are spread like a working inbox: seven in
// ten are 2-8 KB of text, a quarter 10-50 KB, one in twenty carries a
// 100-200 KB attachment; about 18 KB on average, 180 MB for 10,000. A
// few lines begin with a dot, as in real mail, so that byte-stuffing
// has work to do. Line endings are CRLF.
func BenchMessage(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 0x90933))
	var size int
	switch p := r.IntN(100); {
	case p < 70:
		size = 2<<10 + r.IntN(6<<10)
	case p < 95:
		size = 10<<10 + r.IntN(40<<10)
	default:
		size = 100<<10 + r.IntN(100<<10)
	}
	var b bytes.Buffer
	b.Grow(size + 1024)
	s := i % 331
	fmt.Fprintf(&b, "Return-Path: <person%d@example%d.net>\r\n", s, s%7)
	fmt.Fprintf(&b, "Received: from mx.example%d.net (mx.example%d.net [192.0.2.%d]) by mail.example.org with ESMTPS id %x; Mon, 23 Nov 2026 10:%02d:%02d +0100\r\n", s%7, s%7, s%250+1, i*7919, i%60, (i/60)%60)
	fmt.Fprintf(&b, "From: Person %d <person%d@example%d.net>\r\nTo: Bench <bench@example.org>\r\n", s, s, s%7)
	fmt.Fprintf(&b, "Subject: POP3 benchmark message %d\r\nDate: Mon, 23 Nov 2026 10:%02d:%02d +0100\r\n", i, i%60, (i/60)%60)
	fmt.Fprintf(&b, "Message-ID: <bench-%d@example%d.net>\r\nMIME-Version: 1.0\r\n", i, s%7)
	const words = "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches and report results "
	text := func(limit int) {
		for b.Len() < limit {
			n := 40 + r.IntN(36)
			if r.IntN(40) == 0 {
				b.WriteByte('.')
				n--
			}
			off := r.IntN(len(words) - n)
			b.WriteString(words[off : off+n])
			b.WriteString("\r\n")
		}
	}
	if size < 100<<10 {
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
		text(size)
		return b.Bytes()
	}
	boundary := fmt.Sprintf("bench-boundary-%d", i)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary, boundary)
	text(b.Len() + 2<<10)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"report-%d.pdf\"\r\n\r\n", boundary, i)
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	line := make([]byte, 76)
	for b.Len() < size {
		for j := range line {
			line[j] = b64[r.IntN(len(b64))]
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

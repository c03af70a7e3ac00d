package benchtest

import (
	"fmt"
	"strings"
)

// filler is body text; lines are 74 octets with CRLF.
const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"

// appendMessage10K returns a 10 KB (10,240 octets) text message; seq makes
// its Message-ID and subject unique.
func message10K(seq int) []byte {
	return padded(fmt.Sprintf("From: Bob Example <bob@example.org>\r\n"+
		"To: Alice Example <alice@example.org>\r\n"+
		"Subject: Benchmark message %d\r\n"+
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"+
		"Message-ID: <bench-%d@example.org>\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"\r\n", seq, seq), 10<<10)
}

// padded fills a header with body lines up to exactly size octets, ending
// in CRLF.
func padded(header string, size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, header...)
	for len(b)+len(filler) <= size {
		b = append(b, filler...)
	}
	if rest := size - len(b); rest >= 2 {
		b = append(b, strings.Repeat("x", rest-2)...)
		b = append(b, "\r\n"...)
	}
	return b
}

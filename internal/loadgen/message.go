package loadgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// vocabulary gives generated messages searchable words; SEARCH workloads
// look for them.
var vocabulary = []string{
	"meeting", "invoice", "report", "quarterly", "project", "deadline", "holiday",
	"budget", "review", "schedule", "contract", "proposal", "update", "release",
	"customer", "support", "travel", "agenda", "minutes", "draft", "summary",
	"the", "and", "for", "with", "about", "please", "regards", "thanks", "team",
	"next", "week", "monday", "friday", "office", "plan", "notes", "call",
}

// senders are the From names of generated messages.
var senders = []string{
	"Anna Schmidt", "Bruno Keller", "Clara Weber", "David Fischer", "Eva Wagner",
	"Felix Becker", "Greta Hoffmann", "Hugo Schulz", "Ida Koch", "Jonas Richter",
}

// seqWidth is the width of the sequence field stamped into messages sent
// repeatedly, so that each copy differs (Message-ID) at no cost.
const seqWidth = 16

// messageDate is the base of generated Date headers.
var messageDate = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// messageTime is the date of message n: a minute apart, within 70 days.
func messageTime(n int) time.Time {
	return messageDate.Add(time.Duration(n%100_000) * time.Minute)
}

// Message builds a deterministic RFC 5322 message of about size octets
// (at least a header's worth) with CRLF line endings: the same (seed, n,
// to) give the same octets, so that servers compared get the same data.
func Message(seed uint64, n int, to string, size int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	sender := senders[r.IntN(len(senders))]
	var b bytes.Buffer
	b.Grow(size + 512)
	fmt.Fprintf(&b, "From: %s <%s@example.net>\r\n", sender, senderLocal(sender))
	fmt.Fprintf(&b, "To: <%s>\r\n", to)
	b.WriteString("Subject: ")
	for i := range 3 + r.IntN(4) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[r.IntN(len(vocabulary))])
	}
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "Date: %s\r\n", messageTime(n).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <load.%d.%d.%0*d@loadgen.invalid>\r\n", seed, n, seqWidth, 0)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	line := 0
	for b.Len() < size-2 {
		w := vocabulary[r.IntN(len(vocabulary))]
		if line+len(w)+1 > 72 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func senderLocal(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == ' ':
			b[i] = '.'
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// stampedMessage is a message sent many times, each copy with its own
// number in the Message-ID (a field of seqWidth digits rewritten in
// place).
type stampedMessage struct {
	buf []byte
	at  int // offset of the sequence field
}

func newStampedMessage(msg []byte) *stampedMessage {
	i := bytes.Index(msg, []byte("@loadgen.invalid>"))
	if i < seqWidth {
		panic("loadgen: message without a sequence field")
	}
	return &stampedMessage{buf: bytes.Clone(msg), at: i - seqWidth}
}

// stamp writes seq into the message and returns it; the slice is valid
// until the next stamp.
func (m *stampedMessage) stamp(seq uint64) []byte {
	var d [20]byte
	s := strconv.AppendUint(d[:0], seq, 10)
	f := m.buf[m.at : m.at+seqWidth]
	for i := range f {
		f[i] = '0'
	}
	if len(s) > seqWidth {
		s = s[len(s)-seqWidth:]
	}
	copy(f[seqWidth-len(s):], s)
	return m.buf
}

// preloadSize is the size of the n-th preloaded message: mostly a few
// kilobytes, some larger, as in a real mailbox (about 11 KB on average).
func preloadSize(seed uint64, n int) int {
	sizes := [...]int{3000, 5000, 8000, 10000, 12000, 16000, 25000}
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(n)))
	return sizes[r.IntN(len(sizes))]
}

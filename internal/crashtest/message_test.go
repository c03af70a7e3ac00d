//go:build linux

package crashtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sent is a message the test sent, described by what the store must keep
// of it: the CRLF-normalized octets (RFC 5322 section 2.3 line endings,
// which the store writes for bare LF), as a size and a SHA-256.
type sent struct {
	id    string   // unique, also in the Message-ID field
	size  int64    // octets stored
	sum   [32]byte // SHA-256 of the octets stored
	flags string   // canonical flags given with APPEND
}

func (s *sent) String() string { return s.id }

// storedForm is what the store keeps of a message as sent: every LF not
// preceded by CR becomes CRLF; nothing else changes.
func storedForm(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(raw)/32)
	for i, b := range raw {
		if b == '\n' && (i == 0 || raw[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	return out
}

func TestStoredForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\r\n\nb", "a\r\n\r\nb"},
		{"a\rb\n", "a\rb\r\n"}, // a bare CR stays
		{"a\r\r\n", "a\r\r\n"},
	}
	for _, tt := range tests {
		if got := string(storedForm([]byte(tt.in))); got != tt.want {
			t.Errorf("storedForm(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// canonFlags is the form in which flags are compared: sorted, without
// \Recent (session state, RFC 3501 section 2.3.2), space-separated.
func canonFlags(flags []string) string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// lineEnding is how a generated message ends its lines.
type lineEnding int

const (
	endCRLF  lineEnding = iota
	endLF               // bare LF throughout: the store must normalize
	endMixed            // a random mix within one message
)

// textAlphabet is what body lines are made of: printable ASCII, no NUL,
// no CR or LF.
const textAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_!?()[]<>/=+*'\"#%&@"

// newMessage makes a random RFC 5322 message of about size octets (as
// sent), identified by id, as text/plain or as a multipart/mixed with a
// base64 attachment.
func newMessage(r *rand.Rand, id string, size int) []byte {
	ending := lineEnding(r.IntN(3))
	var b bytes.Buffer
	b.Grow(size + 512)
	nl := func() {
		switch {
		case ending == endCRLF, ending == endMixed && r.IntN(2) == 0:
			b.WriteString("\r\n")
		default:
			b.WriteString("\n")
		}
	}
	header := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		nl()
	}
	header("From: Crash Test <crash@example.org>")
	header("To: Alice <alice@example.org>")
	header("Subject: crash test message %s", id)
	header("Date: Mon, 23 Nov 2026 10:%02d:%02d +0100", r.IntN(60), r.IntN(60))
	header("Message-ID: <%s@crash.example.org>", id)
	header("MIME-Version: 1.0")
	multipart := r.IntN(4) == 0
	boundary := "b-" + id
	if multipart {
		header(`Content-Type: multipart/mixed; boundary="%s"`, boundary)
		nl()
		header("--%s", boundary)
		header("Content-Type: text/plain; charset=us-ascii")
		nl()
	} else {
		header("Content-Type: text/plain; charset=us-ascii")
		nl()
	}
	textLines := func(limit int) {
		for b.Len() < limit {
			n := 1 + r.IntN(120)
			if r.IntN(20) == 0 {
				n = 0 // empty lines too
			}
			for range n {
				b.WriteByte(textAlphabet[r.IntN(len(textAlphabet))])
			}
			nl()
		}
	}
	if !multipart {
		textLines(size)
		return b.Bytes()
	}
	textLines(b.Len() + (size-b.Len())/3)
	header("--%s", boundary)
	header("Content-Type: application/octet-stream")
	header("Content-Transfer-Encoding: base64")
	header(`Content-Disposition: attachment; filename="data-%s.bin"`, id)
	nl()
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for b.Len() < size {
		for range 76 {
			b.WriteByte(b64[r.IntN(len(b64))])
		}
		nl()
	}
	header("--%s--", boundary)
	return b.Bytes()
}

// randomSize picks a size log-uniformly in [lo, hi], so that small
// messages, the common case, are common, and large ones still come.
func randomSize(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	x := math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))
	return int(math.Exp(x))
}

// describe returns the sent record of a raw message.
func describe(id string, raw []byte, flags []string) *sent {
	st := storedForm(raw)
	return &sent{id: id, size: int64(len(st)), sum: sha256.Sum256(st), flags: canonFlags(flags)}
}

func TestNewMessage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		size := randomSize(r, 1<<10, 200<<10)
		if size < 1<<10 || size > 200<<10 {
			t.Fatalf("randomSize = %d, outside [1 KiB, 200 KiB]", size)
		}
		id := fmt.Sprintf("m%d", i)
		raw := newMessage(r, id, size)
		if len(raw) < size || len(raw) > size+512 {
			t.Errorf("message %s: %d octets, asked for %d", id, len(raw), size)
		}
		if bytes.IndexByte(raw, 0) >= 0 || bytes.Contains(raw, []byte("\r\r")) {
			t.Errorf("message %s has NUL or CR CR", id)
		}
		if !bytes.Contains(raw, []byte("Message-ID: <"+id+"@")) {
			t.Errorf("message %s lacks its Message-ID", id)
		}
		if st := storedForm(raw); bytes.Contains(bytes.ReplaceAll(st, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("message %s: stored form has a bare LF", id)
		}
	}
}

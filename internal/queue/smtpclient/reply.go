package smtpclient

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is one SMTP reply (RFC 5321 section 4.2): its code, the enhanced
// status code when the server gave one (RFC 2034, RFC 3463), and the text
// of each line without either.
type Reply struct {
	Code     int
	Enhanced string // "2.1.5"; "" when absent
	Lines    []string
}

// Error makes a negative reply (4xx, 5xx) usable as an error.
func (r *Reply) Error() string {
	return r.String()
}

// String is the reply as one line: "550 5.1.1 no such user".
func (r *Reply) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(r.Code))
	if r.Enhanced != "" {
		b.WriteByte(' ')
		b.WriteString(r.Enhanced)
	}
	if t := r.Text(); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	return b.String()
}

// Text is the lines' text joined by spaces.
func (r *Reply) Text() string {
	return strings.Join(r.Lines, " ")
}

// Positive reports a 2xx or 3xx reply.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// Temporary reports a 4xx reply (RFC 5321 section 4.2.1).
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports a 5xx reply.
func (r *Reply) Permanent() bool { return r.Code >= 500 }

// Limits of what a reply may hold: RFC 5321 section 4.5.3.1.5 bounds a
// reply line at 512 octets; servers exceed it, so allow generously, but
// bound memory against a hostile server.
const (
	maxReplyLine  = 4096
	maxReplyLines = 128
)

// ErrMalformedReply is a reply that does not follow RFC 5321 section 4.2.
var ErrMalformedReply = errors.New("smtpclient: malformed reply")

// readReply reads one reply, possibly multiline.
func readReply(br *bufio.Reader) (*Reply, error) {
	r := &Reply{}
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			r.Code = code
		} else if code != r.Code {
			return nil, fmt.Errorf("%w: code %d in a reply that began with %d", ErrMalformedReply, code, r.Code)
		}
		if n >= maxReplyLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrMalformedReply, maxReplyLines)
		}
		r.Lines = append(r.Lines, text)
		if !more {
			break
		}
	}
	r.Enhanced, r.Lines = splitEnhanced(r.Code, r.Lines)
	return r, nil
}

// readLine reads a line ending in LF (CRLF expected, LF tolerated),
// without the ending.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxReplyLine {
			return "", fmt.Errorf("%w: line longer than %d octets", ErrMalformedReply, maxReplyLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// parseReplyLine splits "250-text" or "250 text" or "250".
func parseReplyLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, line)
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, line)
		}
	}
	// RFC 5321 section 4.2: the first digit is 2 to 5, the second 0 to 5.
	if line[0] < '2' || line[0] > '5' || line[1] > '5' {
		return 0, false, "", fmt.Errorf("%w: reply code %q", ErrMalformedReply, line[:3])
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case len(line) == 3:
		return code, false, "", nil
	case line[3] == '-':
		return code, true, line[4:], nil
	case line[3] == ' ':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, line)
}

// splitEnhanced takes the enhanced status code off every line (RFC 2034
// section 4 puts it at the start of each), when the first line has one
// whose class matches the reply code.
func splitEnhanced(code int, lines []string) (string, []string) {
	first, _, _ := strings.Cut(lines[0], " ")
	if !validEnhanced(first) || int(first[0]-'0') != code/100 {
		return "", lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, first); ok && (rest == "" || rest[0] == ' ') {
			l = strings.TrimPrefix(rest, " ")
		}
		out[i] = l
	}
	return first, out
}

// validEnhanced checks class "." subject "." detail (RFC 3463 section 2):
// class 2, 4 or 5, subject and detail of 1 to 3 digits.
func validEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

package check

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Parsers of what servers answer before login: IMAP status responses and
// capabilities, POP3 status lines and multi-line responses, SMTP replies
// and EHLO keywords. They are lenient where servers differ harmlessly
// (case, extra spaces) and strict where a client would stumble.

// imapResponse is one IMAP response line (RFC 9051 section 7).
type imapResponse struct {
	// Tag is "*" for untagged responses, "+" for continuation requests,
	// else the tag of the command it completes.
	Tag string
	// Kind is the upper-cased first word after the tag: OK, NO, BAD,
	// PREAUTH, BYE, or a data name such as CAPABILITY.
	Kind string
	// Code and CodeArgs are a status response's code ("[CAPABILITY
	// IMAP4rev1 ...]" gives "CAPABILITY" and "IMAP4rev1 ...").
	Code     string
	CodeArgs string
	// Text is what follows (the human-readable text, or the data).
	Text string
}

var errMalformed = errors.New("malformed response")

// parseIMAPResponse splits a response line.
func parseIMAPResponse(line string) (imapResponse, error) {
	var r imapResponse
	tag, rest, _ := strings.Cut(line, " ")
	if tag == "" {
		return r, fmt.Errorf("%w: %q", errMalformed, clip(line))
	}
	r.Tag = tag
	if tag == "+" {
		r.Text = rest
		return r, nil
	}
	kind, rest, _ := strings.Cut(rest, " ")
	if kind == "" || !isAtom(kind) {
		return r, fmt.Errorf("%w: %q", errMalformed, clip(line))
	}
	r.Kind = strings.ToUpper(kind)
	switch r.Kind {
	case "OK", "NO", "BAD", "PREAUTH", "BYE":
		// resp-text = ["[" resp-text-code "]" SP] [text]
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return r, fmt.Errorf("%w: unterminated response code in %q", errMalformed, clip(line))
			}
			code := rest[1:end]
			name, args, _ := strings.Cut(code, " ")
			if name == "" || !isAtom(name) {
				return r, fmt.Errorf("%w: response code in %q", errMalformed, clip(line))
			}
			r.Code, r.CodeArgs = strings.ToUpper(name), args
			rest = strings.TrimPrefix(rest[end+1:], " ")
		}
	}
	r.Text = rest
	return r, nil
}

// isAtom reports whether s is an IMAP atom (RFC 9051 section 9: no
// atom-specials).
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// parseCapabilities splits a capability list into upper-case names,
// without duplicates, in the server's order. Tokens that are not atoms
// are dropped: no real capability has them.
func parseCapabilities(s string) []string {
	var out []string
	for _, c := range strings.Fields(s) {
		c = strings.ToUpper(c)
		if isAtom(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// imapSASL returns the SASL mechanisms among IMAP capabilities (AUTH=).
func imapSASL(caps []string) []string {
	var out []string
	for _, c := range caps {
		if m, ok := strings.CutPrefix(c, "AUTH="); ok && m != "" {
			out = append(out, m)
		}
	}
	return out
}

// parsePOP3Status reads "+OK text" or "-ERR text" (RFC 1939 section 3).
func parsePOP3Status(line string) (ok bool, text string, err error) {
	word, text, _ := strings.Cut(line, " ")
	switch strings.ToUpper(word) {
	case "+OK":
		return true, text, nil
	case "-ERR":
		return false, text, nil
	}
	return false, "", fmt.Errorf("%w: %q is not +OK or -ERR", errMalformed, clip(line))
}

// maxMultiLines bounds a POP3 multi-line response or SMTP reply: CAPA
// lists and EHLO replies have a few dozen lines.
const maxMultiLines = 1000

// readPOP3Multi reads the lines of a multi-line response up to the
// terminating ".", removing byte-stuffing (RFC 1939 section 3).
func readPOP3Multi(r *bufio.Reader) ([]string, error) {
	var out []string
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if line == "." {
			return out, nil
		}
		if len(out) == maxMultiLines {
			return nil, fmt.Errorf("%w: more than %d lines", errMalformed, maxMultiLines)
		}
		out = append(out, strings.TrimPrefix(line, "."))
	}
}

// parsePOP3Capa turns CAPA lines into upper-case tags with their
// arguments ("SASL PLAIN LOGIN" gives SASL: "PLAIN LOGIN").
func parsePOP3Capa(lines []string) (names []string, args map[string]string) {
	args = make(map[string]string)
	for _, l := range lines {
		name, arg, _ := strings.Cut(strings.TrimSpace(l), " ")
		name = strings.ToUpper(name)
		if name == "" || slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
		args[name] = strings.TrimSpace(arg)
	}
	return names, args
}

// smtpReply is a complete, possibly multi-line, SMTP reply.
type smtpReply struct {
	Code  int
	Lines []string // text of each line, after "NNN-" or "NNN "
}

// Text joins the reply's lines.
func (r smtpReply) Text() string { return strings.Join(r.Lines, " ") }

func (r smtpReply) String() string { return strconv.Itoa(r.Code) + " " + clip(r.Text()) }

// parseSMTPLine splits one reply line: three digits, then "-" on all
// lines but the last, " " or nothing on the last (RFC 5321 section
// 4.2).
func parseSMTPLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' {
		return 0, false, "", fmt.Errorf("%w: %q is not an SMTP reply", errMalformed, clip(line))
	}
	code, _ = strconv.Atoi(line[:3])
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case '-':
		more = true
	case ' ':
	default:
		return 0, false, "", fmt.Errorf("%w: %q is not an SMTP reply", errMalformed, clip(line))
	}
	return code, more, line[4:], nil
}

// readSMTPReply reads one reply; all its lines must carry the same code.
func readSMTPReply(r *bufio.Reader) (smtpReply, error) {
	var reply smtpReply
	for {
		line, err := readLine(r)
		if err != nil {
			return smtpReply{}, err
		}
		code, more, text, err := parseSMTPLine(line)
		if err != nil {
			return smtpReply{}, err
		}
		if reply.Lines != nil && code != reply.Code {
			return smtpReply{}, fmt.Errorf("%w: reply code changed from %d to %d", errMalformed, reply.Code, code)
		}
		reply.Code = code
		reply.Lines = append(reply.Lines, text)
		if !more {
			return reply, nil
		}
		if len(reply.Lines) == maxMultiLines {
			return smtpReply{}, fmt.Errorf("%w: more than %d lines", errMalformed, maxMultiLines)
		}
	}
}

// parseEHLO returns the keywords of an EHLO reply, upper case, with
// their parameters (RFC 5321 section 4.1.1.1: the first line greets,
// each later line is "keyword [params]"). "AUTH=LOGIN" lines of old
// servers are read as AUTH.
func parseEHLO(lines []string) (names []string, params map[string]string) {
	params = make(map[string]string)
	for i, l := range lines {
		if i == 0 {
			continue
		}
		kw, p, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k, v, ok := strings.Cut(kw, "="); ok && strings.EqualFold(k, "AUTH") {
			kw, p = k, strings.TrimSpace(v+" "+p)
		}
		kw = strings.ToUpper(kw)
		if kw == "" || !isEHLOKeyword(kw) {
			continue
		}
		if _, dup := params[kw]; dup {
			if kw == "AUTH" { // merge "AUTH PLAIN" and "AUTH=LOGIN"
				params[kw] = strings.TrimSpace(params[kw] + " " + p)
			}
			continue
		}
		names = append(names, kw)
		params[kw] = strings.TrimSpace(p)
	}
	return names, params
}

// isEHLOKeyword: ALPHA / DIGIT then ALPHA / DIGIT / "-" (RFC 5321 section
// 4.1.1.1).
func isEHLOKeyword(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return s != ""
}

// clip makes server text safe and short for reports: control
// characters (a hostile server could send terminal escapes) become "?",
// invalid UTF-8 is replaced, and more than 120 characters are cut.
func clip(s string) string {
	const n = 120
	s = strings.ToValidUTF8(s, "?")
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("...")
			break
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			r = '?'
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}

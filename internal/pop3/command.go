package pop3

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// command is one command line (RFC 1939 section 3, RFC 2449 section 3):
//
//	command = keyword *(SP param) CRLF
//	keyword = 3*4VCHAR
//	param   = 1*VCHAR
type command struct {
	// name is the keyword in upper case (keywords are case-insensitive).
	name string
	// args are the parameters. Runs of spaces separate them, and
	// trailing spaces are ignored, as clients in the wild send both.
	args []string
	// rest is the line after the keyword and the one space that follows
	// it, verbatim: PASS takes it whole, so that a password may hold
	// spaces (RFC 1939 section 7).
	rest string
}

// maxKeyword bounds a keyword. RFC 1939 keywords have 3 or 4 characters;
// a longer one is still reported as unknown by name, up to this length.
const maxKeyword = 16

// syntaxError is a line that is not a command.
type syntaxError string

func (e syntaxError) Error() string { return string(e) }

// parseCommand parses a line without its CRLF. Parameters may be UTF-8
// (RFC 6856 section 2.2: user names and passwords); control characters
// are refused everywhere.
func parseCommand(line []byte) (command, error) {
	if len(line) == 0 {
		return command{}, syntaxError("Empty command line")
	}
	kw, rest, hasRest := bytes.Cut(line, []byte{' '})
	if len(kw) == 0 {
		return command{}, syntaxError("Command line begins with a space")
	}
	if len(kw) > maxKeyword {
		return command{}, syntaxError("Unknown command")
	}
	for _, b := range kw {
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return command{}, syntaxError("Malformed command name")
		}
	}
	for _, b := range rest {
		if b < ' ' || b == 0x7f {
			return command{}, syntaxError("Control character in command line")
		}
	}
	if !utf8.Valid(rest) {
		return command{}, syntaxError("Command line is not valid UTF-8")
	}
	cmd := command{name: strings.ToUpper(string(kw))}
	if hasRest {
		cmd.rest = string(rest)
		cmd.args = strings.FieldsFunc(cmd.rest, isSpace)
	}
	return cmd, nil
}

func isSpace(r rune) bool { return r == ' ' }

// parseNumber parses a non-negative decimal parameter: digits only, at
// most 10 of them (a message number or TOP's line count).
func parseNumber(s string) (int64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"postfach/internal/auth"
)

// readPassword reads a new password: the first line of standard input
// when it is not a terminal, else two prompts without echo (on standard
// error, so that standard output stays clean).
func (a *app) readPassword(address string) (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return a.promptPassword(int(f.Fd()), address)
	}
	return readPasswordLine(a.stdin)
}

// readPasswordLine reads one line, without its LF or CRLF. Reading stops
// a little past the longest password allowed.
func readPasswordLine(r io.Reader) (string, error) {
	br := bufio.NewReader(io.LimitReader(r, auth.MaxPasswordLen+3))
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) > auth.MaxPasswordLen {
		return "", fmt.Errorf("password is longer than %d octets", auth.MaxPasswordLen)
	}
	switch {
	case len(line) >= 2 && line[len(line)-2:] == "\r\n":
		line = line[:len(line)-2]
	case len(line) >= 1 && line[len(line)-1] == '\n':
		line = line[:len(line)-1]
	}
	if line == "" {
		return "", errors.New("no password on standard input (give it as one line)")
	}
	return line, nil
}

// promptPassword asks twice on the terminal. An interrupt (ctx) restores
// the terminal's echo before giving up.
func (a *app) promptPassword(fd int, address string) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(a.stderr, prompt)
		type result struct {
			b   []byte
			err error
		}
		c := make(chan result, 1)
		go func() {
			b, err := term.ReadPassword(fd)
			c <- result{b, err}
		}()
		select {
		case r := <-c:
			fmt.Fprintln(a.stderr)
			return string(r.b), r.err
		case <-a.ctx.Done():
			term.Restore(fd, state)
			fmt.Fprintln(a.stderr)
			return "", errors.New("interrupted")
		}
	}
	pw, err := ask(fmt.Sprintf("New password for %s: ", address))
	if err != nil {
		return "", err
	}
	if err := auth.CheckPassword(pw); err != nil {
		return "", err
	}
	again, err := ask("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords do not match")
	}
	return pw, nil
}

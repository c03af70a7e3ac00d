package pop3

import (
	"context"
	"errors"
	"fmt"
)

type handler func(c *session, ctx context.Context, cmd *command) error

// commandDef describes one command: its handler and the states it is
// allowed in (RFC 1939 sections 4 to 7, RFC 2449 section 5).
type commandDef struct {
	run    handler
	states state
}

const anyState = stateAuthorization | stateTransaction

// commands is the dispatch table. It is never written after init.
var commands map[string]commandDef

func init() {
	// Filled in init to break the initialization cycle between the table
	// and handlers that consult it.
	commands = map[string]commandDef{
		"CAPA": {run: (*session).cmdCapa, states: anyState},
		"QUIT": {run: (*session).cmdQuit, states: anyState},
		"STLS": {run: (*session).cmdStls, states: stateAuthorization},
		"USER": {run: (*session).cmdUser, states: stateAuthorization},
		"PASS": {run: (*session).cmdPass, states: stateAuthorization},
		"AUTH": {run: (*session).cmdAuth, states: stateAuthorization},
		"APOP": {run: (*session).cmdApop, states: stateAuthorization},
		"UTF8": {run: (*session).cmdUTF8, states: stateAuthorization},
		"STAT": {run: (*session).cmdStat, states: stateTransaction},
		"LIST": {run: (*session).cmdList, states: stateTransaction},
		"UIDL": {run: (*session).cmdList, states: stateTransaction},
		"RETR": {run: (*session).cmdRetr, states: stateTransaction},
		"TOP":  {run: (*session).cmdTop, states: stateTransaction},
		"DELE": {run: (*session).cmdDele, states: stateTransaction},
		"NOOP": {run: (*session).cmdNoop, states: stateTransaction},
		"RSET": {run: (*session).cmdRset, states: stateTransaction},
	}
}

// execute runs one command and writes its response; it reports whether
// the session goes on.
func (c *session) execute(ctx context.Context, cmd *command) bool {
	def, ok := commands[cmd.name]
	switch {
	case !ok:
		return c.refuse("", "Unknown command: "+cmd.name)
	case def.states&c.state == 0:
		return c.refuse("", wrongState(c.state, cmd.name))
	}
	// Only the name: arguments may hold passwords.
	c.log.Debug("command", "name", cmd.name)
	err := def.run(c, ctx, cmd)
	if err == nil {
		c.bad = 0
		return c.state != stateDone
	}
	var re *respError
	switch {
	case errors.Is(err, errClose):
		c.bw.Flush()
		return false
	case errors.As(err, &re) && re.syntax:
		return c.refuse(re.code, re.text) && !re.close
	}
	c.failed(cmd.name, err)
	if re != nil && re.close {
		c.bw.Flush()
		return false
	}
	return c.state != stateDone
}

func wrongState(s state, name string) string {
	if s == stateAuthorization {
		return name + " needs authentication first"
	}
	return name + " is not allowed once authenticated"
}

// respError is an -ERR the handler chose.
type respError struct {
	code string // RFC 2449 section 8 response code, or ""
	text string
	// syntax marks a malformed command: it counts toward MaxBadCommands.
	syntax bool
	// close ends the session after the response.
	close bool
}

func (e *respError) Error() string { return "-ERR " + e.text }

func errResp(code, text string) error { return &respError{code: code, text: text} }

func errSyntax(format string, args ...any) error {
	return &respError{text: fmt.Sprintf(format, args...), syntax: true}
}

// errClose ends the connection: the handler wrote what there was to
// write, or the connection is broken.
var errClose = errors.New("pop3: connection ends")

// failed maps a handler's error to the -ERR response: the one place
// where store and auth errors become POP3 response codes (RFC 2449
// section 8, RFC 3206).
func (c *session) failed(name string, err error) {
	var re *respError
	switch {
	case errors.As(err, &re):
		c.err(re.code, re.text)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		c.err("SYS/TEMP", "Server shutting down")
	default:
		c.log.Error("command failed", "command", name, "err", err)
		c.err("SYS/TEMP", name+" failed; try again later")
	}
}

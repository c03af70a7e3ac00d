package imap

import (
	"context"
	"errors"
	"strings"

	"postfach/internal/imap/wire"
	"postfach/internal/store"
)

type handler func(c *session, ctx context.Context, cmd *wire.Command) error

// command describes one IMAP command.
type command struct {
	run    handler
	states state // states in which the command is allowed
	// uid is true when a UID form exists (UID FETCH, ...).
	uid bool
	// seqBound marks commands whose answer relies on message sequence
	// numbers: while answering them the server must not send EXPUNGE
	// (RFC 9051 section 7.5.1). Their UID forms are free of this rule.
	seqBound bool
}

const (
	anyState      = stateNotAuthenticated | stateAuthenticated | stateSelected
	authenticated = stateAuthenticated | stateSelected
)

var commands map[string]command

func init() {
	// The table is filled in init to break the initialization cycle
	// between the table and handlers that consult it.
	commands = map[string]command{
		"CAPABILITY":     {run: (*session).cmdCapability, states: anyState},
		"NOOP":           {run: (*session).cmdNoop, states: anyState},
		"LOGOUT":         {run: (*session).cmdLogout, states: anyState},
		"ID":             {run: (*session).cmdID, states: anyState},
		"STARTTLS":       {run: (*session).cmdStartTLS, states: stateNotAuthenticated},
		"LOGIN":          {run: (*session).cmdLogin, states: stateNotAuthenticated},
		"AUTHENTICATE":   {run: (*session).cmdAuthenticate, states: stateNotAuthenticated},
		"ENABLE":         {run: (*session).cmdEnable, states: authenticated},
		"COMPRESS":       {run: (*session).cmdCompress, states: authenticated},
		"NOTIFY":         {run: (*session).cmdNotify, states: authenticated},
		"GETMETADATA":    {run: (*session).cmdGetMetadata, states: authenticated},
		"SETMETADATA":    {run: (*session).cmdSetMetadata, states: authenticated},
		"GETQUOTA":       {run: (*session).cmdGetQuota, states: authenticated},
		"GETQUOTAROOT":   {run: (*session).cmdGetQuotaRoot, states: authenticated},
		"SETQUOTA":       {run: (*session).cmdSetQuota, states: authenticated},
		"UNAUTHENTICATE": {run: (*session).cmdUnauthenticate, states: authenticated},
		"SELECT":         {run: (*session).cmdSelect, states: authenticated},
		"EXAMINE":        {run: (*session).cmdSelect, states: authenticated},
		"CREATE":         {run: (*session).cmdCreate, states: authenticated},
		"DELETE":         {run: (*session).cmdDelete, states: authenticated},
		"RENAME":         {run: (*session).cmdRename, states: authenticated},
		"SUBSCRIBE":      {run: (*session).cmdSubscribe, states: authenticated},
		"UNSUBSCRIBE":    {run: (*session).cmdSubscribe, states: authenticated},
		"LIST":           {run: (*session).cmdList, states: authenticated},
		"LSUB":           {run: (*session).cmdLsub, states: authenticated},
		"NAMESPACE":      {run: (*session).cmdNamespace, states: authenticated},
		"STATUS":         {run: (*session).cmdStatus, states: authenticated},
		"APPEND":         {run: (*session).cmdAppend, states: authenticated},
		"IDLE":           {run: (*session).cmdIdle, states: authenticated},
		"CHECK":          {run: (*session).cmdNoop, states: stateSelected},
		"CLOSE":          {run: (*session).cmdClose, states: stateSelected},
		"UNSELECT":       {run: (*session).cmdClose, states: stateSelected},
		"EXPUNGE":        {run: (*session).cmdExpunge, states: stateSelected, uid: true},
		"SEARCH":         {run: (*session).cmdSearch, states: stateSelected, uid: true, seqBound: true},
		"ESEARCH":        {run: (*session).cmdESearch, states: authenticated},
		"SORT":           {run: (*session).cmdSort, states: stateSelected, uid: true, seqBound: true},
		"REPLACE":        {run: (*session).cmdReplace, states: stateSelected, uid: true},
		"THREAD":         {run: (*session).cmdThread, states: stateSelected, uid: true, seqBound: true},
		"FETCH":          {run: (*session).cmdFetch, states: stateSelected, uid: true, seqBound: true},
		"STORE":          {run: (*session).cmdStore, states: stateSelected, uid: true, seqBound: true},
		"COPY":           {run: (*session).cmdCopy, states: stateSelected, uid: true},
		"MOVE":           {run: (*session).cmdCopy, states: stateSelected, uid: true},
	}
}

// execute runs one command and writes its tagged response.
func (c *session) execute(ctx context.Context, cmd *wire.Command) {
	defer closeLiterals(cmd)
	def, ok := commands[cmd.Name]
	switch {
	case !ok || (cmd.UID && !def.uid):
		c.statusLine(cmd.Tag, "BAD", "", "Unknown command")
		return
	case def.states&c.state == 0:
		c.statusLine(cmd.Tag, "BAD", "", wrongState(c.state, cmd.Name))
		return
	}
	if err := c.uidOnlyRefusal(cmd); err != nil {
		c.failed(cmd.Tag, cmd.Name, err)
		return
	}
	c.okCode = ""
	// Only the tag and the name: arguments may hold passwords and mail.
	c.log.Debug("command", "tag", cmd.Tag, "name", cmd.Name, "uid", cmd.UID)
	err := def.run(c, ctx, cmd)
	var se errStream
	if errors.As(err, &se) {
		// A response broke off inside a literal: the client cannot
		// parse anything after it.
		c.log.Error("response aborted", "command", cmd.Name, "err", err)
		c.state = stateLogout
		return
	}
	name := cmd.Name
	if cmd.UID {
		name = "UID " + name
	}
	c.complete(ctx, cmd.Tag, name, !def.seqBound || cmd.UID, err)
}

// complete ends a command, IDLE after its DONE included: it reports what
// other sessions changed before the tagged response, so that the client
// sees it now (RFC 9051 section 7: untagged data may accompany any
// command), then writes the tagged response unless the handler wrote it
// itself (errAnswered). allowExpunge is false while the command's answer
// relies on message sequence numbers (RFC 9051 section 7.5.1).
//
// It is the one place where a BYE ends the session, whoever wrote it: the
// handler (LOGOUT, or errBye) or the report of changes (the selected
// mailbox or the account was deleted meanwhile). The report comes after
// the handler's own outcome and outranks it, also when the handler
// already answered (AUTHENTICATE, STARTTLS, COMPRESS, IDLE's
// continuation). No tagged response follows a BYE that is not part of
// LOGOUT: the server closes the connection (RFC 9051 section 7.1.5).
func (c *session) complete(ctx context.Context, tag, name string, allowExpunge bool, err error) {
	if !c.ending(err) {
		if serr := c.syncSelected(ctx, allowExpunge, false); serr != nil && err == nil {
			err = serr
		}
	}
	switch {
	case c.ending(err):
		c.state = stateLogout
	case errors.Is(err, errAnswered):
	case err != nil:
		c.failed(tag, name, err)
	default:
		c.statusLine(tag, "OK", c.okCode, name+" completed")
	}
}

// ending reports whether the session ends after a command that returned
// err: it logged out, it said BYE (bye), or its connection failed
// (errBye).
func (c *session) ending(err error) bool {
	return c.state == stateLogout || c.byeSent || errors.Is(err, errBye)
}

func wrongState(s state, name string) string {
	switch s {
	case stateNotAuthenticated:
		return name + " needs authentication first"
	case stateAuthenticated:
		if commands[name].states == stateSelected {
			return name + " needs a selected mailbox"
		}
		return name + " is not allowed once authenticated"
	default:
		return name + " is not allowed in this state"
	}
}

func closeLiterals(cmd *wire.Command) {
	if a, ok := cmd.Args.(*wire.ReplaceArgs); ok {
		a.Message.Close()
	}
	if a, ok := cmd.Args.(*wire.AppendArgs); ok {
		for _, m := range a.Messages {
			m.Close()
		}
	}
}

// respError is a NO or BAD the handler chose.
type respError struct {
	status string // "NO" or "BAD"
	code   string
	text   string
}

func (e *respError) Error() string { return e.status + " " + e.text }

func errNo(code, text string) error  { return &respError{"NO", code, text} }
func errBad(code, text string) error { return &respError{"BAD", code, text} }

// errBye ends the connection after an untagged BYE already sent.
var errBye = errors.New("imap: connection ends")

// failed maps a handler's error to the tagged response: the one place where
// store errors become IMAP response codes (RFC 5530).
func (c *session) failed(tag, name string, err error) {
	var re *respError
	switch {
	case errors.As(err, &re):
		c.statusLine(tag, re.status, re.code, re.text)
	case errors.Is(err, store.ErrNotFound):
		c.statusLine(tag, "NO", "NONEXISTENT", "No such mailbox")
	case errors.Is(err, store.ErrExists):
		c.statusLine(tag, "NO", "ALREADYEXISTS", "Mailbox already exists")
	case errors.Is(err, store.ErrInvalidName):
		c.statusLine(tag, "NO", "CANNOT", "Invalid mailbox name")
	case errors.Is(err, store.ErrNotAllowed):
		c.statusLine(tag, "NO", "CANNOT", "Not allowed: "+strings.TrimPrefix(err.Error(), "store: "))
	case errors.Is(err, store.ErrOverQuota):
		c.statusLine(tag, "NO", "OVERQUOTA", "Quota exceeded")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		c.statusLine(tag, "NO", "UNAVAILABLE", "Server shutting down")
	default:
		c.log.Error("command failed", "command", name, "err", err)
		c.statusLine(tag, "NO", "SERVERBUG", name+" failed; the error is logged")
	}
}

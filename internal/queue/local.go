package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// LocalDeliverer puts messages into local mailboxes; internal/deliver
// implements it. The queue offers it every recipient before trying SMTP:
// the DSNs the queue writes to local senders, and mail the SMTP server
// queued for a local recipient whose delivery failed temporarily. It
// sends by SMTP only what is not local (ErrNotLocal).
type LocalDeliverer interface {
	// DeliverLocal delivers msg (size octets, CRLF line endings) to the
	// mailboxes of the local address to, with returnPath (the envelope
	// sender; "" for a DSN) as its Return-Path, durably before it
	// returns nil. It returns ErrNotLocal when to is not local (its
	// domain is elsewhere, or an alias sends it elsewhere only); an
	// *Error (or an error with a Temporary() bool method) says whether a
	// failure is worth retrying. Any other error is taken as temporary.
	DeliverLocal(ctx context.Context, returnPath, to string, msg io.ReaderAt, size int64) error
}

// ErrNotLocal is returned by a LocalDeliverer for an address in a domain
// the server does not host.
var ErrNotLocal = errors.New("queue: address is not local")

// ErrNotFound is returned for a queue ID that is not (or no longer) in the
// queue.
var ErrNotFound = errors.New("queue: no such message")

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("queue: closed")

// Error is a delivery failure as SMTP words it: the reply code, the
// enhanced status code (RFC 3463) and the text. A code of 5xx is
// permanent, anything else temporary. It is what DSNs report.
type Error struct {
	Code     int
	Enhanced string // "5.1.1"; "" when the remote gave none
	Text     string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Code))
	if e.Enhanced != "" {
		b.WriteByte(' ')
		b.WriteString(e.Enhanced)
	}
	if e.Text != "" {
		b.WriteByte(' ')
		b.WriteString(e.Text)
	}
	return b.String()
}

// Temporary reports whether a later attempt may succeed.
func (e *Error) Temporary() bool { return e.Code < 500 }

// status returns the enhanced status code to report, derived from the
// reply code when the remote gave none (RFC 3463 section 3.1: X.0.0).
func (e *Error) status() string {
	if e.Enhanced != "" {
		return e.Enhanced
	}
	if e.Code >= 500 {
		return "5.0.0"
	}
	return "4.0.0"
}

// tempErr and permErr build our own failures.
func tempErr(enhanced, format string, args ...any) *Error {
	return &Error{Code: 451, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

func permErr(enhanced, format string, args ...any) *Error {
	return &Error{Code: 550, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

// asError classifies any error of a delivery step: an *Error as it is; an
// error with Temporary() false as permanent; anything else (I/O, DNS
// timeouts, bugs) as temporary, so that nothing is bounced for a reason
// that may pass.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && !t.Temporary() {
		return permErr("5.0.0", "%v", err)
	}
	return tempErr("4.0.0", "%v", err)
}

// Package deliver is local delivery: it decides where mail for an address
// goes (accounts, aliases, catch-all addresses, subaddresses; Resolver)
// and stores received messages in local mailboxes (Deliverer). The SMTP
// and LMTP servers and the outbound queue (for local recipients and for
// delivery status notifications to local senders) all deliver through
// it, so that every message takes the path IMAP APPEND takes.
//
// Invariants:
//   - Deliver returns a recipient's success only after the message is
//     durable in that recipient's mailbox (store.Mail.Append: blob and
//     row fsynced); sessions of the account learn of it at once through
//     the store's notify events (IDLE).
//   - A message is streamed from the caller's io.ReaderAt, never loaded
//     whole. When the store offers store.SharedAppender (the SQLite store
//     does), one Deliver call stores it once for all its recipients: one
//     blob, written, synced and parsed once, and a message in each
//     recipient's mailbox, in one write; otherwise it appends to the
//     accounts concurrently, so that their writes share a group commit.
//   - Every failure is an *Error carrying the SMTP reply it calls for and
//     whether it is temporary.
//   - The package holds no mutable package-level state.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"postfach/internal/store"
)

// Store is what the Deliverer needs of the mail store.
type Store interface {
	Mail(id store.AccountID) store.Mail
}

// Options tune a Deliverer.
type Options struct {
	// Parallel bounds the concurrent appends of one Deliver call.
	// Default 8.
	Parallel int
	Logger   *slog.Logger
}

// Deliverer stores messages in local mailboxes. It is safe for concurrent
// use.
type Deliverer struct {
	store    Store
	parallel int
	log      *slog.Logger
}

// New returns a Deliverer over st.
func New(st Store, opts Options) *Deliverer {
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{store: st, parallel: opts.Parallel, log: opts.Logger}
}

// Message is a message to deliver.
type Message struct {
	// ReturnPath is the envelope sender (MAIL FROM) as RFC 5321 writes a
	// path, without angle brackets; "" for the null reverse path. Final
	// delivery records it in a Return-Path header field (RFC 5321
	// section 4.4).
	ReturnPath string
	// Body is the message as it is to be stored (trace fields the server
	// adds already prepended), Size octets.
	Body io.ReaderAt
	Size int64
}

// Mailbox names Recipient.Mailbox uses.
const (
	Inbox = "INBOX"
	Junk  = "Junk"
)

// Recipient is one local delivery: an account and the mailbox to store in.
type Recipient struct {
	Account store.AccountID
	// Mailbox is the mailbox name, Inbox when empty. A mailbox other than
	// INBOX that the account does not have (a deleted Junk) falls back to
	// INBOX: mail is never refused for want of a folder.
	Mailbox string
}

// Result is the outcome of one Recipient.
type Result struct {
	// Err is nil when the message is durable in Mailbox, else an *Error.
	Err error
	// Mailbox is where the message went; UIDValidity and UID name it
	// there.
	Mailbox     string
	UIDValidity uint32
	UID         store.UID
}

// Error is a failed delivery with the SMTP reply it calls for.
type Error struct {
	Code     int    // SMTP reply code: 4xx temporary, 5xx permanent
	Enhanced string // RFC 3463 status code, "4.2.2"
	Text     string // for the reply
	Err      error  // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("deliver: %d %s %s: %v", e.Code, e.Enhanced, e.Text, e.Err)
	}
	return fmt.Sprintf("deliver: %d %s %s", e.Code, e.Enhanced, e.Text)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying later may succeed.
func (e *Error) Temporary() bool { return e.Code/100 == 4 }

// classify turns a store error into an *Error.
func classify(err error) *Error {
	var de *Error
	switch {
	case errors.As(err, &de):
		return de
	case errors.Is(err, store.ErrOverQuota):
		// RFC 3463 X.2.2: mailbox full. Temporary: the owner may make
		// room, and the sender's queue retries for days.
		return &Error{Code: 452, Enhanced: "4.2.2", Text: "Mailbox full", Err: err}
	case errors.Is(err, store.ErrNotFound):
		// The account went between RCPT and delivery.
		return &Error{Code: 550, Enhanced: "5.1.1", Text: "Mailbox unavailable", Err: err}
	}
	return &Error{Code: 451, Enhanced: "4.3.0", Text: "Temporary local delivery failure, try again later", Err: err}
}

// Deliver stores msg in the mailbox of each recipient and returns one
// Result per recipient, in order. Recipients that name the same account
// and mailbox get the message once, and share the Result.
func (d *Deliverer) Deliver(ctx context.Context, msg Message, rcpts []Recipient) []Result {
	results := make([]Result, len(rcpts))
	type target struct {
		acct store.AccountID
		mbox string
	}
	first := make(map[target]int, len(rcpts)) // target -> index of its first recipient
	var todo []int
	for i, r := range rcpts {
		t := target{r.Account, r.Mailbox}
		if t.mbox == "" || strings.EqualFold(t.mbox, Inbox) {
			t.mbox = Inbox
		}
		if _, dup := first[t]; !dup {
			first[t] = i
			todo = append(todo, i)
		}
	}
	header := returnPath(msg.ReturnPath)
	if sa, ok := d.store.(store.SharedAppender); ok {
		d.deliverShared(ctx, sa, header, msg, rcpts, todo, results)
	} else {
		d.deliverEach(ctx, header, msg, rcpts, todo, results)
	}
	for i, r := range rcpts {
		t := target{r.Account, r.Mailbox}
		if t.mbox == "" || strings.EqualFold(t.mbox, Inbox) {
			t.mbox = Inbox
		}
		if j := first[t]; j != i {
			results[i] = results[j]
		}
	}
	return results
}

// deliverShared stores the message once for the recipients of todo
// (indexes into rcpts), in one store.SharedAppender call, and sets their
// results. A mailbox that went between its lookup and the append is
// looked up again, falling back to INBOX, by deliverOne.
func (d *Deliverer) deliverShared(ctx context.Context, sa store.SharedAppender, header string, msg Message, rcpts []Recipient, todo []int, results []Result) {
	targets := make([]store.AppendTarget, 0, len(todo))
	owners := make([]int, 0, len(todo)) // target -> its recipient
	names := make([]string, 0, len(todo))
	for _, i := range todo {
		mb, err := d.mailbox(ctx, rcpts[i])
		if err != nil {
			results[i] = Result{Err: classify(err)}
			continue
		}
		targets = append(targets, store.AppendTarget{Account: rcpts[i].Account, Mailbox: mb.ID})
		owners = append(owners, i)
		names = append(names, mb.Name)
	}
	if len(targets) == 0 {
		return
	}
	outcomes := sa.AppendShared(ctx, targets, store.NewMessage{Body: body(header, msg)})
	for k, o := range outcomes {
		i := owners[k]
		switch {
		case o.Err == nil:
			results[i] = Result{Mailbox: names[k], UIDValidity: o.UIDValidity, UID: o.UID}
		case errors.Is(o.Err, store.ErrNotFound):
			results[i] = d.deliverOne(ctx, header, msg, rcpts[i])
		default:
			results[i] = d.failed(rcpts[i], names[k], o.Err)
		}
	}
}

// deliverEach appends the message to the mailbox of each recipient of
// todo on its own, concurrently, and sets their results.
func (d *Deliverer) deliverEach(ctx context.Context, header string, msg Message, rcpts []Recipient, todo []int, results []Result) {
	sem := make(chan struct{}, d.parallel)
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = d.deliverOne(ctx, header, msg, rcpts[i])
		}()
	}
	wg.Wait()
}

// mailbox finds the mailbox r names, or INBOX when the account lacks it.
func (d *Deliverer) mailbox(ctx context.Context, r Recipient) (store.Mailbox, error) {
	mail := d.store.Mail(r.Account)
	name := r.Mailbox
	if name == "" {
		name = Inbox
	}
	mb, err := mail.Mailbox(ctx, name)
	if errors.Is(err, store.ErrNotFound) && !strings.EqualFold(name, Inbox) {
		d.log.Info("mailbox missing; delivering to INBOX", "account", int64(r.Account), "mailbox", name)
		mb, err = mail.Mailbox(ctx, Inbox)
	}
	return mb, err
}

// body is the message as stored: the Return-Path field, then msg.
func body(header string, msg Message) io.Reader {
	return io.MultiReader(strings.NewReader(header), io.NewSectionReader(msg.Body, 0, msg.Size))
}

// failed is the result of a store failure for r in mailbox.
func (d *Deliverer) failed(r Recipient, mailbox string, err error) Result {
	e := classify(err)
	if e.Temporary() {
		d.log.Warn("local delivery failed", "account", int64(r.Account), "mailbox", mailbox, "err", err)
	}
	return Result{Err: e, Mailbox: mailbox}
}

// deliverOne appends the message to one mailbox.
func (d *Deliverer) deliverOne(ctx context.Context, header string, msg Message, r Recipient) Result {
	mb, err := d.mailbox(ctx, r)
	if err != nil {
		return Result{Err: classify(err)}
	}
	res, err := d.store.Mail(r.Account).Append(ctx, mb.ID, []store.NewMessage{{Body: body(header, msg)}})
	if err != nil {
		return d.failed(r, mb.Name, err)
	}
	out := Result{Mailbox: mb.Name, UIDValidity: res.UIDValidity}
	if len(res.UIDs) == 1 {
		out.UID = res.UIDs[0]
	}
	return out
}

// returnPath is the Return-Path header field final delivery prepends
// (RFC 5321 section 4.4, RFC 5322 section 3.6.7).
// Control characters, which no valid path has, are dropped so that a
// caller's mistake cannot break the header.
func returnPath(path string) string {
	path = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, path)
	return "Return-Path: <" + path + ">\r\n"
}

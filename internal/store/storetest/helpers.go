// Package storetest is the conformance suite every store backend must pass:
// it checks the methods of store.Store and store.Mail and the invariants in
// the store package comment.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"postfach/internal/store"
)

// env is one subtest's store and helpers.
type env struct {
	t   *testing.T
	ctx context.Context
	s   store.Store
}

func newEnv(t *testing.T, open func(t *testing.T) store.Store) *env {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	return &env{t: t, ctx: context.Background(), s: s}
}

// account creates an account (and its domain when needed).
func (e *env) account(addr string) store.Mail {
	e.t.Helper()
	return e.s.Mail(e.accountID(addr))
}

func (e *env) accountID(addr string) store.AccountID {
	e.t.Helper()
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if _, err := e.s.AddDomain(e.ctx, domain); err != nil && !errors.Is(err, store.ErrExists) {
		e.t.Fatalf("AddDomain(%s): %v", domain, err)
	}
	a, err := e.s.AddAccount(e.ctx, addr, "")
	if err != nil {
		e.t.Fatalf("AddAccount(%s): %v", addr, err)
	}
	return a.ID
}

func (e *env) mailbox(m store.Mail, name string) store.Mailbox {
	e.t.Helper()
	mb, err := m.Mailbox(e.ctx, name)
	if err != nil {
		e.t.Fatalf("Mailbox(%s): %v", name, err)
	}
	return mb
}

func (e *env) create(m store.Mail, name string) store.Mailbox {
	e.t.Helper()
	mb, err := m.CreateMailbox(e.ctx, name, store.CreateOptions{})
	if err != nil {
		e.t.Fatalf("CreateMailbox(%s): %v", name, err)
	}
	return mb
}

// message builds a small message whose subject and body carry text.
func message(subject, body string) string {
	return "From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: " + subject +
		"\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n\r\n" + body + "\r\n"
}

func (e *env) append(m store.Mail, mb store.MailboxID, raw string, flags store.Flags, kws ...string) store.UID {
	e.t.Helper()
	res, err := m.Append(e.ctx, mb, []store.NewMessage{{Flags: flags, Keywords: kws, Body: strings.NewReader(raw)}})
	if err != nil {
		e.t.Fatalf("Append: %v", err)
	}
	if len(res.UIDs) != 1 {
		e.t.Fatalf("Append returned %d UIDs", len(res.UIDs))
	}
	return res.UIDs[0]
}

func (e *env) appendN(m store.Mail, mb store.MailboxID, n int) []store.UID {
	e.t.Helper()
	var uids []store.UID
	for i := range n {
		uids = append(uids, e.append(m, mb, message(fmt.Sprintf("message %d", i), "body"), 0))
	}
	return uids
}

func (e *env) status(m store.Mail, mb store.MailboxID) store.MailboxStatus {
	e.t.Helper()
	st, err := m.Status(e.ctx, mb)
	if err != nil {
		e.t.Fatalf("Status: %v", err)
	}
	return st
}

func (e *env) snapshot(m store.Mail, mb store.MailboxID) store.Snapshot {
	e.t.Helper()
	snap, err := m.Snapshot(e.ctx, mb)
	if err != nil {
		e.t.Fatalf("Snapshot: %v", err)
	}
	return snap
}

func (e *env) messages(m store.Mail, mb store.MailboxID, set store.UIDSet) []store.Message {
	e.t.Helper()
	msgs, err := m.Messages(e.ctx, mb, set, store.FetchOptions{})
	if err != nil {
		e.t.Fatalf("Messages: %v", err)
	}
	return msgs
}

func (e *env) message(m store.Mail, mb store.MailboxID, uid store.UID) store.Message {
	e.t.Helper()
	msgs := e.messages(m, mb, store.UIDSetOf(uid))
	if len(msgs) != 1 {
		e.t.Fatalf("message %d: found %d", uid, len(msgs))
	}
	return msgs[0]
}

func (e *env) body(m store.Mail, msg store.Message) string {
	e.t.Helper()
	b, err := m.OpenBody(e.ctx, &msg)
	if err != nil {
		e.t.Fatalf("OpenBody: %v", err)
	}
	defer b.Close()
	data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		e.t.Fatalf("reading body: %v", err)
	}
	return string(data)
}

func (e *env) storeFlags(m store.Mail, mb store.MailboxID, set store.UIDSet, upd store.FlagUpdate) store.StoreResult {
	e.t.Helper()
	res, err := m.StoreFlags(e.ctx, mb, set, upd)
	if err != nil {
		e.t.Fatalf("StoreFlags: %v", err)
	}
	return res
}

func (e *env) search(m store.Mail, mb store.MailboxID, c store.SearchCriteria) []store.UID {
	e.t.Helper()
	uids, err := m.Search(e.ctx, mb, &c)
	if err != nil {
		e.t.Fatalf("Search(%+v): %v", c, err)
	}
	return uids
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func wantUIDs(t *testing.T, what string, got []store.UID, want ...store.UID) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: UIDs %v, want %v", what, got, want)
	}
}

func uidsOf(msgs []store.Message) []store.UID {
	var out []store.UID
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

// failingReader fails after n bytes.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("injected read failure")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

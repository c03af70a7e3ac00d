package storetest

import (
	"strings"

	"postfach/internal/store"
)

// testTenantIsolation: no Mail method of account B reaches a mailbox or
// message of account A, whatever ids B passes.
func testTenantIsolation(e *env) {
	t, ctx := e.t, e.ctx
	a := e.account("alice@example.com")
	b := e.account("bob@example.org")
	aInbox := e.mailbox(a, "INBOX")
	bInbox := e.mailbox(b, "INBOX")
	u := e.append(a, aInbox.ID, message("private", "secret"), store.FlagDeleted)
	aMsg := e.message(a, aInbox.ID, u)
	before := e.status(a, aInbox.ID)
	all := store.AllUIDs()
	id := aInbox.ID
	nf := store.ErrNotFound

	_, err := b.MailboxByID(ctx, id)
	wantErr(t, "MailboxByID", err, nf)
	_, err = b.Status(ctx, id)
	wantErr(t, "Status", err, nf)
	_, err = b.Snapshot(ctx, id)
	wantErr(t, "Snapshot", err, nf)
	_, err = b.ClaimRecent(ctx, id)
	wantErr(t, "ClaimRecent", err, nf)
	_, err = b.Changes(ctx, id, 0)
	wantErr(t, "Changes", err, nf)
	_, err = b.Append(ctx, id, []store.NewMessage{{Body: strings.NewReader(message("intruder", "x"))}})
	wantErr(t, "Append", err, nf)
	_, err = b.Messages(ctx, id, all, store.FetchOptions{Structure: true})
	wantErr(t, "Messages", err, nf)
	_, err = b.OpenBody(ctx, &aMsg)
	wantErr(t, "OpenBody", err, nf)
	_, err = b.StoreFlags(ctx, id, all, store.FlagUpdate{Op: store.FlagsReplace})
	wantErr(t, "StoreFlags", err, nf)
	_, err = b.Copy(ctx, id, all, bInbox.ID)
	wantErr(t, "Copy from A", err, nf)
	_, err = b.Copy(ctx, bInbox.ID, all, id)
	wantErr(t, "Copy to A", err, nf)
	_, err = b.Move(ctx, id, all, bInbox.ID)
	wantErr(t, "Move from A", err, nf)
	_, err = b.Move(ctx, bInbox.ID, all, id)
	wantErr(t, "Move to A", err, nf)
	_, err = b.Expunge(ctx, id, nil)
	wantErr(t, "Expunge", err, nf)
	_, err = b.Search(ctx, id, &store.SearchCriteria{})
	wantErr(t, "Search", err, nf)
	// Names are per account: B's names never reach A's mailboxes.
	wantErr(t, "DeleteMailbox", b.DeleteMailbox(ctx, "Trash"), nil)
	if _, err := a.Mailbox(ctx, "Trash"); err != nil {
		t.Fatal("B's DeleteMailbox removed A's Trash")
	}
	e.create(a, "Only-A")
	wantErr(t, "RenameMailbox", b.RenameMailbox(ctx, "Only-A", "Mine"), nf)
	if mbs, _ := b.Mailboxes(ctx); len(mbs) != 5 {
		t.Fatalf("B sees %d mailboxes", len(mbs))
	}
	// Even A's message's Blob handle, copied into a Message of B's, stays
	// A's.
	e.append(b, bInbox.ID, message("b's own", "x"), 0)
	bMsg := e.message(b, bInbox.ID, 1)
	bMsg.Blob = aMsg.Blob
	_, err = b.OpenBody(ctx, &bMsg)
	wantErr(t, "OpenBody with A's blob", err, nf)
	// A's mailbox is untouched.
	if after := e.status(a, aInbox.ID); after != before {
		t.Fatalf("A's INBOX changed: %+v -> %+v", before, after)
	}
	if got := e.body(a, aMsg); !strings.Contains(got, "secret") {
		t.Fatal("A's message damaged")
	}
	// A Mail of an account that does not exist sees nothing.
	ghost := e.s.Mail(1 << 40)
	if mbs, err := ghost.Mailboxes(ctx); err != nil || len(mbs) != 0 {
		t.Fatalf("ghost account mailboxes: %v, %v", mbs, err)
	}
	_, err = ghost.CreateMailbox(ctx, "x", store.CreateOptions{})
	wantErr(t, "create in ghost account", err, nf)
	_, err = ghost.MailboxByID(ctx, id)
	wantErr(t, "ghost MailboxByID", err, nf)
}

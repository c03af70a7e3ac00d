package clienttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"postfach/internal/imaptest"
	"postfach/internal/store"
	"postfach/internal/store/storetest"
)

// resyncMessages is the size of the mailbox the resync test syncs, and
// resyncChanges the flag changes between the two runs (issue 6).
const (
	resyncMessages = 10_000
	resyncChanges  = 10
)

// resyncMessage is message i of the 10,000: small, with a Message-ID the
// test finds it by.
func resyncMessage(i int) []byte {
	return fmt.Appendf(nil, "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"+
		"Subject: message %d\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <resync-%d@example.org>\r\n\r\n"+
		"This is message %d of the resync test.\r\n", i, i, i)
}

// TestMbsyncResync times what a user feels: mbsync's first sync of a
// 10,000-message INBOX, then its resync after 10 flag changes on the
// server. The first run downloads every message; the second must only
// learn what changed, so it has to be much faster (under a quarter of
// the first run's time). The mailbox is filled through the store, as
// delivery would, so that the test times mbsync and not 10,000 APPENDs.
//
// mbsync (isync 1.4) does not use CONDSTORE: its resync asks for the
// UIDs and flags of the messages it knows, which the server answers from
// its index without opening a single message.
func TestMbsyncResync(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs 10,000 messages; skipped with -short")
	}
	requireClient(t, mbsyncPath, "isync")
	env := imaptest.Start(t, imaptest.Options{})
	ctx := context.Background()
	st := env.Server.Store
	acct, err := st.AccountByAddress(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	mail := st.Mail(acct.ID)
	inbox, err := mail.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := storetest.Fill(ctx, mail, inbox.ID, resyncMessages, 2, func(i int) store.NewMessage {
		return store.NewMessage{Body: bytes.NewReader(resyncMessage(i))}
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("filled INBOX with %d messages through the store in %v", resyncMessages, time.Since(start).Round(time.Millisecond))

	// A password login stores the account's SCRAM keys, which mbsync's
	// preferred mechanism needs (imaptest.AddUser stores the hash only).
	c := imaptest.Login(t, env, "alice@example.org")
	s := newMbsyncSetup(t, env, mbsyncOptions{})
	// Without fsync for each of 10,000 Maildir files the times are the
	// server's and mbsync's work rather than the disk's (and CI stays
	// short). FSync is a global option: it goes before the sections.
	rc, err := os.ReadFile(s.rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.rc, append([]byte("FSync no\n\n"), rc...), 0o600); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	first := s.sync("first sync, 10,000 messages")
	firstTook := time.Since(start)
	if first.Near.New != resyncMessages || first.Far != (mbsyncCounts{}) {
		t.Fatalf("first sync: far %+v near %+v, want %d new on the near side", first.Far, first.Near, resyncMessages)
	}

	// Ten flag changes on the server, spread over the mailbox.
	c.MustOK("SELECT INBOX")
	changed := map[int]bool{}
	for k := range resyncChanges {
		uid := 1 + k*(resyncMessages/resyncChanges) + k
		c.MustOK(fmt.Sprintf(`UID STORE %d +FLAGS.SILENT (\Flagged \Seen)`, uid))
		changed[uid] = true
	}
	c.MustOK("LOGOUT")

	start = time.Now()
	second := s.sync("resync after 10 flag changes")
	resyncTook := time.Since(start)
	if second.Near != (mbsyncCounts{Flags: resyncChanges}) || second.Far != (mbsyncCounts{}) {
		t.Errorf("resync: far %+v near %+v, want %d flag changes on the near side", second.Far, second.Near, resyncChanges)
	}
	local := readMaildir(t, s.inbox)
	if len(local) != resyncMessages {
		t.Fatalf("the Maildir has %d messages, want %d", len(local), resyncMessages)
	}
	for id, m := range local {
		if want := changed[m.UID]; m.UID == 0 || strings.Contains(m.Flags, "F") != want || want && !strings.Contains(m.Flags, "S") {
			t.Errorf("%s (UID %d) has Maildir flags %q after the resync (changed on the server: %v)", id, m.UID, m.Flags, want)
		}
	}

	t.Logf("TIMING: mbsync first sync of %d messages %v, resync after %d flag changes %v (%.1f%% of the first)",
		resyncMessages, firstTook.Round(time.Millisecond), resyncChanges, resyncTook.Round(time.Millisecond),
		100*resyncTook.Seconds()/firstTook.Seconds())
	if resyncTook*4 > firstTook {
		t.Errorf("the resync took %v, more than a quarter of the first sync's %v", resyncTook, firstTook)
	}
}

package storetest

import (
	"strings"
	"testing"

	"postfach/internal/store"
)

// RunSharedAppend runs the conformance checks of store.SharedAppender
// (one message stored for mailboxes of several accounts at once); open
// returns a new, empty store for each subtest. A store that does not
// implement it skips them.
func RunSharedAppend(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(e *env, sa store.SharedAppender)
	}{
		{"Stored", testSharedStored},
		{"TargetsFailAlone", testSharedTargetsFailAlone},
		{"Quota", testSharedQuota},
		{"BodyOutlivesOneAccount", testSharedLifetime},
		{"RemoveAccount", testSharedRemoveAccount},
		{"NothingStored", testSharedNothingStored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, open)
			sa, ok := e.s.(store.SharedAppender)
			if !ok {
				t.Skip("the store is not a store.SharedAppender")
			}
			tc.fn(e, sa)
		})
	}
}

// sharedTarget is a mailbox of an account, with the account's Mail.
type sharedTarget struct {
	mail store.Mail
	mb   store.Mailbox
}

func (e *env) sharedTargets(specs ...string) []sharedTarget {
	e.t.Helper()
	var out []sharedTarget
	for _, s := range specs {
		addr, name, _ := strings.Cut(s, " ")
		id, err := e.s.AccountByAddress(e.ctx, addr)
		var m store.Mail
		if err != nil {
			m = e.account(addr)
		} else {
			m = e.s.Mail(id.ID)
		}
		mb, err := m.Mailbox(e.ctx, name)
		if err != nil {
			mb = e.create(m, name)
		}
		out = append(out, sharedTarget{m, mb})
	}
	return out
}

func appendTargets(ts []sharedTarget) []store.AppendTarget {
	out := make([]store.AppendTarget, len(ts))
	for i, t := range ts {
		out[i] = store.AppendTarget{Account: t.mb.Account, Mailbox: t.mb.ID}
	}
	return out
}

func (e *env) appendShared(sa store.SharedAppender, targets []store.AppendTarget, raw string) []store.AppendOutcome {
	e.t.Helper()
	out := sa.AppendShared(e.ctx, targets, store.NewMessage{Body: strings.NewReader(raw)})
	if len(out) != len(targets) {
		e.t.Fatalf("AppendShared returned %d outcomes for %d targets", len(out), len(targets))
	}
	return out
}

// testSharedStored: every target gets the message, with its own UID,
// counters and MODSEQ, as from Append; a target listed twice gets two.
func testSharedStored(e *env, sa store.SharedAppender) {
	t := e.t
	ts := e.sharedTargets("alice@example.com INBOX", "alice@example.com Box", "bob@example.org INBOX", "carol@example.net INBOX")
	// Mailboxes that hold mail already: UIDs go on from there.
	e.append(ts[0].mail, ts[0].mb.ID, message("earlier", "x"), store.FlagSeen)
	targets := appendTargets(ts)
	targets = append(targets, targets[2]) // bob's INBOX twice
	raw := message("to many", strings.Repeat("shared body ", 200))
	before := make([]store.MailboxStatus, len(ts))
	for i, tg := range ts {
		before[i] = e.status(tg.mail, tg.mb.ID)
	}
	out := e.appendShared(sa, targets, raw)
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("target %d: %v", i, o.Err)
		}
	}
	wantUID := []store.UID{2, 1, 1, 1, 2}
	owner := []int{0, 1, 2, 3, 2} // target -> its mailbox in ts
	for i, o := range out {
		tg := ts[owner[i]]
		if o.UID != wantUID[i] || o.UIDValidity != tg.mb.UIDValidity {
			t.Errorf("target %d: outcome %+v, want UID %d UIDVALIDITY %d", i, o, wantUID[i], tg.mb.UIDValidity)
		}
		msg := e.message(tg.mail, tg.mb.ID, o.UID)
		if got := e.body(tg.mail, msg); got != raw {
			t.Errorf("target %d: body %q", i, got)
		}
		if msg.Size != int64(len(raw)) || msg.Flags != 0 {
			t.Errorf("target %d: %+v", i, msg)
		}
	}
	for i, tg := range ts {
		n := uint32(1)
		if i == 2 {
			n = 2
		}
		st := e.status(tg.mail, tg.mb.ID)
		if st.Messages != before[i].Messages+n || st.Unseen != before[i].Unseen+n || st.Size != before[i].Size+int64(n)*int64(len(raw)) ||
			st.UIDNext != before[i].UIDNext+store.UID(n) || st.HighestModSeq <= before[i].HighestModSeq {
			t.Errorf("target %d: status %+v after %+v", i, st, before[i])
		}
		// Sessions find it through Changes, as after Append.
		cs, err := tg.mail.Changes(e.ctx, tg.mb.ID, before[i].HighestModSeq)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs.Changed) != int(n) {
			t.Errorf("target %d: changes %+v", i, cs)
		}
		// Search by text works in every account.
		wantUIDs(t, "search in a target", e.search(tg.mail, tg.mb.ID, store.SearchCriteria{Text: []string{"shared body"}}), uidsOf(cs.Changed)...)
	}
}

// testSharedTargetsFailAlone: a mailbox that is not there, or not the
// named account's, fails its target only.
func testSharedTargetsFailAlone(e *env, sa store.SharedAppender) {
	t := e.t
	ts := e.sharedTargets("alice@example.com INBOX", "bob@example.org INBOX")
	targets := []store.AppendTarget{
		{Account: ts[0].mb.Account, Mailbox: ts[0].mb.ID},
		{Account: ts[0].mb.Account, Mailbox: ts[1].mb.ID}, // bob's mailbox under alice
		{Account: ts[1].mb.Account, Mailbox: 1 << 40},     // no such mailbox
		{Account: 1 << 40, Mailbox: ts[1].mb.ID},          // no such account
		{Account: ts[1].mb.Account, Mailbox: ts[1].mb.ID},
	}
	out := e.appendShared(sa, targets, message("some fail", "x"))
	for i, o := range out {
		switch i {
		case 0, 4:
			if o.Err != nil || o.UID != 1 {
				t.Errorf("target %d: %+v", i, o)
			}
		default:
			wantErr(t, "target of a missing mailbox", o.Err, store.ErrNotFound)
		}
	}
	if st := e.status(ts[1].mail, ts[1].mb.ID); st.Messages != 1 {
		t.Errorf("bob's INBOX holds %d messages, want 1", st.Messages)
	}
}

// testSharedQuota: each account is charged the full size for each of its
// targets; one over quota is refused, the others are stored.
func testSharedQuota(e *env, sa store.SharedAppender) {
	t := e.t
	ts := e.sharedTargets("alice@example.com INBOX", "bob@example.org INBOX", "bob@example.org Junk", "carol@example.net INBOX")
	raw := "Subject: q\r\n\r\n" + strings.Repeat("x", 84) + "\r\n" // 100 octets
	// Bob has room for one message of 100 octets, not two; Carol has none.
	if err := e.s.SetQuota(e.ctx, "bob@example.org", store.Quota{StorageBytes: 150}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetQuota(e.ctx, "carol@example.net", store.Quota{Messages: 1}); err != nil {
		t.Fatal(err)
	}
	e.append(ts[3].mail, ts[3].mb.ID, raw, 0)
	out := e.appendShared(sa, appendTargets(ts), raw)
	if out[0].Err != nil || out[1].Err != nil {
		t.Fatalf("targets with room: %+v", out)
	}
	wantErr(t, "bob's second target", out[2].Err, store.ErrOverQuota)
	wantErr(t, "carol over her message quota", out[3].Err, store.ErrOverQuota)
	for i, want := range []uint32{1, 1, 0, 1} {
		if st := e.status(ts[i].mail, ts[i].mb.ID); st.Messages != want {
			t.Errorf("target %d holds %d messages, want %d", i, st.Messages, want)
		}
	}
	if u, err := ts[1].mail.Quota(e.ctx); err != nil || u.UsedBytes != 100 || u.UsedMessages != 1 {
		t.Errorf("bob's usage: %+v, %v", u, err)
	}
}

// testSharedLifetime: the body outlives the expunge of its message in one
// account, as long as a message of another refers to it, and goes with
// the last one.
func testSharedLifetime(e *env, sa store.SharedAppender) {
	t := e.t
	ts := e.sharedTargets("alice@example.com INBOX", "bob@example.org INBOX", "bob@example.org Archive")
	raw := message("lifetime", "a rather distinctive phrase")
	out := e.appendShared(sa, appendTargets(ts), raw)
	msgs := make([]store.Message, len(ts))
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("target %d: %v", i, o.Err)
		}
		msgs[i] = e.message(ts[i].mail, ts[i].mb.ID, o.UID)
	}
	find := store.SearchCriteria{Body: []string{"distinctive phrase"}}
	del := store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagDeleted}

	// Alice expunges hers: Bob's copies keep their body, and search
	// still finds them.
	e.storeFlags(ts[0].mail, ts[0].mb.ID, store.AllUIDs(), del)
	if _, err := ts[0].mail.Expunge(e.ctx, ts[0].mb.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err := ts[0].mail.OpenBody(e.ctx, &msgs[0])
	wantErr(t, "alice's body after her expunge", err, store.ErrNotFound)
	for i := 1; i < len(ts); i++ {
		if got := e.body(ts[i].mail, msgs[i]); got != raw {
			t.Fatalf("target %d: body after another account's expunge: %q", i, got)
		}
		wantUIDs(t, "search after another account's expunge", e.search(ts[i].mail, ts[i].mb.ID, find), out[i].UID)
	}
	// Bob deletes one mailbox: the other copy still has the body.
	if err := ts[2].mail.DeleteMailbox(e.ctx, ts[2].mb.Name); err != nil {
		t.Fatal(err)
	}
	if got := e.body(ts[1].mail, msgs[1]); got != raw {
		t.Fatalf("body after a deleted mailbox: %q", got)
	}
	// The last copy goes, and the body with it.
	e.storeFlags(ts[1].mail, ts[1].mb.ID, store.AllUIDs(), del)
	if _, err := ts[1].mail.Expunge(e.ctx, ts[1].mb.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = ts[1].mail.OpenBody(e.ctx, &msgs[1])
	wantErr(t, "body after the last expunge", err, store.ErrNotFound)
}

// testSharedRemoveAccount: removing an account keeps the body of the
// other accounts' messages.
func testSharedRemoveAccount(e *env, sa store.SharedAppender) {
	t := e.t
	ts := e.sharedTargets("alice@example.com INBOX", "bob@example.org INBOX")
	raw := message("remove", "x")
	out := e.appendShared(sa, appendTargets(ts), raw)
	if out[0].Err != nil || out[1].Err != nil {
		t.Fatalf("%+v", out)
	}
	if err := e.s.RemoveAccount(e.ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := e.body(ts[1].mail, e.message(ts[1].mail, ts[1].mb.ID, out[1].UID)); got != raw {
		t.Fatalf("bob's body after alice's account went: %q", got)
	}
}

// testSharedNothingStored: when every target fails, or the body cannot
// be read, nothing is stored and every target says why.
func testSharedNothingStored(e *env, sa store.SharedAppender) {
	t := e.t
	ts := e.sharedTargets("alice@example.com INBOX", "bob@example.org INBOX")
	if out := sa.AppendShared(e.ctx, nil, store.NewMessage{Body: strings.NewReader("x")}); len(out) != 0 {
		t.Errorf("no targets: %+v", out)
	}
	out := e.appendShared(sa, []store.AppendTarget{{Account: ts[0].mb.Account, Mailbox: ts[1].mb.ID}}, message("none", "x"))
	wantErr(t, "the only target missing", out[0].Err, store.ErrNotFound)

	body := &failingReader{r: strings.NewReader(message("broken", strings.Repeat("x", 10000))), n: 5000}
	out = sa.AppendShared(e.ctx, appendTargets(ts), store.NewMessage{Body: body})
	for i, o := range out {
		if o.Err == nil {
			t.Errorf("target %d stored a message whose body failed", i)
		}
	}
	out = sa.AppendShared(e.ctx, appendTargets(ts), store.NewMessage{Keywords: []string{"bad keyword"}, Body: strings.NewReader(message("kw", "x"))})
	for i, o := range out {
		if o.Err == nil {
			t.Errorf("target %d stored a message with an invalid keyword", i)
		}
	}
	for _, tg := range ts {
		if st := e.status(tg.mail, tg.mb.ID); st.Messages != 0 {
			t.Errorf("mailbox %d holds %d messages", tg.mb.ID, st.Messages)
		}
	}
}

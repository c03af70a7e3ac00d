package clienttest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/imaptest"
)

// TestGoIMAPExtensions exercises the extensions go-imap's client speaks
// beyond the core: BINARY of a whole message (literal8),
// LIST (SPECIAL-USE), RENAME of INBOX, UNAUTHENTICATE, and UTF-8 mailbox
// names under IMAP4rev2 as an IMAP4rev1 client sees them (modified
// UTF-7, decoded by the client). (go-imap v2.0.0-beta.8 drops RETURN
// (SAVE) from SEARCH and cannot parse the origin octet of a partial
// BINARY, RFC 9051 erratum 8217; SEARCHRES and partial BINARY are left to
// the transcript tests.)
func TestGoIMAPExtensions(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := goLogin(t, env, "alice@example.org", nil)
	msgs := corpus(11, 8)
	appendMessages(t, c, "INBOX", msgs, appendOpts)
	must[*imap.SelectData](t, "SELECT")(c.Select("INBOX", nil).Wait())

	t.Run("BINARY of the whole message", func(t *testing.T) {
		whole := &imap.FetchItemBinarySection{Peek: true}
		bufs := must[[]*imapclient.FetchMessageBuffer](t, "FETCH BINARY.PEEK[]")(c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{BinarySection: []*imap.FetchItemBinarySection{whole}}).Collect())
		for i, b := range bufs {
			if !bytes.Equal(b.FindBinarySection(whole), msgs[i].Raw) {
				t.Errorf("BINARY[] of message %d differs from the message", i+1)
			}
		}
	})

	t.Run("LIST (SPECIAL-USE)", func(t *testing.T) {
		list := must[[]*imap.ListData](t, "LIST")(c.List("", "*", &imap.ListOptions{SelectSpecialUse: true, ReturnSpecialUse: true}).Collect())
		got := map[string]imap.MailboxAttr{}
		for _, l := range list {
			for _, a := range l.Attrs {
				if a != imap.MailboxAttrHasChildren && a != imap.MailboxAttrHasNoChildren {
					got[l.Mailbox] = a
				}
			}
		}
		want := map[string]imap.MailboxAttr{"Archive": imap.MailboxAttrArchive, "Drafts": imap.MailboxAttrDrafts, "Junk": imap.MailboxAttrJunk, "Sent": imap.MailboxAttrSent, "Trash": imap.MailboxAttrTrash}
		if len(list) != len(want) || !mapsEqual(got, want) {
			t.Errorf("LIST (SPECIAL-USE): %v, want %v", got, want)
		}
	})

	t.Run("RENAME INBOX", func(t *testing.T) {
		// RFC 9051 section 6.3.6: the messages move to the new name,
		// INBOX stays, empty.
		mustOK(t, "RENAME", c.Rename("INBOX", "Old Inbox", nil).Wait())
		for name, want := range map[string]uint32{"INBOX": 0, "Old Inbox": uint32(len(msgs))} {
			st := must[*imap.StatusData](t, "STATUS")(c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait())
			if *st.NumMessages != want {
				t.Errorf("%s: %d messages after RENAME INBOX, want %d", name, *st.NumMessages, want)
			}
		}
		must[*imap.SelectData](t, "EXAMINE")(c.Select("Old Inbox", &imap.SelectOptions{ReadOnly: true}).Wait())
		if _, err := c.UIDExpunge(imap.UIDSetNum(1)).Collect(); imapCode(err) != "READ-ONLY" {
			t.Errorf("UID EXPUNGE in an EXAMINEd mailbox: %v", err)
		}
	})

	t.Run("UNAUTHENTICATE", func(t *testing.T) {
		mustOK(t, "UNAUTHENTICATE", c.Unauthenticate().Wait())
		if _, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait(); err == nil {
			t.Error("STATUS after UNAUTHENTICATE succeeded")
		}
		mustOK(t, "LOGIN bob", c.Login("bob@example.org", imaptest.Password).Wait())
		st := must[*imap.StatusData](t, "STATUS")(c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait())
		if *st.NumMessages != 0 {
			t.Errorf("bob's INBOX has %d messages", *st.NumMessages)
		}
	})

	t.Run("UTF-8 mailbox names", func(t *testing.T) {
		rev2 := goLogin(t, env, "alice@example.org", nil)
		must[*imapclient.EnableData](t, "ENABLE")(rev2.Enable(imap.CapIMAP4rev2).Wait())
		mustOK(t, "CREATE", rev2.Create("Entwürfe/Ärger und Ölpreise", nil).Wait())
		sel := must[*imap.SelectData](t, "SELECT")(rev2.Select("Entwürfe/Ärger und Ölpreise", nil).Wait())
		if sel.List == nil || sel.List.Mailbox != "Entwürfe/Ärger und Ölpreise" {
			t.Errorf("IMAP4rev2 SELECT: LIST %+v", sel.List)
		}
		// An IMAP4rev1 client gets the names in modified UTF-7.
		names := listNames(t, goLogin(t, env, "alice@example.org", nil), "", "Entw*", nil)
		if !slices.Equal(names, []string{"Entwürfe", "Entwürfe/Ärger und Ölpreise"}) {
			t.Errorf("IMAP4rev1 LIST: %q", names)
		}
	})
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

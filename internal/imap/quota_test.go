package imap_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"postfach/internal/imaptest"
	"postfach/internal/store"
)

func TestQuota(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := imaptest.Login(t, env, "alice@example.org")
	msg := "Subject: q\r\n\r\n" + strings.Repeat("x", 984) + "\r\n" // 1000 octets
	// No limits: the root exists, with no resources listed.
	r := c.MustOK("GETQUOTAROOT INBOX")
	if r.Find("QUOTAROOT") != `QUOTAROOT INBOX ""` || r.Find("QUOTA ") != `QUOTA "" ()` {
		t.Errorf("GETQUOTAROOT without limits: %s", r)
	}
	c.Append("INBOX", `\Deleted`, msg)
	c.Append("INBOX", "", msg)
	if err := env.Server.Store.SetQuota(context.Background(), "alice@example.org", store.Quota{StorageBytes: 10 * 1024, Messages: 5}); err != nil {
		t.Fatal(err)
	}
	r = c.MustOK("GETQUOTA \"\"")
	if l := r.Find("QUOTA "); l != `QUOTA "" (STORAGE 2 10 MESSAGE 2 5)` {
		t.Errorf("GETQUOTA: %q", l)
	}
	// A mailbox that does not exist yet has the same root (4.1.2).
	if r := c.MustOK("GETQUOTAROOT Future"); r.Find("QUOTAROOT") != `QUOTAROOT Future ""` {
		t.Errorf("GETQUOTAROOT of a new name: %s", r)
	}
	c.Expect(`GETQUOTA "other"`, "NO")
	c.Expect(`SETQUOTA "" (STORAGE 100)`, "NO")
	c.Expect(`SETQUOTA "" (STORAGE)`, "BAD")
	r = c.MustOK("STATUS INBOX (DELETED DELETED-STORAGE APPENDLIMIT)")
	if want := fmt.Sprintf("STATUS INBOX (DELETED 1 DELETED-STORAGE 1000 APPENDLIMIT %d)", 10*1024-2000); r.Find("STATUS") != want {
		t.Errorf("STATUS: %s, want %s", r, want)
	}
	// Three more fit the message limit; the sixth does not.
	for range 3 {
		if r := c.Append("INBOX", "", msg); r.Status != "OK" {
			t.Fatalf("append under quota: %s", r)
		}
	}
	// Refused before or after the literal, the answer is NO [OVERQUOTA].
	c.Write(fmt.Sprintf("q1 APPEND INBOX {%d}\r\n", len(msg)))
	if r := c.Read("q1"); r.Status == "+" {
		c.Write(msg + "\r\n")
		if r := c.Read("q1"); r.Status != "NO" || !strings.Contains(r.Text, "[OVERQUOTA]") {
			t.Errorf("append over quota: %s", r)
		}
	} else if r.Status != "NO" || !strings.Contains(r.Text, "[OVERQUOTA]") {
		t.Errorf("append over quota: %s", r)
	}
	c.MustOK("SELECT INBOX")
	c.Expect("COPY 1 INBOX", "NO")
	// EXPUNGE frees room.
	c.MustOK("EXPUNGE")
	if r := c.Append("INBOX", "", msg); r.Status != "OK" {
		t.Errorf("append after expunge: %s", r)
	}
	if r := c.MustOK("CAPABILITY"); !r.Has("QUOTA=RES-STORAGE") || !r.Has("QUOTA=RES-MESSAGE") || r.Has("QUOTASET") {
		t.Errorf("capabilities: %s", r)
	}
}

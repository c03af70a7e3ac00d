package storetest

import (
	"errors"
	"strings"

	"postfach/internal/store"
)

// testQuota: limits per account over all its mailboxes (RFC 9208), checked
// by Append and Copy atomically; usage reported by Quota.
func testQuota(e *env) {
	m := e.account("q@example.org")
	inbox := e.mailbox(m, "INBOX")
	other := e.create(m, "Other")
	msg := "Subject: q\r\n\r\n" + strings.Repeat("x", 84) + "\r\n" // 100 octets
	if len(msg) != 100 {
		e.t.Fatalf("message is %d octets", len(msg))
	}
	u, err := m.Quota(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if u != (store.QuotaUsage{}) {
		e.t.Errorf("new account: %+v", u)
	}
	e.append(m, inbox.ID, msg, 0)
	e.append(m, other.ID, msg, 0)
	if err := e.s.SetQuota(e.ctx, "Q@example.org", store.Quota{StorageBytes: 350, Messages: 10}); err != nil {
		e.t.Fatal(err)
	}
	if u, _ = m.Quota(e.ctx); u.UsedBytes != 200 || u.UsedMessages != 2 || u.StorageBytes != 350 || u.Messages != 10 {
		e.t.Errorf("usage over two mailboxes: %+v", u)
	}
	// 300 fits, 400 does not; MULTIAPPEND is all or nothing.
	e.append(m, inbox.ID, msg, 0)
	two := []store.NewMessage{{Body: strings.NewReader(msg)}, {Body: strings.NewReader(msg)}}
	if _, err := m.Append(e.ctx, inbox.ID, two); !errors.Is(err, store.ErrOverQuota) {
		e.t.Errorf("append over storage quota: %v", err)
	}
	if st := e.status(m, inbox.ID); st.Messages != 2 {
		e.t.Errorf("a refused MULTIAPPEND left %d messages", st.Messages)
	}
	if _, err := m.Copy(e.ctx, inbox.ID, store.UIDSet{{Start: 1, Stop: 2}}, other.ID); !errors.Is(err, store.ErrOverQuota) {
		e.t.Errorf("copy over storage quota: %v", err)
	}
	// A message limit.
	if err := e.s.SetQuota(e.ctx, "q@example.org", store.Quota{Messages: 3}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := m.Append(e.ctx, inbox.ID, two[:1]); !errors.Is(err, store.ErrOverQuota) {
		e.t.Errorf("append over message quota: %v", err)
	}
	// Lifting the limits lets mail in again.
	if err := e.s.SetQuota(e.ctx, "q@example.org", store.Quota{}); err != nil {
		e.t.Fatal(err)
	}
	e.append(m, inbox.ID, msg, 0)
	if err := e.s.SetQuota(e.ctx, "nobody@example.org", store.Quota{Messages: 1}); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("SetQuota of an unknown account: %v", err)
	}
	if err := e.s.SetQuota(e.ctx, "q@example.org", store.Quota{Messages: -1}); err == nil {
		e.t.Error("negative quota accepted")
	}
}

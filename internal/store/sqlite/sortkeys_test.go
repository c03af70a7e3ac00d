package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"postfach/internal/store"
)

// TestSortBackfill: rows stored before the sort columns existed get them
// at the next Open, from the message's structure and header.
func TestSortBackfill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	s.AddDomain(ctx, "example.org")
	a, _ := s.AddAccount(ctx, "u@example.org", "")
	m := s.Mail(a.ID)
	inbox, _ := m.Mailbox(ctx, "INBOX")
	for _, raw := range []string{
		"From: Zed <zed@example.org>\r\nSubject: Re: [x] Beta\r\nMessage-ID: <2@x>\r\nReferences: <0@x> <1@x>\r\n\r\nb\r\n",
		"From: amy@example.org\r\nSubject: Alpha\r\nMessage-ID: <1@x>\r\nIn-Reply-To: <0@x>\r\n\r\na\r\n",
	} {
		if _, err := m.Append(ctx, inbox.ID, []store.NewMessage{{Body: strings.NewReader(raw)}}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := m.ThreadInfo(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`UPDATE blobs SET sort_subject = NULL, sort_from = '', thread_id = '', thread_refs = '', thread_reply = 0`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, Options{NoSync: true})
	defer s.Close()
	m = s.Mail(a.ID)
	got, err := m.ThreadInfo(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].BaseSubject != "BETA" || !got[0].Reply || got[0].MessageID != "2@x" ||
		!slices.Equal(got[0].References, []string{"0@x", "1@x"}) || !slices.Equal(got[1].References, []string{"0@x"}) {
		t.Errorf("after backfill: %+v", got)
	}
	for i := range got {
		if got[i].BaseSubject != want[i].BaseSubject || got[i].MessageID != want[i].MessageID || !slices.Equal(got[i].References, want[i].References) {
			t.Errorf("message %d: backfill %+v, ingest %+v", i, got[i], want[i])
		}
	}
	uids, err := m.Sort(ctx, inbox.ID, []store.SortKey{{Field: store.SortFrom}})
	if err != nil || !slices.Equal(uids, []store.UID{2, 1}) {
		t.Errorf("sort by from after backfill: %v %v", uids, err)
	}
}

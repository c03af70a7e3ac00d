package sqlite

import (
	"context"
	"errors"

	"postfach/internal/store"
)

var _ store.SharedAppender = (*Store)(nil)

// AppendShared implements store.SharedAppender. The message streams into
// one blob, parsed on the way, as for Append; then one write operation
// inserts one blobs row (with its blob_text row: one preview, one entry
// for the full-text indexer) and a messages row per target, which all
// refer to it, as copies do. A target whose mailbox is not there or that
// fails appendCheck (which writes nothing) fails alone; a failure while
// writing fails the whole operation, which the writer rolls back to its
// savepoint.
//
// The blob lives as long as a message refers to it, in any account:
// releaseBlobs deletes a blobs row (and, by trigger, its text and index
// entry) only when no messages row refers to it any more, and its file
// only after that commit.
func (s *Store) AppendShared(ctx context.Context, targets []store.AppendTarget, msg store.NewMessage) []store.AppendOutcome {
	out := make([]store.AppendOutcome, len(targets))
	failAll := func(err error) []store.AppendOutcome {
		for i := range out {
			out[i] = store.AppendOutcome{Err: err}
		}
		return out
	}
	if len(targets) == 0 {
		return out
	}
	row, err := s.prepare(ctx, msg, s.now())
	if err != nil {
		return failAll(err)
	}
	stored := false
	err = s.w.do(ctx, []string{row.blob}, func(t *wtx) error {
		clear(out)
		// The first target stored inserts the blobs row; the others
		// refer to it.
		one := []newRow{row}
		for i, tg := range targets {
			m := &mail{s: s, acct: tg.Account}
			mb, err := t.mailbox(m.acct, tg.Mailbox)
			if err == nil {
				err = m.appendCheck(t, mb, one)
			}
			if err != nil {
				out[i].Err = err
				continue
			}
			uids, err := m.appendWrite(t, mb, one)
			if err != nil {
				return err
			}
			out[i] = store.AppendOutcome{UIDValidity: mb.UIDValidity, UID: uids[0]}
		}
		stored = one[0].blobID != 0
		return nil
	})
	if err != nil {
		// After an uncertain commit the rows may be there: the blob stays
		// for garbage collection to decide.
		if !errors.Is(err, errUncertain) {
			s.blobs.Delete(context.Background(), row.blob)
		}
		return failAll(err)
	}
	if !stored {
		// No row refers to the blob, and none will.
		s.blobs.Delete(context.Background(), row.blob)
		return out
	}
	s.index.kick()
	return out
}

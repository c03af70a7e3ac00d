package sqlite

import (
	"context"
	"fmt"

	"postfach/internal/notify"
	"postfach/internal/store"
)

// SetQuota implements store.Store. The limits live in the accounts row;
// checkQuota enforces them inside the transaction of every append and
// copy.
func (s *Store) SetQuota(ctx context.Context, address string, q store.Quota) error {
	if q.StorageBytes < 0 || q.Messages < 0 {
		return fmt.Errorf("%w: negative quota", store.ErrNotAllowed)
	}
	addr, _, err := cleanAddress(address)
	if err != nil {
		return fmt.Errorf("%w: account %s", store.ErrNotFound, address)
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		var id store.AccountID
		if err := t.queryRow(`SELECT id FROM accounts WHERE address = ?`, addr).Scan(&id); err != nil {
			return fmt.Errorf("%w: account %s", store.ErrNotFound, addr)
		}
		if _, err := t.exec(`UPDATE accounts SET quota_bytes = ?, quota_messages = ? WHERE id = ?`, q.StorageBytes, q.Messages, id); err != nil {
			return err
		}
		// Sessions show quota in STATUS APPENDLIMIT and GETQUOTA: tell
		// them something about the account changed.
		t.publish(notify.Event{Account: int64(id), Kind: notify.MailboxesChanged})
		return nil
	})
}

// Quota implements store.Mail.
func (m *mail) Quota(ctx context.Context) (store.QuotaUsage, error) {
	var u store.QuotaUsage
	err := m.s.readTx(ctx, func(tx reader) error {
		if err := tx.QueryRowContext(ctx, `SELECT quota_bytes, quota_messages FROM accounts WHERE id = ?`, m.acct).Scan(&u.StorageBytes, &u.Messages); err != nil {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, m.acct)
		}
		return tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0), coalesce(sum(messages), 0) FROM mailboxes WHERE account_id = ?`, m.acct).Scan(&u.UsedBytes, &u.UsedMessages)
	})
	return u, err
}

package sqlite

import (
	"context"
	"fmt"
	"strings"

	"postfach/internal/store"
)

// metadataSchema holds annotations (RFC 5464): mailbox_id 0 are the
// account's server annotations. A trigger removes a mailbox's entries
// with the mailbox (mailbox_id 0 has no row to reference).
const metadataSchema = `
CREATE TABLE metadata (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	mailbox_id INTEGER NOT NULL,
	name       TEXT NOT NULL,
	value      BLOB NOT NULL,
	PRIMARY KEY (account_id, mailbox_id, name)
) WITHOUT ROWID;
CREATE TRIGGER metadata_mailbox_gone AFTER DELETE ON mailboxes BEGIN
	DELETE FROM metadata WHERE account_id = old.account_id AND mailbox_id = old.id;
END;
`

// GetMetadata implements store.Mail.
func (m *mail) GetMetadata(ctx context.Context, id store.MailboxID, names []string, depth int) ([]store.MetadataEntry, error) {
	var out []store.MetadataEntry
	err := m.s.readTx(ctx, func(tx reader) error {
		if id != 0 {
			if _, err := m.mailboxByID(ctx, tx, id); err != nil {
				return err
			}
		}
		seen := map[string]bool{}
		for _, name := range names {
			var q string
			args := []any{m.acct, id, name}
			if depth == 0 {
				q = `SELECT name, value FROM metadata WHERE account_id = ? AND mailbox_id = ? AND name = ?`
			} else {
				// The entry and the names below it; depth 1 keeps the
				// direct children only (filtered below).
				q = `SELECT name, value FROM metadata WHERE account_id = ? AND mailbox_id = ? AND (name = ? OR (name > ? AND name < ?)) ORDER BY name`
				args = append(args, name+"/", name+"0") // '0' follows '/'
			}
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var e store.MetadataEntry
				if err := rows.Scan(&e.Name, &e.Value); err != nil {
					rows.Close()
					return err
				}
				if depth == 1 && e.Name != name && strings.Contains(e.Name[len(name)+1:], "/") {
					continue
				}
				if !seen[e.Name] {
					seen[e.Name] = true
					out = append(out, e)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// SetMetadata implements store.Mail.
func (m *mail) SetMetadata(ctx context.Context, id store.MailboxID, entries []store.MetadataEntry) error {
	return m.s.w.do(ctx, nil, func(t *wtx) error {
		if id != 0 {
			var n int
			if err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE id = ? AND account_id = ?`, id, m.acct).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: mailbox %d", store.ErrNotFound, id)
			}
		}
		for _, e := range entries {
			var err error
			if e.Value == nil {
				_, err = t.exec(`DELETE FROM metadata WHERE account_id = ? AND mailbox_id = ? AND name = ?`, m.acct, id, e.Name)
			} else {
				_, err = t.exec(`INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`, m.acct, id, e.Name, e.Value)
			}
			if err != nil {
				return err
			}
		}
		var n int
		if err := t.queryRow(`SELECT count(*) FROM metadata WHERE account_id = ? AND mailbox_id = ?`, m.acct, id).Scan(&n); err != nil {
			return err
		}
		if n > store.MaxMetadataEntries {
			return store.ErrTooMany // the writer rolls the transaction back
		}
		t.publish(m.mailboxesEvent())
		return nil
	})
}

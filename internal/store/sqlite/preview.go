package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"postfach/internal/mime"
	"postfach/internal/store"
	"postfach/internal/store/fts"
)

// Previews (RFC 8970) are computed at delivery with the message's text
// (fts.Preview, see extractText) and kept in blob_text.preview; the
// indexer computes them for messages stored before, when it extracts
// their text. Until then preview is NULL.

var _ store.Previewer = (*mail)(nil)

// Previews implements store.Previewer. A message whose preview is not
// computed yet gets one now, read from its blob, unless lazy is set (RFC
// 8970 section 4.1: LAZY may answer NIL rather than wait); the indexer
// stores it later.
func (m *mail) Previews(ctx context.Context, id store.MailboxID, uids store.UIDSet, lazy bool) ([]store.Preview, error) {
	var out []store.Preview
	type missing struct {
		i         int
		name      string
		structure []byte
	}
	var todo []missing
	err := m.s.readTx(ctx, func(tx reader) error {
		if _, err := m.mailboxByID(ctx, tx, id); err != nil {
			return err
		}
		spans, filter := uidSpans(uids)
		norm := uids.Normalize()
		for _, r := range spans {
			rows, err := tx.QueryContext(ctx, `SELECT m.uid, t.preview, b.name, CASE WHEN t.preview IS NULL THEN b.structure END
				FROM messages m JOIN blobs b ON b.id = m.blob_id JOIN blob_text t ON t.blob_id = m.blob_id
				WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`, id, r.Start, r.Stop)
			if err != nil {
				return err
			}
			for rows.Next() {
				var p store.Preview
				var text sql.NullString
				var mi missing
				if err := rows.Scan(&p.UID, &text, &mi.name, &mi.structure); err != nil {
					rows.Close()
					return err
				}
				if filter && !norm.Contains(p.UID) {
					continue
				}
				p.Text, p.Ready = text.String, text.Valid
				if !p.Ready && !lazy {
					mi.i = len(out)
					todo = append(todo, mi)
				}
				out = append(out, p)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, mi := range todo {
		text, err := m.s.preview(ctx, mi.name, mi.structure)
		if err != nil {
			return nil, fmt.Errorf("sqlite: preview of message %d: %w", out[mi.i].UID, err)
		}
		out[mi.i].Text, out[mi.i].Ready = text, true
	}
	return out, nil
}

// preview computes the preview of a stored blob.
func (s *Store) preview(ctx context.Context, name string, structure []byte) (string, error) {
	var root mime.Part
	if err := json.Unmarshal(structure, &root); err != nil {
		return "", err
	}
	r, err := s.blobs.Open(ctx, name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return fts.Preview(r, &root)
}

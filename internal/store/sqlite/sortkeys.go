package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"postfach/internal/mime"
	"postfach/internal/store"
)

// sortSchema adds what SORT (RFC 5256, RFC 5957) and THREAD need to the
// blobs rows, computed at delivery so that sorting and threading a
// mailbox is one indexed walk, with no blob read:
//   - sort_* and display_* hold the keys upper-cased in ASCII, so that
//     SQLite's binary comparison is i;ascii-casemap (RFC 4790 section
//     9.2);
//   - thread_id is the Message-ID, thread_refs the References (or the
//     In-Reply-To) message IDs separated by spaces, thread_reply whether
//     the subject had reply or forward artifacts.
//
// sort_subject is NULL for rows stored before this migration; backfillSort
// fills them at the next start.
const sortSchema = `
ALTER TABLE blobs ADD COLUMN sort_subject TEXT;
ALTER TABLE blobs ADD COLUMN sort_from TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN sort_to TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN sort_cc TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN display_from TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN display_to TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN thread_id TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN thread_refs TEXT NOT NULL DEFAULT '';
ALTER TABLE blobs ADD COLUMN thread_reply INTEGER NOT NULL DEFAULT 0;
`

// sortColumns are one message's SORT and THREAD columns.
type sortColumns struct {
	subject, from, to, cc, displayFrom, displayTo string
	id, refs                                      string
	reply                                         bool
}

// computeSortColumns derives the columns from the parsed envelope and the
// raw References field ("" when absent).
func computeSortColumns(env *mime.Envelope, references string) sortColumns {
	var c sortColumns
	if env == nil {
		env = &mime.Envelope{}
	}
	base, reply := mime.BaseSubject(mime.DecodeHeaderValue(env.Subject))
	c.subject, c.reply = asciiUpper(base), reply
	c.from, c.displayFrom = addressKeys(env.From)
	c.to, c.displayTo = addressKeys(env.To)
	c.cc, _ = addressKeys(env.Cc)
	c.id = firstMsgID(env.MessageID)
	// RFC 5256 section 2.2, THREAD=REFERENCES step 1: the References
	// field, or else the first message ID of In-Reply-To.
	refs := msgIDs(references)
	if len(refs) == 0 {
		if irt := firstMsgID(env.InReplyTo); irt != "" {
			refs = []string{irt}
		}
	}
	c.refs = strings.Join(refs, " ")
	return c
}

// addressKeys returns the SORT key (RFC 5256 section 3: the addr-mailbox
// of the first address) and the SORT=DISPLAY key (RFC 5957 section 3:
// its display name, or else its addr-spec) of an address list.
func addressKeys(list []mime.Address) (mailbox, display string) {
	for _, a := range list {
		if a.Group {
			continue
		}
		display = strings.TrimSpace(mime.DecodeHeaderValue(a.Name))
		if display == "" {
			display = a.Mailbox
			if a.Host != "" {
				display += "@" + a.Host
			}
		}
		return asciiUpper(a.Mailbox), asciiUpper(display)
	}
	return "", ""
}

// asciiUpper maps a-z to A-Z and leaves every other byte, i;ascii-casemap.
func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// msgIDs extracts the message IDs ("<...>") of a field, without the angle
// brackets, at most 100 of them (the last ones: nearest ancestors).
func msgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" && !strings.ContainsAny(id, " \t\r\n") {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
	if len(out) > 100 {
		out = out[len(out)-100:]
	}
	return out
}

func firstMsgID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// headerField returns the raw value of the first field named name in a
// message header.
func headerField(header []byte, name string) string {
	for _, f := range mime.ParseHeader(header) {
		if strings.EqualFold(f.Name, name) {
			return f.Value()
		}
	}
	return ""
}

// backfillSort computes the sort columns of rows stored before they
// existed, reading each message's structure and header. It runs once, at
// Open, in batches.
func (s *Store) backfillSort(ctx context.Context) error {
	start, done := time.Now(), 0
	for {
		type row struct {
			id         int64
			name       string
			headerSize int64
			structure  []byte
		}
		var rows []row
		err := s.readTx(ctx, func(tx reader) error {
			rs, err := tx.QueryContext(ctx, `SELECT id, name, header_size, structure FROM blobs WHERE sort_subject IS NULL LIMIT 500`)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var r row
				if err := rs.Scan(&r.id, &r.name, &r.headerSize, &r.structure); err != nil {
					return err
				}
				rows = append(rows, r)
			}
			return rs.Err()
		})
		if err != nil || len(rows) == 0 {
			if done > 0 {
				s.log.Info("computed sort and thread keys of stored messages", "messages", done, "took", time.Since(start).Round(time.Millisecond))
			}
			return err
		}
		cols := make([]sortColumns, len(rows))
		for i, r := range rows {
			var part mime.Part
			if err := json.Unmarshal(r.structure, &part); err != nil {
				return fmt.Errorf("sqlite: structure of blob %d: %w", r.id, err)
			}
			refs := ""
			if header, err := s.readHeader(ctx, r.name, r.headerSize); err == nil {
				refs = headerField(header, "References")
			} else {
				s.log.Warn("reading a message header for its thread keys", "blob", r.name, "err", err)
			}
			cols[i] = computeSortColumns(part.Envelope, refs)
		}
		err = s.w.do(ctx, nil, func(t *wtx) error {
			for i, r := range rows {
				if err := t.setSortColumns(r.id, cols[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += len(rows)
	}
}

func (t *wtx) setSortColumns(blobID int64, c sortColumns) error {
	_, err := t.exec(`UPDATE blobs SET sort_subject = ?, sort_from = ?, sort_to = ?, sort_cc = ?, display_from = ?, display_to = ?, thread_id = ?, thread_refs = ?, thread_reply = ? WHERE id = ?`,
		c.subject, c.from, c.to, c.cc, c.displayFrom, c.displayTo, c.id, c.refs, c.reply, blobID)
	return err
}

// errSortKey refuses a sort key the store does not know.
func errSortKey(f store.SortField) error {
	return fmt.Errorf("%w: sort key %d", store.ErrNotAllowed, f)
}

// Sort implements store.Mail, from the sort cache (sortcache.go). Equal
// keys keep UID order, which is sequence order (RFC 5256 section 3).
func (m *mail) Sort(ctx context.Context, id store.MailboxID, keys []store.SortKey) ([]store.UID, error) {
	for _, k := range keys {
		if _, ok := sortColOf(k.Field); !ok {
			return nil, errSortKey(k.Field)
		}
	}
	var uids []store.UID
	err := m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		e, err := m.s.sorts.entry(ctx, tx, mb, sortNeedsText(keys))
		if err != nil {
			return err
		}
		uids, err = e.order(ctx, tx, keys)
		return err
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(uids), nil
}

// ThreadKeys implements store.Mail, from the sort cache.
func (m *mail) ThreadKeys(ctx context.Context, id store.MailboxID) (*store.ThreadKeys, error) {
	var keys *store.ThreadKeys
	err := m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		e, err := m.s.sorts.entry(ctx, tx, mb, true)
		if err != nil {
			return err
		}
		keys, err = e.threadKeys(ctx, tx)
		return err
	})
	return keys, err
}

// ThreadInfo implements store.Mail, from the sort cache.
func (m *mail) ThreadInfo(ctx context.Context, id store.MailboxID) ([]store.ThreadInfo, error) {
	var out []store.ThreadInfo
	err := m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		e, err := m.s.sorts.entry(ctx, tx, mb, true)
		if err != nil {
			return err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if err := e.loadText(ctx, tx); err != nil {
			return err
		}
		t := &e.t
		subjects := t.text[int(colSubject)-numNumCols]
		out = make([]store.ThreadInfo, t.len())
		for i := range out {
			out[i] = store.ThreadInfo{UID: t.uids[i], MessageID: t.thread.id[i], BaseSubject: subjects[i],
				Reply: t.thread.reply[i], Date: time.Unix(t.num[colDate][i], 0).UTC()}
			if refs := t.thread.refs[i]; refs != "" {
				out[i].References = strings.Split(refs, " ")
			}
		}
		return nil
	})
	return out, err
}

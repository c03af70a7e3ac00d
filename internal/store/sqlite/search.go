package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"postfach/internal/mime"
	"postfach/internal/store"
	"postfach/internal/store/fts"
	"postfach/internal/store/match"
)

// sqlFilter is criteria translated to SQL over messages m joined with
// blobs b and, for text keys, blob_text t. When complete is false the
// condition is implied by the criteria (every matching message satisfies
// it) but does not decide them, and match.Matcher confirms each candidate.
//
// conds hold for every message; tconds are text conditions (fts_search.go),
// exact only for messages whose blob_text holds their complete text, and
// meaningless for the others, which the matcher decides.
type sqlFilter struct {
	conds    []string
	args     []any
	tconds   []string
	targs    []any
	complete bool
	blobs    bool // the condition refers to b
	idx      fts.Index
	// short holds the grams beginning with each short needle whose
	// candidates the index finds (shortNeedles).
	short map[string][]string
	// driven is set when conds hold a candidate condition of the full-text
	// index, which the query should start from (ftsMailboxIndex).
	driven bool
}

// Bound on the ranges of one UID set written into SQL.
const maxSQLRanges = 64

func translate(c *store.SearchCriteria, idx fts.Index, short map[string][]string) sqlFilter {
	f := sqlFilter{complete: true, idx: idx, short: short}
	f.add(c)
	return f
}

func (f *sqlFilter) cond(q string, args ...any) {
	f.conds = append(f.conds, q)
	f.args = append(f.args, args...)
}

func (f *sqlFilter) add(c *store.SearchCriteria) {
	for _, set := range c.UIDs {
		set = set.Normalize()
		if len(set) == 0 {
			f.cond("0")
			continue
		}
		if len(set) > maxSQLRanges {
			f.cond("m.uid BETWEEN ? AND ?", set[0].Start, set[len(set)-1].Stop)
			f.complete = false
			continue
		}
		parts := make([]string, len(set))
		for i, r := range set {
			parts[i] = "m.uid BETWEEN ? AND ?"
			f.args = append(f.args, r.Start, r.Stop)
		}
		f.conds = append(f.conds, "("+strings.Join(parts, " OR ")+")")
	}
	if c.Flags != 0 {
		f.cond("m.flags & ? = ?", int64(c.Flags), int64(c.Flags))
	}
	if c.NotFlags != 0 {
		f.cond("m.flags & ? = 0", int64(c.NotFlags))
	}
	for _, kw := range c.Keywords {
		if _, err := store.CleanKeyword(kw); err != nil {
			f.cond("0") // no message has a keyword that is not one
			continue
		}
		f.cond(`(' ' || m.keywords || ' ') LIKE ? ESCAPE '\'`, likeWord(kw))
	}
	for _, kw := range c.NotKeywords {
		if _, err := store.CleanKeyword(kw); err != nil {
			continue
		}
		f.cond(`(' ' || m.keywords || ' ') NOT LIKE ? ESCAPE '\'`, likeWord(kw))
	}
	for _, n := range c.Larger {
		f.cond("m.size > ?", n)
	}
	for _, n := range c.Smaller {
		f.cond("m.size < ?", n)
	}
	if c.ModSeq != 0 {
		f.cond("m.modseq >= ?", int64(c.ModSeq))
	}
	// Calendar dates in the message's own zone: local seconds against
	// the day's start (see match.CivilDay).
	if !c.Since.IsZero() {
		f.cond("m.internal_date + m.internal_tz >= ?", match.CivilDay(c.Since)*86400)
	}
	if !c.Before.IsZero() {
		f.cond("m.internal_date + m.internal_tz < ?", match.CivilDay(c.Before)*86400)
	}
	if !c.SentSince.IsZero() {
		f.cond("b.sent_date IS NOT NULL AND b.sent_date + b.sent_tz >= ?", match.CivilDay(c.SentSince)*86400)
		f.blobs = true
	}
	if !c.SentBefore.IsZero() {
		f.cond("b.sent_date IS NOT NULL AND b.sent_date + b.sent_tz < ?", match.CivilDay(c.SentBefore)*86400)
		f.blobs = true
	}
	// Save dates are seconds since the epoch; RFC 8514 days are UTC.
	if !c.SavedSince.IsZero() {
		f.cond("m.save_date >= ?", match.CivilDay(c.SavedSince)*86400)
	}
	if !c.SavedBefore.IsZero() {
		f.cond("m.save_date < ?", match.CivilDay(c.SavedBefore)*86400)
	}
	// Internal dates are whole seconds.
	if !c.Younger.IsZero() {
		f.cond("m.internal_date > ?", c.Younger.Unix())
	}
	if !c.Older.IsZero() {
		o := c.Older.Unix()
		if c.Older.Nanosecond() != 0 {
			o++
		}
		f.cond("m.internal_date < ?", o)
	}
	for _, h := range c.Header {
		col := indexedColumn(strings.ToLower(h.Field))
		if col == "" {
			f.complete = false
			continue
		}
		f.blobs = true
		if h.Value == "" {
			f.cond("b." + col + " IS NOT NULL")
		} else {
			f.cond("coalesce(instr(b."+col+", ?), 0) > 0", match.Fold(h.Value))
		}
	}
	f.addText(c)
	// A NOT or OR over text conditions is a text condition itself.
	for i := range c.Not {
		sub := translate(&c.Not[i], f.idx, f.short)
		if !sub.complete {
			f.complete = false
			continue
		}
		w, args := sub.exact()
		if sub.hasText() {
			f.tcond("NOT "+w, args...)
		} else {
			f.cond("NOT "+w, args...)
		}
		f.blobs = f.blobs || sub.blobs
	}
	for i := range c.Or {
		a, b := translate(&c.Or[i][0], f.idx, f.short), translate(&c.Or[i][1], f.idx, f.short)
		if !a.complete || !b.complete {
			f.complete = false
			continue
		}
		wa, aa := a.exact()
		wb, ba := b.exact()
		if a.hasText() || b.hasText() {
			f.tcond("("+wa+" OR "+wb+")", append(aa, ba...)...)
		} else {
			f.cond("("+wa+" OR "+wb+")", append(aa, ba...)...)
		}
		f.blobs = f.blobs || a.blobs || b.blobs
	}
}

// likeWord is a LIKE pattern for kw as one word of " "+keywords+" ".
// Keywords are ASCII atoms, so LIKE's ASCII case folding is what keyword
// comparison needs.
func likeWord(kw string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "% " + r.Replace(kw) + " %"
}

// Search implements store.Mail.
func (m *mail) Search(ctx context.Context, id store.MailboxID, c *store.SearchCriteria) ([]store.UID, error) {
	matcher, err := match.Compile(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrNotAllowed, err)
	}
	var out []store.UID
	err = m.s.readTx(ctx, func(tx reader) error {
		mb, err := m.mailboxByID(ctx, tx, id)
		if err != nil {
			return err
		}
		short, err := m.s.shortNeedles(ctx, tx, c, mb.messages)
		if err != nil {
			return err
		}
		f := translate(c, m.s.index.idx, short)
		from := "messages m"
		if f.driven {
			from += " INDEXED BY messages_mailbox_blob"
		}
		if f.blobs || !f.complete {
			from += " JOIN blobs b ON b.id = m.blob_id"
		}
		where, fargs := f.exact()
		if !f.hasText() {
			out, err = m.searchRows(ctx, tx, matcher, !f.complete, from, where, append([]any{id}, fargs...))
			return err
		}
		// Text conditions decide the messages whose text is complete;
		// the matcher decides the others, which are few or none.
		const text = " JOIN blob_text t ON t.blob_id = m.blob_id"
		var exact []store.UID
		switch complete := where + " AND t.state >= 6"; {
		case f.scansAll():
			// Every message is read (fts_scan.go).
			exact, err = m.scanText(ctx, tx, mb, &f, c)
		case f.complete:
			exact, err = selectUIDs(ctx, tx, from+text, complete, append([]any{id}, fargs...))
		default:
			exact, err = m.searchRows(ctx, tx, matcher, true, from+text, complete, append([]any{id}, fargs...))
		}
		if err != nil {
			return err
		}
		out = exact
		if some, err := anyIncompleteText(ctx, tx); err != nil || !some {
			return err
		}
		// Starting from the few blobs concerned, through the index.
		where, fargs = f.candidates()
		rest, err := m.searchRows(ctx, tx, matcher, true, "messages m INDEXED BY messages_mailbox_blob JOIN blobs b ON b.id = m.blob_id"+text,
			where+" AND m.blob_id IN ("+incompleteText+") AND t.state < 6", append([]any{id}, fargs...))
		if err != nil {
			return err
		}
		out = mergeUIDs(exact, rest)
		return nil
	})
	return out, err
}

// mergeUIDs merges two ascending UID lists; a UID in both is kept once
// (a scan may decide a message whose text became complete after the
// search began, which the matcher decides too: fts_scan.go).
func mergeUIDs(a, b []store.UID) []store.UID {
	if len(b) == 0 {
		return a
	}
	out := make([]store.UID, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case a[0] > b[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// searchRows returns the UIDs of the messages of the mailbox (args[0])
// that satisfy where, confirmed by the matcher when confirm is set. from
// names messages m and the tables joined to it.
func (m *mail) searchRows(ctx context.Context, tx reader, matcher *match.Matcher, confirm bool, from, where string, args []any) ([]store.UID, error) {
	if !confirm {
		return scanUIDs(tx.QueryContext(ctx, `SELECT m.uid FROM `+from+` WHERE m.mailbox_id = ? AND `+where+` ORDER BY m.uid`, args...))
	}
	var out []store.UID
	err := func() error {
		rows, err := tx.QueryContext(ctx, `SELECT `+messageCols+`, b.name, b.sent_date, b.sent_tz, b.h_subject, b.h_from, b.h_to, b.h_cc, b.h_bcc, b.h_message_id
			FROM `+from+` WHERE m.mailbox_id = ? AND `+where+` ORDER BY m.uid`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			cont := &content{s: m.s, ctx: ctx, tx: tx}
			var sent, tz sql.NullInt64
			var h [len(indexedHeaders)]sql.NullString
			msg, err := scanMessage(rows, &cont.name, &sent, &tz, &h[0], &h[1], &h[2], &h[3], &h[4], &h[5])
			if err != nil {
				return err
			}
			cont.headers = h
			cont.blobID = msg.Blob
			mm := match.Message{UID: msg.UID, ModSeq: msg.ModSeq, Flags: msg.Flags, Keywords: msg.Keywords,
				InternalDate: msg.InternalDate, SaveDate: msg.SaveDate, Size: msg.Size, Content: cont}
			if sent.Valid {
				mm.SentDate = unixTime(sent.Int64, tz.Int64)
			}
			ok, err := matcher.Match(&mm)
			cont.close()
			if err != nil {
				return fmt.Errorf("sqlite: searching message %d: %w", msg.UID, err)
			}
			if ok {
				out = append(out, msg.UID)
			}
		}
		return rows.Err()
	}()
	return out, err
}

// content is match.Content for a stored message: indexed header fields
// from their columns, the rest from the blob, opened on first need.
type content struct {
	s       *Store
	ctx     context.Context
	tx      reader
	name    string
	blobID  string
	headers [len(indexedHeaders)]sql.NullString
	body    *match.BlobContent
	closer  io.Closer
}

func (c *content) blob() (*match.BlobContent, error) {
	if c.body != nil {
		return c.body, nil
	}
	var structure []byte
	// The rows of the candidate query are still open on tx; SQLite runs
	// both statements on the one connection.
	if err := c.tx.QueryRowContext(c.ctx, `SELECT structure FROM blobs WHERE id = ?`, c.blobID).Scan(&structure); err != nil {
		return nil, err
	}
	part := new(mime.Part)
	if err := json.Unmarshal(structure, part); err != nil {
		return nil, err
	}
	r, err := c.s.blobs.Open(c.ctx, c.name)
	if err != nil {
		return nil, err
	}
	c.closer = r
	c.body = match.NewBlobContent(r, part)
	return c.body, nil
}

func (c *content) close() {
	if c.closer != nil {
		c.closer.Close()
	}
}

func (c *content) Header(name string) ([]string, error) {
	for i, h := range indexedHeaders {
		if h == name {
			if !c.headers[i].Valid {
				return nil, nil
			}
			return []string{c.headers[i].String}, nil
		}
	}
	b, err := c.blob()
	if err != nil {
		return nil, err
	}
	return b.Header(name)
}

func (c *content) WriteHeader(w io.Writer) error {
	b, err := c.blob()
	if err != nil {
		return err
	}
	return b.WriteHeader(w)
}

func (c *content) WriteBody(w io.Writer) error {
	b, err := c.blob()
	if err != nil {
		return err
	}
	return b.WriteBody(w)
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] brings the schema from version i to i+1. Append only: a
// released migration never changes.
//
// Design notes on version 1:
//   - messages hold what changes (flags, keywords, MODSEQ) and what
//     STATUS, FETCH FLAGS and cheap SEARCH keys need; blobs hold what is
//     fixed at delivery (MIME structure, header fields for SEARCH, sent
//     date). Copies share one blobs row; a blobs row and its file go when
//     the last message referring to it goes (blob_trash holds file names
//     whose removal is pending).
//   - The h_* columns hold decoded header values passed through
//     match.Fold (fold_version in meta), several fields joined by "\n";
//     NULL when the message lacks the field.
//   - Dates are Unix seconds plus the zone offset in seconds, so that
//     SEARCH can compare calendar dates in the message's own zone in SQL.
//   - expunged holds QRESYNC tombstones (RFC 7162 section 3.2.10).
//   - recent_uid is the \Recent watermark: messages with uid >= it are
//     unclaimed.
//   - quota_* columns of accounts (0: unlimited), pop3_hidden of messages
//     and save_date (RFC 8514) are there for features that come later.
var migrations = []string{
	// 0 -> 1
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE domains (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	created INTEGER NOT NULL
);

CREATE TABLE accounts (
	id             INTEGER PRIMARY KEY,
	address        TEXT NOT NULL UNIQUE,
	domain_id      INTEGER NOT NULL REFERENCES domains(id),
	password_hash  TEXT NOT NULL DEFAULT '',
	created        INTEGER NOT NULL,
	quota_bytes    INTEGER NOT NULL DEFAULT 0,
	quota_messages INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_domain ON accounts(domain_id);

CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id),
	name          TEXT NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	recent_uid    INTEGER NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	created       INTEGER NOT NULL,
	messages      INTEGER NOT NULL DEFAULT 0,
	unseen        INTEGER NOT NULL DEFAULT 0,
	deleted       INTEGER NOT NULL DEFAULT 0,
	size          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
);

CREATE TABLE subscriptions (
	account_id INTEGER NOT NULL REFERENCES accounts(id),
	name       TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

CREATE TABLE mailbox_keywords (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	keyword    TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (mailbox_id, keyword)
) WITHOUT ROWID;

CREATE TABLE blobs (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	size         INTEGER NOT NULL,
	header_size  INTEGER NOT NULL,
	sent_date    INTEGER,
	sent_tz      INTEGER,
	h_subject    TEXT,
	h_from       TEXT,
	h_to         TEXT,
	h_cc         TEXT,
	h_bcc        TEXT,
	h_message_id TEXT,
	structure    BLOB NOT NULL
);

CREATE TABLE messages (
	id            INTEGER PRIMARY KEY,
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	flags         INTEGER NOT NULL,
	keywords      TEXT NOT NULL DEFAULT '',
	internal_date INTEGER NOT NULL,
	internal_tz   INTEGER NOT NULL,
	save_date     INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	blob_id       INTEGER NOT NULL REFERENCES blobs(id),
	pop3_hidden   INTEGER NOT NULL DEFAULT 0,
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);
-- FirstUnseen in O(log n): flags & 1 is \Seen (store.FlagSeen).
CREATE INDEX messages_unseen ON messages(mailbox_id, uid) WHERE flags & 1 = 0;

CREATE TABLE expunged (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

CREATE TABLE blob_trash (
	name TEXT PRIMARY KEY
) WITHOUT ROWID;
`,
	pop3Migration,     // 1 -> 2 (pop3.go)
	guardSchema,       // 2 -> 3 (guard.go)
	credentialsSchema, // 3 -> 4 (credentials.go)
	aliasesSchema,     // 4 -> 5 (aliases.go)
	sortSchema,        // 5 -> 6 (sortkeys.go)
	metadataSchema,    // 6 -> 7 (metadata.go)
	ftsSchema,         // 7 -> 8 (fts.go)
	ftsMailboxIndex,   // 8 -> 9 (fts_search.go)
	pop3Index,         // 9 -> 10 (pop3.go)
}

// migrate brings the database to the current schema. It runs in one
// IMMEDIATE transaction, so that processes opening the store at once do
// not both migrate.
func migrate(ctx context.Context, conn *sql.Conn, foldVersion int) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: begin migration: %w", err)
	}
	err := func() error {
		if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var version int
		err := conn.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
		if err == sql.ErrNoRows {
			if _, err := conn.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this program (%d)", version, len(migrations))
		}
		for v := version; v < len(migrations); v++ {
			if _, err := conn.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration to version %d: %w", v+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
			return err
		}
		var fv int
		err = conn.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'fold_version'`).Scan(&fv)
		switch {
		case err == sql.ErrNoRows:
			_, err = conn.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('fold_version', ?)`, foldVersion)
			return err
		case err != nil:
			return err
		case fv != foldVersion:
			// Folded header columns would have to be recomputed from the
			// blobs; no such change has happened yet.
			return fmt.Errorf("header columns were folded with version %d, this program folds with %d", fv, foldVersion)
		}
		return nil
	}()
	if err != nil {
		conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: migrating schema: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: commit migration: %w", err)
	}
	return nil
}

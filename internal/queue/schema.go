package queue

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] brings the queue database from user_version i to i+1.
// Append only: a released migration never changes.
//
// Design notes on version 1:
//   - messages hold the envelope; the content is the spool file named by
//     spool. A message row exists only while some recipient still needs
//     work; the row goes in the transaction that settles its last
//     recipient, the file right after that commit (a crash in between
//     leaves an orphan file, which Start removes).
//   - recipients hold the per-recipient state. state 0 is queued; a
//     recipient leaves the queue when delivered or failed, and its row
//     is then deleted (with the DSN, if one is due, queued in the same
//     transaction), so the table holds only work.
//   - Times are Unix milliseconds.
//   - mtasts caches MTA-STS policies (RFC 8461 section 5.1) across
//     restarts, so that an attacker who strips the TXT record after a
//     restart still meets the cached policy.
var migrations = []string{
	// 0 -> 1
	`
CREATE TABLE messages (
	id           INTEGER PRIMARY KEY,
	qid          TEXT NOT NULL UNIQUE,
	spool        TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sender       TEXT NOT NULL,
	account      TEXT NOT NULL DEFAULT '',
	ret          TEXT NOT NULL DEFAULT '',
	envid        TEXT NOT NULL DEFAULT '',
	requiretls   INTEGER NOT NULL DEFAULT 0,
	smtputf8     INTEGER NOT NULL DEFAULT 0,
	eightbit     INTEGER NOT NULL DEFAULT 0,
	tls_optional INTEGER NOT NULL DEFAULT 0,
	dsn          INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL
);

CREATE TABLE recipients (
	id             INTEGER PRIMARY KEY,
	message_id     INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	addr           TEXT NOT NULL,
	domain         TEXT NOT NULL,
	notify         INTEGER NOT NULL DEFAULT 0,
	orcpt_type     TEXT NOT NULL DEFAULT '',
	orcpt          TEXT NOT NULL DEFAULT '',
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_attempt   INTEGER NOT NULL,
	last_attempt   INTEGER NOT NULL DEFAULT 0,
	last_error     TEXT NOT NULL DEFAULT '',
	last_status    TEXT NOT NULL DEFAULT '',
	remote_mta     TEXT NOT NULL DEFAULT '',
	delay_notified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX recipients_due ON recipients(next_attempt, message_id, domain);
CREATE INDEX recipients_message ON recipients(message_id, domain);

CREATE TABLE mtasts (
	domain  TEXT PRIMARY KEY,
	id      TEXT NOT NULL,
	policy  TEXT NOT NULL,
	fetched INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 1 -> 2: connection reuse looks for due work by domain.
	`
CREATE INDEX recipients_domain_due ON recipients(domain, next_attempt);
`,
}

// migrate brings the database to the latest version, in one transaction.
func migrate(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("queue: begin migration: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("queue: reading schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("queue: database schema version %d is newer than this program's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := conn.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("queue: migration %d: %w", i+1, err)
		}
	}
	if version < len(migrations) {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return fmt.Errorf("queue: setting schema version: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("queue: commit migration: %w", err)
	}
	committed = true
	return nil
}

package sqlite

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"postfach/internal/guard"
)

// guardSchema holds the login guard's state that must survive a restart
// (see package guard): bans and the addresses accounts logged in from.
// Prefixes are stored in their masked CIDR text form; times are Unix
// seconds, 0 for a ban without end. The meta row guard_generation
// changes with every ban written or removed, so that a running server
// notices an administrator's `postfach ban` with one cheap read.
const guardSchema = `
CREATE TABLE guard_bans (
	prefix  TEXT PRIMARY KEY,
	created INTEGER NOT NULL,
	until   INTEGER NOT NULL,
	reason  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE guard_known (
	account   TEXT NOT NULL,
	prefix    TEXT NOT NULL,
	last_seen INTEGER NOT NULL,
	PRIMARY KEY (account, prefix)
) WITHOUT ROWID;
CREATE INDEX guard_known_last_seen ON guard_known(last_seen);

INSERT INTO meta (key, value) VALUES ('guard_generation', 0);
`

var _ guard.Store = (*Store)(nil)

// bumpGuardGeneration marks a change of the bans.
func bumpGuardGeneration(t *wtx) error {
	_, err := t.exec(`UPDATE meta SET value = value + 1 WHERE key = 'guard_generation'`)
	return err
}

// Bans implements guard.Store.
func (s *Store) Bans(ctx context.Context) ([]guard.Ban, error) {
	rows, err := s.rd().QueryContext(ctx, `SELECT prefix, created, until, reason FROM guard_bans ORDER BY prefix`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []guard.Ban
	for rows.Next() {
		var p string
		var created, until int64
		var b guard.Ban
		if err := rows.Scan(&p, &created, &until, &b.Reason); err != nil {
			return nil, err
		}
		if b.Prefix, err = netip.ParsePrefix(p); err != nil {
			return nil, fmt.Errorf("sqlite: guard_bans: %w", err)
		}
		b.Created = time.Unix(created, 0)
		if until != 0 {
			b.Until = time.Unix(until, 0)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// PutBan implements guard.Store.
func (s *Store) PutBan(ctx context.Context, b guard.Ban) error {
	if !b.Prefix.IsValid() {
		return fmt.Errorf("sqlite: invalid ban prefix")
	}
	var until int64
	if !b.Until.IsZero() {
		// Round up: a ban never ends before its time.
		until = b.Until.Add(time.Second - 1).Unix()
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`INSERT INTO guard_bans (prefix, created, until, reason) VALUES (?, ?, ?, ?)
			ON CONFLICT (prefix) DO UPDATE SET created = excluded.created, until = excluded.until, reason = excluded.reason`,
			b.Prefix.Masked().String(), b.Created.Unix(), until, b.Reason)
		if err != nil {
			return err
		}
		return bumpGuardGeneration(t)
	})
}

// RemoveBan implements guard.Store.
func (s *Store) RemoveBan(ctx context.Context, p netip.Prefix) (bool, error) {
	var removed bool
	err := s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM guard_bans WHERE prefix = ?`, p.Masked().String())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		removed = n > 0
		if !removed {
			return nil
		}
		return bumpGuardGeneration(t)
	})
	return removed, err
}

// RemoveBansBefore implements guard.Store.
func (s *Store) RemoveBansBefore(ctx context.Context, before time.Time) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`DELETE FROM guard_bans WHERE until != 0 AND until < ?`, before.Unix())
		return err
	})
}

// BanGeneration implements guard.Store.
func (s *Store) BanGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.rd().QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'guard_generation'`).Scan(&gen)
	return gen, err
}

// KnownAddresses implements guard.Store.
func (s *Store) KnownAddresses(ctx context.Context, since time.Time) ([]guard.KnownAddress, error) {
	rows, err := s.rd().QueryContext(ctx, `SELECT account, prefix, last_seen FROM guard_known WHERE last_seen >= ?`, since.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []guard.KnownAddress
	for rows.Next() {
		var k guard.KnownAddress
		var p string
		var seen int64
		if err := rows.Scan(&k.Account, &p, &seen); err != nil {
			return nil, err
		}
		if k.Prefix, err = netip.ParsePrefix(p); err != nil {
			return nil, fmt.Errorf("sqlite: guard_known: %w", err)
		}
		k.LastSeen = time.Unix(seen, 0)
		out = append(out, k)
	}
	return out, rows.Err()
}

// PutKnownAddresses implements guard.Store.
func (s *Store) PutKnownAddresses(ctx context.Context, ks []guard.KnownAddress) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		for _, k := range ks {
			_, err := t.exec(`INSERT INTO guard_known (account, prefix, last_seen) VALUES (?, ?, ?)
				ON CONFLICT (account, prefix) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
				k.Account, k.Prefix.Masked().String(), k.LastSeen.Unix())
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveKnownAddressesBefore implements guard.Store.
func (s *Store) RemoveKnownAddressesBefore(ctx context.Context, before time.Time) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`DELETE FROM guard_known WHERE last_seen < ?`, before.Unix())
		return err
	})
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"postfach/internal/store"
)

var _ store.Aliases = (*Store)(nil)

// aliasesSchema holds aliases and catch-all addresses (store.Aliases).
//
// Design notes:
//   - One row per (alias, target): an alias is the set of its rows, and
//     goes with its last target. Adding a target twice changes nothing.
//   - address is "local@domain" or "@domain" (catch-all), lower case;
//     target is any address, lower case.
//   - domain_id cascades: removing a domain removes its aliases (accounts
//     keep a domain from being removed; aliases do not).
//   - aliases_target serves AliasesTo, which submission asks on every
//     message (may this account send as that address?).
const aliasesSchema = `
CREATE TABLE aliases (
	address   TEXT NOT NULL,
	target    TEXT NOT NULL,
	domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	created   INTEGER NOT NULL,
	PRIMARY KEY (address, target)
) WITHOUT ROWID;
CREATE INDEX aliases_target ON aliases(target);
CREATE INDEX aliases_domain ON aliases(domain_id);
`

// cleanAliasAddress normalizes an alias address: a full address, or
// "@domain" for a catch-all.
func cleanAliasAddress(address string) (addr, domain string, err error) {
	if d, ok := strings.CutPrefix(address, "@"); ok {
		domain, err := cleanDomain(d)
		if err != nil {
			return "", "", err
		}
		return "@" + domain, domain, nil
	}
	return cleanAddress(address)
}

// cleanTargets normalizes, sorts and deduplicates alias targets.
func cleanTargets(address string, targets []string) ([]string, error) {
	out := make([]string, 0, len(targets))
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		ct, _, err := cleanAddress(strings.TrimSpace(t))
		if err != nil {
			return nil, err
		}
		if ct == address {
			return nil, fmt.Errorf("%w: alias %s cannot deliver to itself", store.ErrInvalidName, address)
		}
		if !seen[ct] {
			seen[ct] = true
			out = append(out, ct)
		}
	}
	sort.Strings(out)
	return out, nil
}

// AddAlias implements store.Aliases.
func (s *Store) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	addr, domain, err := cleanAliasAddress(address)
	if err != nil {
		return store.Alias{}, err
	}
	if len(targets) == 0 {
		return store.Alias{}, fmt.Errorf("%w: alias %s without targets", store.ErrInvalidName, addr)
	}
	tgts, err := cleanTargets(addr, targets)
	if err != nil {
		return store.Alias{}, err
	}
	now := s.now().UTC().Truncate(1e9)
	err = s.w.do(ctx, nil, func(t *wtx) error {
		var domainID int64
		err := t.queryRow(`SELECT id FROM domains WHERE name = ?`, domain).Scan(&domainID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: domain %s", store.ErrNotFound, domain)
		} else if err != nil {
			return err
		}
		var n int
		if err := t.queryRow(`SELECT count(*) FROM accounts WHERE address = ?`, addr).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s is an account", store.ErrExists, addr)
		}
		// An alias keeps the creation time of its first target.
		created := now.Unix()
		var first sql.NullInt64
		if err := t.queryRow(`SELECT min(created) FROM aliases WHERE address = ?`, addr).Scan(&first); err != nil {
			return err
		}
		if first.Valid {
			created = first.Int64
		}
		for _, tg := range tgts {
			if _, err := t.exec(`INSERT OR IGNORE INTO aliases (address, target, domain_id, created) VALUES (?, ?, ?, ?)`, addr, tg, domainID, created); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Alias{}, err
	}
	return s.Alias(ctx, addr)
}

// RemoveAlias implements store.Aliases.
func (s *Store) RemoveAlias(ctx context.Context, address string, targets []string) error {
	addr, _, err := cleanAliasAddress(address)
	if err != nil {
		return fmt.Errorf("%w: alias %s", store.ErrNotFound, address)
	}
	var tgts []string
	if len(targets) > 0 {
		if tgts, err = cleanTargets("", targets); err != nil {
			return fmt.Errorf("%w: alias %s has no such target", store.ErrNotFound, addr)
		}
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		var removed int64
		if len(tgts) == 0 {
			res, err := t.exec(`DELETE FROM aliases WHERE address = ?`, addr)
			if err != nil {
				return err
			}
			removed, _ = res.RowsAffected()
		}
		for _, tg := range tgts {
			res, err := t.exec(`DELETE FROM aliases WHERE address = ? AND target = ?`, addr, tg)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			removed += n
		}
		if removed == 0 {
			return fmt.Errorf("%w: alias %s", store.ErrNotFound, addr)
		}
		return nil
	})
}

// Alias implements store.Aliases.
func (s *Store) Alias(ctx context.Context, address string) (store.Alias, error) {
	addr, _, err := cleanAliasAddress(address)
	if err != nil {
		return store.Alias{}, fmt.Errorf("%w: alias %s", store.ErrNotFound, address)
	}
	list, err := s.queryAliases(ctx, `SELECT address, target, created FROM aliases WHERE address = ? ORDER BY target`, addr)
	if err != nil {
		return store.Alias{}, err
	}
	if len(list) == 0 {
		return store.Alias{}, fmt.Errorf("%w: alias %s", store.ErrNotFound, addr)
	}
	return list[0], nil
}

// AliasList implements store.Aliases.
func (s *Store) AliasList(ctx context.Context, domain string) ([]store.Alias, error) {
	if domain == "" {
		return s.queryAliases(ctx, `SELECT address, target, created FROM aliases ORDER BY address, target`)
	}
	d, err := cleanDomain(domain)
	if err != nil {
		return nil, nil
	}
	return s.queryAliases(ctx, `SELECT a.address, a.target, a.created FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? ORDER BY a.address, a.target`, d)
}

// AliasesTo implements store.Aliases.
func (s *Store) AliasesTo(ctx context.Context, target string) ([]store.Alias, error) {
	tg, _, err := cleanAddress(target)
	if err != nil {
		return nil, nil
	}
	return s.queryAliases(ctx, `SELECT address, target, created FROM aliases WHERE address IN (SELECT address FROM aliases WHERE target = ?) ORDER BY address, target`, tg)
}

// queryAliases runs a query of (address, target, created) rows ordered by
// address and gathers them into aliases.
func (s *Store) queryAliases(ctx context.Context, query string, args ...any) ([]store.Alias, error) {
	rows, err := s.rd().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var addr, target string
		var created int64
		if err := rows.Scan(&addr, &target, &created); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Address != addr {
			out = append(out, store.Alias{Address: addr, Created: unixTime(created, 0)})
		}
		a := &out[len(out)-1]
		a.Targets = append(a.Targets, target)
	}
	return out, rows.Err()
}

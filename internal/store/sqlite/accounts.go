package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"postfach/internal/notify"
	"postfach/internal/store"
)

// cleanDomain lower-cases a domain name and checks its shape.
func cleanDomain(name string) (string, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "" || len(name) > 253 || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: domain %q", store.ErrInvalidName, name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%w: domain %q", store.ErrInvalidName, name)
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r > 0x7f && r != 0xfffd
			if !ok {
				return "", fmt.Errorf("%w: domain %q", store.ErrInvalidName, name)
			}
		}
	}
	return name, nil
}

// cleanAddress lower-cases an address and splits off its domain.
func cleanAddress(address string) (addr, domain string, err error) {
	addr = strings.ToLower(address)
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || len(addr) > 254 || !utf8.ValidString(addr) {
		return "", "", fmt.Errorf("%w: address %q", store.ErrInvalidName, address)
	}
	for _, r := range addr[:i] {
		if r <= ' ' || r == 0x7f || r == 0xfffd || strings.ContainsRune(`"\<>()[],;:`, r) {
			return "", "", fmt.Errorf("%w: address %q", store.ErrInvalidName, address)
		}
	}
	domain, err = cleanDomain(addr[i+1:])
	if err != nil {
		return "", "", err
	}
	return addr[:i+1] + domain, domain, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// AddDomain implements store.Store.
func (s *Store) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	name, err := cleanDomain(name)
	if err != nil {
		return store.Domain{}, err
	}
	d := store.Domain{Name: name, Created: s.now().UTC().Truncate(1e9)}
	err = s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`INSERT INTO domains (name, created) VALUES (?, ?)`, name, d.Created.Unix())
		if isUnique(err) {
			return fmt.Errorf("%w: domain %s", store.ErrExists, name)
		}
		return err
	})
	if err != nil {
		return store.Domain{}, err
	}
	return d, nil
}

// RemoveDomain implements store.Store.
func (s *Store) RemoveDomain(ctx context.Context, name string) error {
	name, err := cleanDomain(name)
	if err != nil {
		return fmt.Errorf("%w: domain %s", store.ErrNotFound, name)
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		var id int64
		var accounts int
		err := t.queryRow(`SELECT id, (SELECT count(*) FROM accounts WHERE domain_id = domains.id) FROM domains WHERE name = ?`, name).Scan(&id, &accounts)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: domain %s", store.ErrNotFound, name)
		} else if err != nil {
			return err
		}
		if accounts > 0 {
			return fmt.Errorf("%w: domain %s has %d accounts", store.ErrNotAllowed, name, accounts)
		}
		_, err = t.exec(`DELETE FROM domains WHERE id = ?`, id)
		return err
	})
}

// Domains implements store.Store.
func (s *Store) Domains(ctx context.Context) ([]store.Domain, error) {
	rows, err := s.rd().QueryContext(ctx, `SELECT name, created FROM domains ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Domain
	for rows.Next() {
		var d store.Domain
		var created int64
		if err := rows.Scan(&d.Name, &created); err != nil {
			return nil, err
		}
		d.Created = unixTime(created, 0)
		out = append(out, d)
	}
	return out, rows.Err()
}

// defaultMailboxes are created with every account, subscribed (RFC 6154
// special-use attributes).
var defaultMailboxes = []struct{ name, use string }{
	{"INBOX", ""},
	{"Drafts", `\Drafts`},
	{"Sent", `\Sent`},
	{"Junk", `\Junk`},
	{"Trash", `\Trash`},
	{"Archive", `\Archive`},
}

// AddAccount implements store.Store.
func (s *Store) AddAccount(ctx context.Context, address, passwordHash string) (store.Account, error) {
	addr, domain, err := cleanAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	a := store.Account{Address: addr, Domain: domain, PasswordHash: passwordHash, Created: s.now().UTC().Truncate(1e9)}
	err = s.w.do(ctx, nil, func(t *wtx) error {
		var domainID int64
		err := t.queryRow(`SELECT id FROM domains WHERE name = ?`, domain).Scan(&domainID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: domain %s", store.ErrNotFound, domain)
		} else if err != nil {
			return err
		}
		res, err := t.exec(`INSERT INTO accounts (address, domain_id, password_hash, created) VALUES (?, ?, ?, ?)`, addr, domainID, passwordHash, a.Created.Unix())
		if isUnique(err) {
			return fmt.Errorf("%w: account %s", store.ErrExists, addr)
		} else if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		a.ID = store.AccountID(id)
		for _, mb := range defaultMailboxes {
			var use []string
			if mb.use != "" {
				use = []string{mb.use}
			}
			if _, err := t.createMailbox(a.ID, mb.name, use, a.Created); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO subscriptions (account_id, name) VALUES (?, ?)`, a.ID, mb.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Account{}, err
	}
	return a, nil
}

// RemoveAccount implements store.Store: the account, its mailboxes, its
// messages and (once no other row refers to them) their blobs.
func (s *Store) RemoveAccount(ctx context.Context, address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return fmt.Errorf("%w: account %s", store.ErrNotFound, address)
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		var id int64
		err := t.queryRow(`SELECT id FROM accounts WHERE address = ?`, addr).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: account %s", store.ErrNotFound, addr)
		} else if err != nil {
			return err
		}
		blobIDs, err := t.deleteReturningBlobs(`DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?) RETURNING blob_id`, id)
		if err != nil {
			return err
		}
		if err := t.releaseBlobs(blobIDs); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM mailboxes WHERE account_id = ?`,
			`DELETE FROM subscriptions WHERE account_id = ?`,
			`DELETE FROM accounts WHERE id = ?`,
		} {
			if _, err := t.exec(q, id); err != nil {
				return err
			}
		}
		t.publish(notify.Event{Account: id, Kind: notify.AccountRemoved})
		return nil
	})
}

// SetPasswordHash implements store.Store.
func (s *Store) SetPasswordHash(ctx context.Context, address, hash string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return fmt.Errorf("%w: account %s", store.ErrNotFound, address)
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`UPDATE accounts SET password_hash = ? WHERE address = ?`, hash, addr)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: account %s", store.ErrNotFound, addr)
		}
		return nil
	})
}

const accountCols = `a.id, a.address, d.name, a.password_hash, a.created FROM accounts a JOIN domains d ON d.id = a.domain_id`

func scanAccount(sc interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var created int64
	err := sc.Scan(&a.ID, &a.Address, &a.Domain, &a.PasswordHash, &created)
	a.Created = unixTime(created, 0)
	return a, err
}

// Accounts implements store.Store.
func (s *Store) Accounts(ctx context.Context, domain string) ([]store.Account, error) {
	q, args := `SELECT `+accountCols+` ORDER BY a.address`, []any{}
	if domain != "" {
		d, err := cleanDomain(domain)
		if err != nil {
			return nil, nil
		}
		q, args = `SELECT `+accountCols+` WHERE d.name = ? ORDER BY a.address`, []any{d}
	}
	rows, err := s.rd().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccountByAddress implements store.Store.
func (s *Store) AccountByAddress(ctx context.Context, address string) (store.Account, error) {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return store.Account{}, fmt.Errorf("%w: account %s", store.ErrNotFound, address)
	}
	a, err := scanAccount(s.rd().QueryRowContext(ctx, `SELECT `+accountCols+` WHERE a.address = ?`, addr))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, fmt.Errorf("%w: account %s", store.ErrNotFound, addr)
	}
	return a, err
}

// Mail implements store.Store.
func (s *Store) Mail(id store.AccountID) store.Mail { return &mail{s: s, acct: id} }

// mail is one account's view of the store.
type mail struct {
	s    *Store
	acct store.AccountID
}

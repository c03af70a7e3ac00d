package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"postfach/internal/store"
)

var _ store.Credentials = (*Store)(nil)

// credentialsSchema holds what internal/auth keeps beside the password
// hash (store.Credentials).
//
// Design notes:
//   - Every table refers to accounts with ON DELETE CASCADE: removing an
//     account removes its credentials (account ids may be reused; nothing
//     may outlive its account).
//   - scram_keys.password_hash names the argon2id hash the keys were made
//     with; a read joins it to accounts.password_hash, so keys of an old
//     password are never used, whichever path changed the password.
//   - app_passwords ids are AUTOINCREMENT, never reused: a server watching
//     a revoked id must not see a new app password under it.
//   - meta.credential_generation changes whenever a credential stops being
//     valid. The triggers cover password changes and account removal made
//     through any code path; the Credentials methods cover the rest. A
//     server polls this one row to learn of revocations made by the admin
//     commands, which run in other processes.
const credentialsSchema = `
CREATE TABLE credential_secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE scram_keys (
	account_id    INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	password_hash TEXT NOT NULL,
	salt          BLOB NOT NULL,
	iterations    INTEGER NOT NULL,
	stored_key    BLOB NOT NULL,
	server_key    BLOB NOT NULL
);

CREATE TABLE app_passwords (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	scope            TEXT NOT NULL,
	hash             BLOB NOT NULL UNIQUE,
	scram_salt       BLOB,
	scram_iterations INTEGER NOT NULL DEFAULT 0,
	scram_stored_key BLOB,
	scram_server_key BLOB,
	created          INTEGER NOT NULL,
	last_used        INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
);

CREATE TABLE totp (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	secret     BLOB NOT NULL,
	enabled    INTEGER NOT NULL,
	last_step  INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	hash       BLOB NOT NULL,
	PRIMARY KEY (account_id, hash)
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('credential_generation', 0);

CREATE TRIGGER accounts_password_changed AFTER UPDATE OF password_hash ON accounts
WHEN OLD.password_hash IS NOT NEW.password_hash
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'credential_generation';
END;

CREATE TRIGGER accounts_removed AFTER DELETE ON accounts
BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'credential_generation';
END;
`

// bumpGeneration is run by writes that revoke a credential.
const bumpGeneration = `UPDATE meta SET value = value + 1 WHERE key = 'credential_generation'`

// CredentialSecret implements store.Credentials.
func (s *Store) CredentialSecret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.rd().QueryRowContext(ctx, `SELECT value FROM credential_secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	// Another process may create it at the same time: the first insert
	// wins, and both read the winner.
	err = s.w.do(ctx, nil, func(t *wtx) error {
		if _, err := t.exec(`INSERT OR IGNORE INTO credential_secrets (name, value) VALUES (?, ?)`, name, fresh); err != nil {
			return err
		}
		return t.queryRow(`SELECT value FROM credential_secrets WHERE name = ?`, name).Scan(&v)
	})
	return v, err
}

// SCRAMKeys implements store.Credentials.
func (s *Store) SCRAMKeys(ctx context.Context, account store.AccountID) (store.SCRAMKeys, error) {
	var k store.SCRAMKeys
	err := s.rd().QueryRowContext(ctx, `SELECT k.salt, k.iterations, k.stored_key, k.server_key FROM scram_keys k
		JOIN accounts a ON a.id = k.account_id AND a.password_hash = k.password_hash
		WHERE k.account_id = ?`, account).Scan(&k.Salt, &k.Iterations, &k.StoredKey, &k.ServerKey)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SCRAMKeys{}, fmt.Errorf("%w: SCRAM keys of account %d", store.ErrNotFound, account)
	}
	return k, err
}

// SetSCRAMKeys implements store.Credentials.
func (s *Store) SetSCRAMKeys(ctx context.Context, account store.AccountID, passwordHash string, k store.SCRAMKeys) error {
	if k.IsZero() || len(k.Salt) == 0 || k.Iterations <= 0 || len(k.ServerKey) == 0 {
		return errors.New("sqlite: incomplete SCRAM keys")
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`INSERT INTO scram_keys (account_id, password_hash, salt, iterations, stored_key, server_key)
			SELECT id, ?, ?, ?, ?, ? FROM accounts WHERE id = ?
			ON CONFLICT (account_id) DO UPDATE SET password_hash = excluded.password_hash, salt = excluded.salt,
				iterations = excluded.iterations, stored_key = excluded.stored_key, server_key = excluded.server_key`,
			passwordHash, k.Salt, k.Iterations, k.StoredKey, k.ServerKey, account)
		return err
	})
}

// validScope reports whether a scope list holds only known protocols,
// without repeats: the store keeps it as a comma-separated string.
func validScope(scope []string) bool {
	if len(scope) == 0 {
		return false
	}
	seen := map[string]bool{}
	for _, p := range scope {
		switch p {
		case "imap", "pop3", "smtp":
		default:
			return false
		}
		if seen[p] {
			return false
		}
		seen[p] = true
	}
	return true
}

// AddAppPassword implements store.Credentials.
func (s *Store) AddAppPassword(ctx context.Context, ap store.AppPassword) (store.AppPassword, error) {
	if !validScope(ap.Scope) {
		return store.AppPassword{}, fmt.Errorf("%w: app password scope %q", store.ErrInvalidName, ap.Scope)
	}
	if ap.Name == "" || len(ap.Name) > 64 || strings.ContainsAny(ap.Name, "\x00\r\n") {
		return store.AppPassword{}, fmt.Errorf("%w: app password name %q", store.ErrInvalidName, ap.Name)
	}
	if len(ap.Hash) == 0 {
		return store.AppPassword{}, errors.New("sqlite: app password without hash")
	}
	ap.Created = s.now().UTC().Truncate(time.Second)
	ap.LastUsed = time.Time{}
	var salt, stored, server []byte
	if !ap.SCRAM.IsZero() {
		salt, stored, server = ap.SCRAM.Salt, ap.SCRAM.StoredKey, ap.SCRAM.ServerKey
	}
	err := s.w.do(ctx, nil, func(t *wtx) error {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM accounts WHERE id = ?`, ap.Account).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, ap.Account)
		}
		res, err := t.exec(`INSERT INTO app_passwords (account_id, name, scope, hash, scram_salt, scram_iterations, scram_stored_key, scram_server_key, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ap.Account, ap.Name, strings.Join(ap.Scope, ","), ap.Hash, salt, ap.SCRAM.Iterations, stored, server, ap.Created.Unix())
		if isUnique(err) {
			if strings.Contains(err.Error(), "app_passwords.hash") {
				return errors.New("sqlite: app password hash collision")
			}
			return fmt.Errorf("%w: app password %q", store.ErrExists, ap.Name)
		} else if err != nil {
			return err
		}
		ap.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return store.AppPassword{}, err
	}
	return ap, nil
}

const appPasswordCols = `id, account_id, name, scope, hash, scram_salt, scram_iterations, scram_stored_key, scram_server_key, created, last_used FROM app_passwords`

func scanAppPassword(sc interface{ Scan(...any) error }) (store.AppPassword, error) {
	var ap store.AppPassword
	var scope string
	var created, lastUsed int64
	err := sc.Scan(&ap.ID, &ap.Account, &ap.Name, &scope, &ap.Hash,
		&ap.SCRAM.Salt, &ap.SCRAM.Iterations, &ap.SCRAM.StoredKey, &ap.SCRAM.ServerKey, &created, &lastUsed)
	if err != nil {
		return store.AppPassword{}, err
	}
	ap.Scope = strings.Split(scope, ",")
	ap.Created = unixTime(created, 0)
	if lastUsed != 0 {
		ap.LastUsed = unixTime(lastUsed, 0)
	}
	if ap.SCRAM.IsZero() {
		ap.SCRAM = store.SCRAMKeys{}
	}
	return ap, nil
}

// AppPasswords implements store.Credentials.
func (s *Store) AppPasswords(ctx context.Context, account store.AccountID) ([]store.AppPassword, error) {
	rows, err := s.rd().QueryContext(ctx, `SELECT `+appPasswordCols+` WHERE account_id = ? ORDER BY name`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AppPassword
	for rows.Next() {
		ap, err := scanAppPassword(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ap)
	}
	return out, rows.Err()
}

// AppPasswordByHash implements store.Credentials.
func (s *Store) AppPasswordByHash(ctx context.Context, hash []byte) (store.AppPassword, error) {
	ap, err := scanAppPassword(s.rd().QueryRowContext(ctx, `SELECT `+appPasswordCols+` WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AppPassword{}, fmt.Errorf("%w: app password", store.ErrNotFound)
	}
	return ap, err
}

// AppPasswordByID implements store.Credentials.
func (s *Store) AppPasswordByID(ctx context.Context, id int64) (store.AppPassword, error) {
	ap, err := scanAppPassword(s.rd().QueryRowContext(ctx, `SELECT `+appPasswordCols+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AppPassword{}, fmt.Errorf("%w: app password %d", store.ErrNotFound, id)
	}
	return ap, err
}

// RevokeAppPassword implements store.Credentials.
func (s *Store) RevokeAppPassword(ctx context.Context, account store.AccountID, name string) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM app_passwords WHERE account_id = ? AND name = ?`, account, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: app password %q", store.ErrNotFound, name)
		}
		_, err = t.exec(bumpGeneration)
		return err
	})
}

// TouchAppPassword implements store.Credentials.
func (s *Store) TouchAppPassword(ctx context.Context, id int64, at time.Time) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		_, err := t.exec(`UPDATE app_passwords SET last_used = ? WHERE id = ? AND last_used < ?`, at.Unix(), id, at.Unix())
		return err
	})
}

// TOTP implements store.Credentials.
func (s *Store) TOTP(ctx context.Context, account store.AccountID) (store.TOTP, error) {
	var t store.TOTP
	var enabled int64
	err := s.rd().QueryRowContext(ctx, `SELECT secret, enabled, last_step,
		(SELECT count(*) FROM recovery_codes WHERE account_id = totp.account_id)
		FROM totp WHERE account_id = ?`, account).Scan(&t.Secret, &enabled, &t.LastStep, &t.RecoveryCodes)
	if errors.Is(err, sql.ErrNoRows) {
		return store.TOTP{}, fmt.Errorf("%w: two-factor login of account %d", store.ErrNotFound, account)
	} else if err != nil {
		return store.TOTP{}, err
	}
	t.Enabled = unixTime(enabled, 0)
	return t, nil
}

// EnableTOTP implements store.Credentials.
func (s *Store) EnableTOTP(ctx context.Context, account store.AccountID, tp store.TOTP, recoveryCodeHashes [][]byte) error {
	if len(tp.Secret) == 0 {
		return errors.New("sqlite: TOTP without secret")
	}
	return s.w.do(ctx, nil, func(t *wtx) error {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM accounts WHERE id = ?`, account).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, account)
		}
		if _, err := t.exec(`INSERT INTO totp (account_id, secret, enabled, last_step) VALUES (?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, enabled = excluded.enabled, last_step = excluded.last_step`,
			account, tp.Secret, tp.Enabled.Unix(), tp.LastStep); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM recovery_codes WHERE account_id = ?`, account); err != nil {
			return err
		}
		for _, h := range recoveryCodeHashes {
			if _, err := t.exec(`INSERT OR IGNORE INTO recovery_codes (account_id, hash) VALUES (?, ?)`, account, h); err != nil {
				return err
			}
		}
		// The account password stops opening mail protocols.
		_, err := t.exec(bumpGeneration)
		return err
	})
}

// DisableTOTP implements store.Credentials.
func (s *Store) DisableTOTP(ctx context.Context, account store.AccountID) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM totp WHERE account_id = ?`, account)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: two-factor login of account %d", store.ErrNotFound, account)
		}
		_, err = t.exec(`DELETE FROM recovery_codes WHERE account_id = ?`, account)
		return err
	})
}

// UseTOTPStep implements store.Credentials: one conditional UPDATE, so
// that two logins racing with the same code cannot both win.
func (s *Store) UseTOTPStep(ctx context.Context, account store.AccountID, step int64) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`UPDATE totp SET last_step = ? WHERE account_id = ? AND last_step < ?`, step, account, step)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var last int64
		err = t.queryRow(`SELECT last_step FROM totp WHERE account_id = ?`, account).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: two-factor login of account %d", store.ErrNotFound, account)
		} else if err != nil {
			return err
		}
		return fmt.Errorf("%w: time step %d is not after the last one used (%d)", store.ErrNotAllowed, step, last)
	})
}

// UseRecoveryCode implements store.Credentials.
func (s *Store) UseRecoveryCode(ctx context.Context, account store.AccountID, hash []byte) error {
	return s.w.do(ctx, nil, func(t *wtx) error {
		res, err := t.exec(`DELETE FROM recovery_codes WHERE account_id = ? AND hash = ?`, account, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: recovery code", store.ErrNotFound)
		}
		return nil
	})
}

// CredentialGeneration implements store.Credentials.
func (s *Store) CredentialGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := s.rd().QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'credential_generation'`).Scan(&g)
	return g, err
}

package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"postfach/internal/store"
)

// App passwords are random passwords, one per mail client, so that the
// account password never sits on a phone and one lost device is revoked
// alone. They log in with the account's address as user name, over PLAIN,
// LOGIN and SCRAM, on the protocols of their scope; they keep working
// when two-factor login is on.
//
// Format: 20 characters from a 32-letter alphabet without look-alikes (0,
// o, 1, l), shown in groups of four: "abcd-efgh-ijkm-npqr-stuv", 100
// random bits. PLAIN and LOGIN take them with or without the dashes and in
// any case; SCRAM, where the client derives keys from exactly what it
// holds, needs them as shown.
//
// Storage: SHA-256 of the normalized password, with a label. A slow hash
// (argon2id) defends guessable secrets against offline guessing; against
// 100 random bits guessing is hopeless at any speed, so a fast hash costs
// an attacker nothing more and lets a login find the app password by its
// hash in one indexed query, without argon2id. A keyed hash (HMAC with a
// server key) would add nothing: the key would sit in the same store.
// The SCRAM keys of an app password use the account's salt and iteration
// count, like the password's.

// appPasswordAlphabet has 32 letters and digits: 5 bits each.
const appPasswordAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

const (
	appPasswordChars = 20
	appPasswordGroup = 4
)

// Scope names the protocols app passwords may open, in canonical order.
const allScopes = "imap,pop3,smtp"

// ParseScope parses a comma-separated list of protocols ("imap,smtp") into
// a scope in canonical order; empty means all three.
func ParseScope(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return strings.Split(allScopes, ","), nil
	}
	var scope []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if !mailProtocol(p) {
			return nil, fmt.Errorf("scope %q: want a list of imap, pop3, smtp", s)
		}
		if !slices.Contains(scope, p) {
			scope = append(scope, p)
		}
	}
	slices.SortFunc(scope, func(a, b string) int { return strings.Index(allScopes, a) - strings.Index(allScopes, b) })
	return scope, nil
}

func scopeHas(scope []string, protocol string) bool {
	return slices.Contains(scope, protocol)
}

// checkAppPasswordName: 1 to 64 printable characters.
func checkAppPasswordName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return errors.New("app password name must be 1 to 64 characters")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("app password name %q has a character that is not printable", name)
		}
	}
	return nil
}

// generateAppPassword draws a new app password, in its shown form.
func generateAppPassword() string {
	var b strings.Builder
	for i := 0; i < appPasswordChars; i++ {
		if i > 0 && i%appPasswordGroup == 0 {
			b.WriteByte('-')
		}
		// 32 letters: the low 5 bits of a random octet are uniform.
		var r [1]byte
		rand.Read(r[:])
		b.WriteByte(appPasswordAlphabet[r[0]&31])
	}
	return b.String()
}

// normalizeAppPassword is the form app passwords are hashed in: without
// spaces and dashes, lower case. A string that cannot be an app password
// is returned unchanged (its hash matches nothing).
func normalizeAppPassword(s string) string {
	if len(s) > 2*appPasswordChars {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// appPasswordHash is what the store keeps of an app password.
func appPasswordHash(password string) []byte {
	h := sha256.New()
	h.Write([]byte("postfach app password v1\x00"))
	h.Write([]byte(normalizeAppPassword(password)))
	return h.Sum(nil)
}

// ErrNoCredentials: the store keeps no credentials beyond the password
// hash, so app passwords and two-factor login are unavailable.
var ErrNoCredentials = errors.New("auth: the store has no credentials support")

// AddAppPassword creates an app password for the account and returns it,
// in the form to show the user once: it is not stored. The store refuses
// a name the account already uses (store.ErrExists).
func (s *Service) AddAppPassword(ctx context.Context, acct store.Account, name string, scope []string) (string, store.AppPassword, error) {
	if s.creds == nil {
		return "", store.AppPassword{}, ErrNoCredentials
	}
	if err := checkAppPasswordName(name); err != nil {
		return "", store.AppPassword{}, err
	}
	if len(scope) == 0 {
		scope = strings.Split(allScopes, ",")
	}
	password := generateAppPassword()
	ap := store.AppPassword{Account: acct.ID, Name: name, Scope: scope, Hash: appPasswordHash(password)}

	// SCRAM keys with the account's salt and iteration count: those of
	// the password's keys, else of other app passwords, else the
	// configured count.
	iterations := s.scramIterations
	if keys, err := s.creds.SCRAMKeys(ctx, acct.ID); err == nil {
		iterations = keys.Iterations
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", store.AppPassword{}, err
	} else if iterations, err = s.accountIterations(ctx, acct.ID); err != nil {
		return "", store.AppPassword{}, err
	}
	salt, err := s.scramSalt(ctx, NormalizeUsername(acct.Address))
	if err != nil {
		return "", store.AppPassword{}, err
	}
	if ap.SCRAM, err = SCRAMKeys(password, salt, iterations); err != nil {
		return "", store.AppPassword{}, err
	}
	ap, err = s.creds.AddAppPassword(ctx, ap)
	if err != nil {
		return "", store.AppPassword{}, err
	}
	return password, ap, nil
}

// AppPasswords lists the account's app passwords.
func (s *Service) AppPasswords(ctx context.Context, acct store.Account) ([]store.AppPassword, error) {
	if s.creds == nil {
		return nil, ErrNoCredentials
	}
	return s.creds.AppPasswords(ctx, acct.ID)
}

// RevokeAppPassword deletes an app password: the next login with it
// fails, and sessions logged in with it end (Session.Revoked), within
// RevocationPoll on a server in another process.
func (s *Service) RevokeAppPassword(ctx context.Context, acct store.Account, name string) error {
	if s.creds == nil {
		return ErrNoCredentials
	}
	if err := s.creds.RevokeAppPassword(ctx, acct.ID, name); err != nil {
		return err
	}
	s.revocations.kick()
	return nil
}

// touchInterval is how stale an app password's last use may get: a
// client that logs in every few seconds writes once a minute, not at
// every login.
const touchInterval = time.Minute

// touchLog remembers when this process last recorded each app password's
// use.
type touchLog struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

// touch records a use of ap, at most once per touchInterval. A failure
// is logged: it loses a timestamp, never a login.
func (s *Service) touch(ctx context.Context, ap store.AppPassword) {
	now := s.now()
	if now.Sub(ap.LastUsed) < touchInterval {
		return
	}
	t := &s.touches
	t.mu.Lock()
	if last, ok := t.last[ap.ID]; ok && now.Sub(last) < touchInterval {
		t.mu.Unlock()
		return
	}
	if t.last == nil {
		t.last = make(map[int64]time.Time)
	}
	if len(t.last) >= 10000 {
		for id, last := range t.last {
			if now.Sub(last) >= touchInterval {
				delete(t.last, id)
			}
		}
	}
	t.last[ap.ID] = now
	t.mu.Unlock()
	if err := s.creds.TouchAppPassword(ctx, ap.ID, now); err != nil {
		s.log.Warn("recording app password use failed", "app_password", ap.Name, "err", err)
	}
}

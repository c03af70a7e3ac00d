package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MaxPasswordLen is the longest password accepted, in octets: RFC 4616
// section 2 bounds a SASL PLAIN password to 255 octets, and a password
// that could be set but never sent would lock its owner out.
const MaxPasswordLen = 255

// CheckPassword reports whether a password can be set: not empty, valid
// UTF-8, at most MaxPasswordLen octets, and without NUL, CR or LF, which no
// login command can carry (SASL PLAIN separates fields with NUL; IMAP
// quoted strings and POP3 PASS end at CRLF).
func CheckPassword(password string) error {
	switch {
	case password == "":
		return errors.New("password is empty")
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("password is longer than %d octets", MaxPasswordLen)
	case !utf8.ValidString(password):
		return errors.New("password is not valid UTF-8")
	case strings.ContainsAny(password, "\x00\r\n"):
		return errors.New("password contains NUL, CR or LF")
	}
	return nil
}

// Hash returns the argon2id hash of password, with a fresh random salt,
// in PHC string format. It does not check the password (CheckPassword).
func Hash(password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading random salt: %w", err)
	}
	h := phc{
		params: p,
		salt:   salt,
		key:    argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen),
	}
	return h.encode(), nil
}

// Verify checks password against an encoded hash, taking DefaultParams as
// the current parameters (see VerifyParams).
func Verify(encoded, password string) (ok, needsRehash bool, err error) {
	return VerifyParams(encoded, password, DefaultParams())
}

// VerifyParams checks password against an encoded hash in constant time.
// needsRehash is true when the password matched but the hash was made with
// other parameters (or salt or hash lengths) than current: the caller
// should store a new Hash. A malformed hash is an error (ErrMalformedHash),
// not a mismatch.
func VerifyParams(encoded, password string, current Params) (ok, needsRehash bool, err error) {
	h, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	return h.verify(password, current)
}

func (h *phc) verify(password string, current Params) (ok, needsRehash bool, err error) {
	got := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.key)))
	if subtle.ConstantTimeCompare(got, h.key) != 1 {
		return false, false, nil
	}
	return true, h.params != current || len(h.key) != keyLen || len(h.salt) != saltLen, nil
}

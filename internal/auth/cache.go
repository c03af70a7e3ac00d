package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// verifyCache remembers recent successful verifications, so that a client
// that logs in again (mail clients open several connections and reconnect
// often) does not pay for argon2id each time.
//
// An entry is keyed by HMAC-SHA256, under a random per-process key, of the
// stored hash string and the password. Neither is kept, and an entry can
// only be hit with the same password against the same stored hash: a
// password change (new hash, new salt) or a rehash misses. Only successes
// are cached, so guessing gets no cheaper.
type verifyCache struct {
	key [32]byte
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[[32]byte]time.Time // expiry
}

func newVerifyCache(ttl time.Duration, max int) *verifyCache {
	c := &verifyCache{ttl: ttl, max: max, entries: make(map[[32]byte]time.Time)}
	if _, err := rand.Read(c.key[:]); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+).
		panic("auth: reading random key: " + err.Error())
	}
	return c
}

// sum is the cache key of a (stored hash, password) pair. The hash is
// length-prefixed so that no two pairs share an input.
func (c *verifyCache) sum(stored, password string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(stored)))
	m.Write(n[:])
	m.Write([]byte(stored))
	m.Write([]byte(password))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// hit reports whether k was added and has not expired.
func (c *verifyCache) hit(k [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.entries[k]
	if ok && !now.Before(exp) {
		delete(c.entries, k)
		return false
	}
	return ok
}

// add records a successful verification until now+ttl. When full, it
// drops expired entries, then arbitrary ones: a dropped entry only costs
// one more argon2id computation.
func (c *verifyCache) add(k [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for kk, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, kk)
			}
		}
		for kk := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, kk)
		}
	}
	c.entries[k] = now.Add(c.ttl)
}

// len returns the number of entries (tests).
func (c *verifyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

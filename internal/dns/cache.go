package dns

import (
	"sync"
	"time"
)

// cache keeps answers of the nameservers for their TTL, capped at maxTTL:
// positive answers for the smallest TTL of their records and CNAMEs,
// NXDOMAIN and NODATA for the SOA's negative TTL (RFC 2308 section 5).
// Temporary failures are not kept. When full, expired entries go first,
// then arbitrary ones (Go's map order): a cache this small needs no LRU
// bookkeeping on every hit. A nil *cache caches nothing.
type cache struct {
	mu      sync.Mutex
	max     int
	maxTTL  time.Duration
	now     func() time.Time
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	res      result
	notFound bool
	server   string // for the error of a negative entry
	expires  time.Time
}

func newCache(max int, maxTTL time.Duration, now func() time.Time) *cache {
	return &cache{max: max, maxTTL: maxTTL, now: now, entries: make(map[cacheKey]cacheEntry)}
}

// get returns a live entry: its result, or its "not found" error.
func (c *cache) get(name string, qtype uint16) (result, error, bool) {
	if c == nil {
		return result{}, nil, false
	}
	k := cacheKey{name, qtype}
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !c.now().Before(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return result{}, nil, false
	}
	if e.notFound {
		return e.res, notFound(name, e.server), true
	}
	return e.res, nil, true
}

func (c *cache) putAnswer(name string, qtype uint16, res result, ttl uint32) {
	c.put(cacheKey{name, qtype}, cacheEntry{res: res}, ttl)
}

func (c *cache) putNotFound(name string, qtype uint16, target, server string, ttl uint32) {
	c.put(cacheKey{name, qtype}, cacheEntry{res: result{target: target}, notFound: true, server: server}, ttl)
}

func (c *cache) put(k cacheKey, e cacheEntry, ttl uint32) {
	if c == nil || ttl == 0 {
		return
	}
	d := min(time.Duration(ttl)*time.Second, c.maxTTL)
	now := c.now()
	e.expires = now.Add(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[k] = e
}

// evict makes room for at least one entry: all expired ones, else an
// eighth of the cache.
func (c *cache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < c.max {
		return
	}
	drop := len(c.entries) - c.max + max(1, c.max/8)
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

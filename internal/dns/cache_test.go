package dns

import (
	"fmt"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newCache(16, time.Hour, func() time.Time { return now })
	c.putAnswer("a.test.", 1, result{target: "a.test."}, 60)
	c.putNotFound("b.test.", 1, "b.test.", "ns", 30)
	c.putAnswer("zero.test.", 1, result{}, 0) // TTL 0: not cached
	c.putAnswer("long.test.", 1, result{target: "long.test."}, 86400*7)

	if res, err, ok := c.get("a.test.", 1); !ok || err != nil || res.target != "a.test." {
		t.Fatalf("positive: %v %v %v", res, err, ok)
	}
	if _, err, ok := c.get("a.test.", 16); ok {
		t.Fatalf("other type hit: %v", err)
	}
	if _, err, ok := c.get("b.test.", 1); !ok || !isNotFound(err) {
		t.Fatalf("negative: %v %v", err, ok)
	}
	if _, _, ok := c.get("zero.test.", 1); ok {
		t.Fatal("TTL 0 cached")
	}
	now = now.Add(30 * time.Second)
	if _, _, ok := c.get("b.test.", 1); ok {
		t.Fatal("negative entry outlived its TTL")
	}
	now = now.Add(30 * time.Second)
	if _, _, ok := c.get("a.test.", 1); ok {
		t.Fatal("positive entry outlived its TTL")
	}
	if _, _, ok := c.get("long.test.", 1); !ok {
		t.Fatal("long entry gone early")
	}
	now = now.Add(time.Hour)
	if _, _, ok := c.get("long.test.", 1); ok {
		t.Fatal("maxTTL not applied")
	}

	// Full: expired entries go first, then an eighth.
	for i := range 16 {
		c.putAnswer(fmt.Sprintf("n%d.test.", i), 1, result{}, 10)
	}
	if c.len() != 16 {
		t.Fatalf("len %d", c.len())
	}
	now = now.Add(5 * time.Second)
	c.putAnswer("new.test.", 1, result{}, 10)
	if n := c.len(); n != 15 { // 16 - 2 evicted + 1
		t.Fatalf("after eviction: %d", n)
	}
	c.putAnswer("fill.test.", 1, result{}, 10)
	now = now.Add(10 * time.Second)
	c.putAnswer("newer.test.", 1, result{}, 10)
	if n := c.len(); n != 1 { // all expired went
		t.Fatalf("after expiry eviction: %d", n)
	}
	var nilCache *cache
	nilCache.putAnswer("a.", 1, result{}, 10)
	if _, _, ok := nilCache.get("a.", 1); ok {
		t.Fatal("nil cache hit")
	}
}

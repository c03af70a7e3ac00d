package auth

import (
	"errors"
	"strings"
	"testing"
)

// testParams are cheap, for tests that are not about cost.
var testParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

// TestVerifyReference checks hashes made by the reference implementation
// (the argon2 command of github.com/P-H-C/phc-winner-argon2), so that
// hashes imported from other servers verify.
func TestVerifyReference(t *testing.T) {
	tests := []struct{ encoded, password string }{
		// echo -n "correct horse" | argon2 somesalt0123 -id -t 2 -k 1024 -p 2 -e
		{"$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8", "correct horse"},
		// echo -n "pässwörd" | argon2 YWJjZGVmZ2hpamtsbW5vcA -id -t 1 -m 12 -p 1 -l 32 -e
		{"$argon2id$v=19$m=4096,t=1,p=1$WVdKalpHVm1aMmhwYW10c2JXNXZjQQ$02cgR2k4OphVwWM7a5HcjbV5c0RHHqPLdqnAjMbTtZE", "pässwörd"},
	}
	for _, tt := range tests {
		ok, rehash, err := Verify(tt.encoded, tt.password)
		if err != nil || !ok || !rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want true, true (not default params), nil", tt.encoded, ok, rehash, err)
		}
		if ok, _, _ := Verify(tt.encoded, tt.password+"x"); ok {
			t.Errorf("Verify(%q) accepted a wrong password", tt.encoded)
		}
	}
}

func TestHashVerify(t *testing.T) {
	enc, err := Hash("secret", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash = %q", enc)
	}
	enc2, _ := Hash("secret", testParams)
	if enc == enc2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	tests := []struct {
		password   string
		current    Params
		ok, rehash bool
	}{
		{"secret", testParams, true, false},
		{"Secret", testParams, false, false},
		{"secret ", testParams, false, false},
		{"", testParams, false, false},
		{"secret", Params{Time: 2, MemoryKiB: 64, Threads: 1}, true, true},
		{"secret", Params{Time: 1, MemoryKiB: 128, Threads: 1}, true, true},
		{"secret", Params{Time: 1, MemoryKiB: 64, Threads: 2}, true, true},
		{"wrong", Params{Time: 2, MemoryKiB: 64, Threads: 1}, false, false},
	}
	for _, tt := range tests {
		ok, rehash, err := VerifyParams(enc, tt.password, tt.current)
		if err != nil || ok != tt.ok || rehash != tt.rehash {
			t.Errorf("VerifyParams(%q, %+v) = %v, %v, %v; want %v, %v", tt.password, tt.current, ok, rehash, err, tt.ok, tt.rehash)
		}
	}
	if _, _, err := Verify("$argon2id$garbage", "secret"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("Verify(garbage) err = %v", err)
	}
}

func TestHashBadParams(t *testing.T) {
	for _, p := range []Params{{}, {Time: 1, MemoryKiB: 7, Threads: 1}, {Time: 1, MemoryKiB: 64, Threads: 0}, {Time: 65, MemoryKiB: 64, Threads: 1}} {
		if _, err := Hash("x", p); err == nil {
			t.Errorf("Hash with %+v succeeded", p)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		pw  string
		err string
	}{
		{"s3cret!", ""},
		{"pässwörd mit Leerzeichen", ""},
		{strings.Repeat("x", 255), ""},
		{"", "empty"},
		{strings.Repeat("x", 256), "longer than 255"},
		{"a\x00b", "NUL"},
		{"a\nb", "NUL, CR or LF"},
		{"a\rb", "NUL, CR or LF"},
		{"\xff", "UTF-8"},
	}
	for _, tt := range tests {
		err := CheckPassword(tt.pw)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("CheckPassword(%q) = %v, want %q", tt.pw, err, tt.err)
		}
	}
}

// BenchmarkHash measures one argon2id hash with the default parameters:
// the cost of every login that misses the cache.
func BenchmarkHash(b *testing.B) {
	p := DefaultParams()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashParallel: hashes per second when every core hashes.
func BenchmarkHashParallel(b *testing.B) {
	p := DefaultParams()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Hash("correct horse battery staple", p); err != nil {
				b.Error(err)
			}
		}
	})
}

package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodePHC(t *testing.T) {
	valid := "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"
	h, err := decodePHC(valid)
	if err != nil {
		t.Fatal(err)
	}
	if h.params != (Params{Time: 2, MemoryKiB: 1024, Threads: 2}) || string(h.salt) != "somesalt0123" || len(h.key) != 32 {
		t.Errorf("decoded %+v", h)
	}
	if got := h.encode(); got != valid {
		t.Errorf("encode = %q, want %q", got, valid)
	}

	bad := []struct{ name, in string }{
		{"empty", ""},
		{"no leading $", "argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"argon2i", "$argon2i$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"version 16", "$argon2id$v=16$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"no version", "$argon2id$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"order", "$argon2id$v=19$t=2,m=1024,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"extra param", "$argon2id$v=19$m=1024,t=2,p=2,keyid=x$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"leading zero", "$argon2id$v=19$m=01024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"sign", "$argon2id$v=19$m=+1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"t=0", "$argon2id$v=19$m=1024,t=0,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"p=0", "$argon2id$v=19$m=1024,t=2,p=0$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"p=256", "$argon2id$v=19$m=4096,t=2,p=256$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"m below 8p", "$argon2id$v=19$m=15,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"m huge", "$argon2id$v=19$m=4294967295,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"m overflow", "$argon2id$v=19$m=99999999999,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"t huge", "$argon2id$v=19$m=1024,t=1000,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"padded salt", "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz==$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"short salt", "$argon2id$v=19$m=1024,t=2,p=2$c2FsdA$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8"},
		{"url base64", "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8_-"},
		{"short hash", "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSb"},
		{"trailing $", "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8$"},
		{"space", "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8 "},
	}
	for _, tt := range bad {
		if _, err := decodePHC(tt.in); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: decodePHC(%q) err = %v, want ErrMalformedHash", tt.name, tt.in, err)
		}
	}
}

// FuzzDecodePHC: the decoder never panics, accepts only what it bounds,
// and every accepted string has exactly one spelling.
func FuzzDecodePHC(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQwMTIz$oUeKLiSbKgDe3nJlKD6uV0UYgG0O0CAL1DtyS4IkhU8",
		"$argon2id$v=19$m=47104,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=8,t=1,p=1$$", "$argon2i$", "$$$$$", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := decodePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v is not ErrMalformedHash", err)
			}
			return
		}
		if err := h.params.Validate(); err != nil {
			t.Fatalf("accepted invalid params %+v: %v", h.params, err)
		}
		if len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
			t.Fatalf("accepted salt %d key %d octets", len(h.salt), len(h.key))
		}
		if enc := h.encode(); enc != s {
			t.Fatalf("%q re-encodes as %q", s, enc)
		}
		if strings.ContainsAny(s, " \x00\r\n") {
			t.Fatalf("accepted %q", s)
		}
	})
}

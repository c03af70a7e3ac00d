package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParsePlain(t *testing.T) {
	long := strings.Repeat("a", 255)
	tests := []struct {
		name          string
		in            string
		zid, cid, pwd string
		err           error
	}{
		{"no authzid", "\x00tim@example.org\x00tanstaaftanstaaf", "", "tim@example.org", "tanstaaftanstaaf", nil},
		{"same authzid", "Tim@Example.org\x00tim@example.org\x00pw", "Tim@Example.org", "tim@example.org", "pw", nil},
		{"authzid with spaces", " tim@example.org \x00tim@example.org\x00pw", " tim@example.org ", "tim@example.org", "pw", nil},
		{"utf8", "\x00jöhn@exämple.org\x00pässwörd", "", "jöhn@exämple.org", "pässwörd", nil},
		{"password with spaces", "\x00u\x00 a b ", "", "u", " a b ", nil},
		{"max lengths", long + "\x00" + long + "\x00" + long, long, long, long, nil},
		{"proxy", "admin@example.org\x00tim@example.org\x00pw", "", "", "", ErrAuthzid},
		{"empty", "", "", "", "", ErrMalformedPlain},
		{"one NUL", "\x00tim", "", "", "", ErrMalformedPlain},
		{"no NUL", "timpw", "", "", "", ErrMalformedPlain},
		{"three NULs", "\x00tim\x00pw\x00", "", "", "", ErrMalformedPlain},
		{"NUL in password", "\x00tim\x00p\x00w", "", "", "", ErrMalformedPlain},
		{"empty authcid", "\x00\x00pw", "", "", "", ErrMalformedPlain},
		{"empty password", "\x00tim\x00", "", "", "", ErrMalformedPlain},
		{"only NULs", "\x00\x00", "", "", "", ErrMalformedPlain},
		{"bad utf8", "\x00tim\x00\xff\xfe", "", "", "", ErrMalformedPlain},
		{"bad utf8 authcid", "\x00\xc3\x00pw", "", "", "", ErrMalformedPlain},
		{"long authcid", "\x00" + long + "a\x00pw", "", "", "", ErrMalformedPlain},
		{"long password", "\x00tim\x00" + long + "a", "", "", "", ErrMalformedPlain},
		{"overlong", strings.Repeat("a", 4096) + "\x00tim\x00pw", "", "", "", ErrMalformedPlain},
	}
	for _, tt := range tests {
		zid, cid, pwd, err := ParsePlain([]byte(tt.in))
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			continue
		}
		if zid != tt.zid || cid != tt.cid || pwd != tt.pwd {
			t.Errorf("%s: got %q %q %q, want %q %q %q", tt.name, zid, cid, pwd, tt.zid, tt.cid, tt.pwd)
		}
	}
}

// FuzzParsePlain: never panics; what it accepts re-encodes to the input
// and keeps RFC 4616's rules.
func FuzzParsePlain(f *testing.F) {
	for _, s := range []string{"\x00tim\x00pw", "tim\x00tim\x00pw", "a\x00b\x00c", "\x00\x00", "", "\x00\xff\x00x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		zid, cid, pwd, err := ParsePlain(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedPlain) && !errors.Is(err, ErrAuthzid) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if cid == "" || pwd == "" || len(zid) > 255 || len(cid) > 255 || len(pwd) > 255 {
			t.Fatalf("accepted %q %q %q", zid, cid, pwd)
		}
		if zid != "" && NormalizeUsername(zid) != NormalizeUsername(cid) {
			t.Fatalf("accepted proxy authzid %q for %q", zid, cid)
		}
		if re := []byte(zid + "\x00" + cid + "\x00" + pwd); !bytes.Equal(re, b) {
			t.Fatalf("%q re-encodes as %q", b, re)
		}
	})
}

package wire

import (
	"testing"
	"unicode/utf8"
)

func TestUTF7(t *testing.T) {
	tests := []struct{ utf8, utf7 string }{
		{"", ""},
		{"INBOX", "INBOX"},
		// RFC 3501 section 5.1.3's example.
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"&", "&-"},
		{"Tom & Jerry &&", "Tom &- Jerry &-&-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"ü", "&APw-"},
		{"üü", "&APwA,A-"},
		{"üüü", "&APwA,AD8-"},
		{"ü&", "&APw-&-"},
		{"ü&ü", "&APw-&-&APw-"},
		{"tab\there", "tab&AAk-here"},
		{"del\x7f", "del&AH8-"},
		{"\x00", "&AAA-"},
		{"😀", "&2D3eAA-"},
		{"a😀b𝄞", "a&2D3eAA-b&2DTdHg-"},
		{"Привет", "&BB8EQAQ4BDIENQRC-"},
		{"+,/-~\\", "+,/-~\\"},
	}
	for _, tc := range tests {
		if got := EncodeMailboxUTF7(tc.utf8); got != tc.utf7 {
			t.Errorf("Encode(%q) = %q, want %q", tc.utf8, got, tc.utf7)
		}
		got, err := DecodeMailboxUTF7(tc.utf7)
		if err != nil || got != tc.utf8 {
			t.Errorf("Decode(%q) = %q, %v; want %q", tc.utf7, got, err, tc.utf8)
		}
		got, err = DecodeMailbox(tc.utf7, false)
		if err != nil || got != tc.utf8 {
			t.Errorf("DecodeMailbox(%q, false) = %q, %v; want %q", tc.utf7, got, err, tc.utf8)
		}
	}
}

func TestUTF7Invalid(t *testing.T) {
	for _, in := range []string{
		"&",           // unterminated shift
		"&AGE",        // unterminated base64
		"a&U,BTFw",    // unterminated base64
		"&AGE-&AGI-",  // null shift: encoded runs must not be adjacent
		"&Jjo-&Jjo-",  // idem
		"&AGE-&",      // shift at the end
		"&AC8-",       // "/" encoded: printable ASCII must represent itself
		"&ACY-",       // "&" encoded
		"&AEE-",       // "A" encoded
		"&AGEAYQ-",    // "a" encoded after a non-ASCII... (U+0061)
		"&APw",        // missing "-"
		"&A-",         // too few bits for a character
		"&AP-",        // 12 bits
		"&APx-",       // non-zero padding bits
		"&APwA-",      // superfluous base64 character
		"&APw=-",      // padding is not allowed
		"&APw/-",      // "/" is not in the modified alphabet
		"&2D0-",       // lone high surrogate
		"&2D3YPQ-",    // high surrogate followed by high surrogate
		"&3gA-",       // lone low surrogate
		"&2D0AQQ-",    // high surrogate followed by a non-surrogate
		"caf\xc3\xa9", // 8-bit octets
		"a\x00b",      // control characters must be encoded
		"a\tb",
		"a\x7fb",
	} {
		if got, err := DecodeMailboxUTF7(in); err == nil {
			t.Errorf("Decode(%q) = %q, want error", in, got)
		}
	}
}

func TestDecodeMailbox(t *testing.T) {
	tests := []struct {
		in      string
		utf8    bool
		want    string
		wantErr bool
	}{
		{"Entw&APw-rfe", false, "Entwürfe", false},
		{"Entw&APw-rfe", true, "Entw&APw-rfe", false}, // UTF-8 mode takes names as they are
		{"Entwürfe", true, "Entwürfe", false},
		{"Entwürfe", false, "Entwürfe", false},   // UTF-8 from an IMAP4rev1 client: unambiguous
		{"Entw&APw-rf\xc3\xa9", false, "", true}, // UTF-7 and UTF-8 mixed
		{"bad\xff", false, "", true},
		{"bad\xff", true, "", true},
		{"&AGE-&AGI-", false, "", true},
		{"Tom & Jerry", true, "Tom & Jerry", false},
		{"Tom & Jerry", false, "", true},
	}
	for _, tc := range tests {
		got, err := DecodeMailbox(tc.in, tc.utf8)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("DecodeMailbox(%q, %v) = %q, %v; want %q, error %v", tc.in, tc.utf8, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestUTF7AllBMP(t *testing.T) {
	// Every non-surrogate BMP character, alone and between ASCII, survives
	// the round trip.
	for c := rune(0); c < 0x10000; c++ {
		if c >= 0xd800 && c < 0xe000 {
			continue
		}
		s := "a" + string(c) + string(c) + "z"
		if !utf8.ValidString(s) {
			t.Fatalf("invalid %U", c)
		}
		enc := EncodeMailboxUTF7(s)
		dec, err := DecodeMailboxUTF7(enc)
		if err != nil || dec != s {
			t.Fatalf("%U: %q -> %q -> %q, %v", c, s, enc, dec, err)
		}
	}
}

package mime

import (
	"testing"
	"unicode/utf8"
)

func TestDecodeHeaderValue(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Hello world", "Hello world"},
		{"utf8 B", "=?UTF-8?B?R3LDvMOfZQ==?=", "Grüße"},
		{"utf8 Q", "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Grüße aus Köln"},
		{"latin1 Q", "=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"windows-1252", "=?windows-1252?Q?=93quoted=94_=80?=", "“quoted” €"},
		{"iso-8859-1 as windows-1252", "=?iso-8859-1?q?=80?=", "€"},
		{"iso-2022-jp", "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"},
		{"koi8-r", "=?KOI8-R?B?8NLJ18XU?=", "Привет"},
		{"adjacent words joined", "=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},
		{"adjacent across fold", "=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"},
		{"text between words kept", "=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
		{"space in Q via underscore", "=?utf-8?q?a_b?=", "a b"},
		{"split multibyte", "=?utf-8?B?ww==?= =?utf-8?B?pA==?=", "ä"},
		{"split multibyte Q", "=?utf-8?Q?=C3?= =?utf-8?Q?=A4?=", "ä"},
		{"different charsets", "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "éé"},
		{"missing padding", "=?utf-8?b?R3LDvMOfZQ?=", "Grüße"},
		{"language suffix", "=?utf-8*en?q?hi?=", "hi"},
		{"no space before", "Re:=?utf-8?q?x?=", "Re:x"},
		{"unknown charset stays", "=?x-bogus?q?a?=", "=?x-bogus?q?a?="},
		{"bad base64 stays", "=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="},
		{"bad encoding letter", "=?utf-8?x?a?=", "=?utf-8?x?a?="},
		{"unterminated", "=?utf-8?q?abc", "=?utf-8?q?abc"},
		{"bad Q escape literal", "=?utf-8?q?a=ZZb?=", "a=ZZb"},
		{"raw latin1", "caf\xe9", "café"},
		{"raw utf8", "café", "café"},
		{"raw cp1252 quotes", "\x93hi\x94", "“hi”"},
		{"lone =?", "a =? b", "a =? b"},
		{"empty", "", ""},
		{"us-ascii word with 8bit", "=?us-ascii?q?caf=E9?=", "café"},
		{"spaces inside word not decoded", "=?utf-8?q?a b?=", "=?utf-8?q?a b?="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeHeaderValue(tt.in)
			if got != tt.want {
				t.Errorf("DecodeHeaderValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8: %q", got)
			}
		})
	}
}

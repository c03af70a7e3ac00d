package mime

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func partText(t *testing.T, raw string) string {
	t.Helper()
	root, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(iotest.OneByteReader(Text(strings.NewReader(raw), root)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestText(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"us-ascii default", "\r\nhello", "hello"},
		{"utf-8 qp", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe", "Grüße"},
		{"latin1 base64", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\nR3L8/GU=", "Grüüe"},
		{"windows-1252", "Content-Type: text/plain; charset=windows-1252\r\n\r\n\x93hi\x94 \x80", "“hi” €"},
		{"koi8-r", "Content-Type: text/plain; charset=koi8-r\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"iso-2022-jp", "Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n\x1b$B%F%9%H\x1b(B", "テスト"},
		{"undeclared 8-bit utf-8", "\r\ncafé", "café"},
		{"undeclared 8-bit latin1", "\r\ncaf\xe9", "café"},
		{"invalid utf-8 declared", "Content-Type: text/plain; charset=utf-8\r\n\r\nok \xff", "ok ÿ"},
		{"unknown charset", "Content-Type: text/plain; charset=x-martian\r\n\r\nabc \xe9", "abc é"},
		{"non-text is empty", "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=", ""},
		{"delivery-status", "Content-Type: message/delivery-status\r\n\r\nStatus: 5.0.0", "Status: 5.0.0"},
		{"html", "Content-Type: text/html; charset=utf-8\r\n\r\n" +
			"<html><head><title>T</title><style>p { color: red }</style>\r\n" +
			"<script type=\"text/javascript\">var x = \"<p>not text</p>\";</script></head>\r\n" +
			"<body><p>Hello&nbsp;<b>W</b>orld &amp; &lt;friends&gt; &#8364; &euro; &#x41;</p>" +
			"<!-- a comment <p>hidden</p> --><div>Second\r\n   line</div>" +
			"<a href=\"x>y\" title='a>b'>link</a> 1 < 2 &bogus; &amp</body></html>",
			"T\nHello World & <friends> € € A\nSecond line\nlink 1 < 2 &bogus; &"},
		{"html script case", "Content-Type: text/html\r\n\r\na<SCRIPT>x</sCrIpT >b<style/>c</style>d", "abd"},
		{"html doctype and pi", "Content-Type: text/html\r\n\r\n<!DOCTYPE html><?xml x?>text", "text"},
		{"html unterminated tag", "Content-Type: text/html\r\n\r\nbefore <p class=\"x", "before"},
		{"html latin1", "Content-Type: text/html; charset=iso-8859-1\r\n\r\n<p>caf\xe9</p>", "café"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := partText(t, tt.msg); got != tt.want {
				t.Errorf("Text = %q, want %q", got, tt.want)
			}
		})
	}
}

package mime

import (
	"fmt"
	"testing"
)

func fmtParams(ps []Param) string {
	s := ""
	for _, p := range ps {
		s += fmt.Sprintf("%s=%q;", p.Name, p.Value)
	}
	return s
}

func TestParseContentType(t *testing.T) {
	tests := []struct {
		in, typ, params string
		ok              bool
	}{
		{"text/plain", "text/plain", "", true},
		{"Text/HTML; Charset=UTF-8", "text/html", `charset="UTF-8";`, true},
		{" text / plain ; charset = \"us-ascii\" ", "text/plain", `charset="us-ascii";`, true},
		{"multipart/mixed; boundary=----=_Part_123_456.789", "multipart/mixed", `boundary="----=_Part_123_456.789";`, true},
		{"multipart/mixed; boundary=\"a;b\"; x=y", "multipart/mixed", `boundary="a;b";x="y";`, true},
		{"text/plain; charset=us-ascii (Plain text)", "text/plain", `charset="us-ascii";`, true},
		{"(comment) text/plain (c2); (c3) charset=utf-8", "text/plain", `charset="utf-8";`, true},
		{"text/plain charset=utf-8", "text/plain", `charset="utf-8";`, true},
		{"text/plain;; ;charset=utf-8;", "text/plain", `charset="utf-8";`, true},
		{"text/plain; name=my file.txt", "text/plain", `name="my file.txt";`, true},
		{"text/plain; a=1; A=2", "text/plain", `a="1";`, true},
		{"text/plain; junk; =v; x", "text/plain", "", true},
		{`text/plain; name="unterminated`, "text/plain", `name="unterminated";`, true},
		{`text/plain; q="a\"b\\c"`, "text/plain", `q="a\"b\\c";`, true},
		{"text/plain; name*=utf-8''%E2%82%AC", "text/plain", `name="€";`, true},
		{"text/plain; name*=''%41%zz", "text/plain", `name="A%zz";`, true},
		{"text/plain; name*=noquotes%41", "text/plain", `name="noquotesA";`, true},
		{"text/plain; name*=x-unknown''%E9t%E9", "text/plain", `name="été";`, true},
		{"text/plain; name*=koi8-r''%F0%D2%C9", "text/plain", `name="При";`, true},
		{"text/plain; name=plain; name*=utf-8''ext", "text/plain", `name="ext";`, true},
		{"text/plain; name*0=a; name*1=b; name*3=d", "text/plain", `name="abd";`, true},
		{"text/plain; name*0*=utf-8''%C3; name*1*=%A4", "text/plain", `name="ä";`, true},
		{"text", "", "", false},
		{"/plain", "", "", false},
		{"", "", "", false},
		{"text/", "", "", false},
		{"téxt/plain", "", "", false},
	}
	for _, tt := range tests {
		typ, sub, params, ok := parseContentType(tt.in)
		if ok != tt.ok {
			t.Errorf("parseContentType(%q) ok=%v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if got := typ + "/" + sub; got != tt.typ {
			t.Errorf("parseContentType(%q) type %q, want %q", tt.in, got, tt.typ)
		}
		if got := fmtParams(params); got != tt.params {
			t.Errorf("parseContentType(%q) params %s, want %s", tt.in, got, tt.params)
		}
	}
}

func TestParseDisposition(t *testing.T) {
	d, ps := parseDisposition(`Attachment; filename="a b.pdf"; size=12`)
	if d != "attachment" || fmtParams(ps) != `filename="a b.pdf";size="12";` {
		t.Errorf("got %q %s", d, fmtParams(ps))
	}
	if d, ps := parseDisposition(`; filename=x`); d != "" || ps != nil {
		t.Errorf("no token: got %q %v", d, ps)
	}
}

func TestParseLanguage(t *testing.T) {
	got := parseLanguage(" en-US (English), fr ,, (c) de-CH-1901 junk, x")
	want := `["en-US" "fr" "de-CH-1901" "x"]`
	if s := fmt.Sprintf("%q", got); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
}

func TestParamASCII(t *testing.T) {
	tests := []struct{ in, want Param }{
		{Param{"filename", "a.txt"}, Param{"filename", "a.txt"}},
		{Param{"filename", "€ 1.txt"}, Param{"filename*", "utf-8''%E2%82%AC%201.txt"}},
	}
	for _, tt := range tests {
		if got := tt.in.ASCII(); got != tt.want {
			t.Errorf("%v.ASCII() = %v, want %v", tt.in, got, tt.want)
		}
		// Round trip through the parser.
		got := parseParams(tt.in.ASCII().Name + "=" + tt.in.ASCII().Value)
		if len(got) != 1 || got[0] != tt.in {
			t.Errorf("round trip of %v: %v", tt.in, got)
		}
	}
}

package queue

import (
	"strings"
	"testing"
	"time"
)

func TestParseSTSPolicy(t *testing.T) {
	tests := []struct {
		name string
		in   string
		mode stsMode
		age  time.Duration
		mx   []string
		err  bool
	}{
		{name: "rfc example", in: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
			mode: stsEnforce, age: 604800 * time.Second, mx: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}},
		{name: "LF endings, spaces, unknown key", in: "version:STSv1\nmode:  testing \nmx: MX.Example.com.\nmax_age: 86400\nextension: yes\n",
			mode: stsTesting, age: 86400 * time.Second, mx: []string{"mx.example.com"}},
		{name: "none without mx", in: "version: STSv1\nmode: none\nmax_age: 0\n", mode: stsNone},
		{name: "no version", in: "mode: enforce\nmx: a.example\nmax_age: 1\n", err: true},
		{name: "bad version", in: "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", err: true},
		{name: "bad mode", in: "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", err: true},
		{name: "two modes", in: "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n", err: true},
		{name: "no mx", in: "version: STSv1\nmode: enforce\nmax_age: 1\n", err: true},
		{name: "no max_age", in: "version: STSv1\nmode: enforce\nmx: a.example\n", err: true},
		{name: "max_age too large", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", err: true},
		{name: "max_age negative", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", err: true},
		{name: "bad pattern", in: "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", err: true},
		{name: "line without colon", in: "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n", err: true},
	}
	for _, tt := range tests {
		p, err := parseSTSPolicy(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("%s: want an error, got %+v", tt.name, p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if p.mode != tt.mode || p.maxAge != tt.age || strings.Join(p.mx, ",") != strings.Join(tt.mx, ",") {
			t.Errorf("%s: got %+v", tt.name, p)
		}
	}
}

func TestSTSPolicyMatches(t *testing.T) {
	p := &stsPolicy{mx: []string{"mail.example.com", "*.example.net"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.Example.COM.", true},
		{"mail2.example.com", false},
		{"mx1.example.net", true},
		{"example.net", false},     // RFC 8461 4.1: the wildcard needs a label
		{"a.b.example.net", false}, // and only one
		{".example.net", false},
		{"mail.example.com.evil", false},
	}
	for _, tt := range tests {
		if got := p.matches(tt.host); got != tt.want {
			t.Errorf("matches(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestParseSTSRecord(t *testing.T) {
	tests := []struct {
		txts []string
		id   string
		err  bool
	}{
		{txts: []string{"v=STSv1; id=20160831085700Z;"}, id: "20160831085700Z"},
		{txts: []string{"v=STSv1;id=abc"}, id: "abc"},
		{txts: []string{"v=spf1 -all", "v=STSv1; id=1; ext=x"}, id: "1"},
		{txts: []string{"v=spf1 -all"}, err: true},
		{txts: nil, err: true},
		{txts: []string{"v=STSv1; id=1", "v=STSv1; id=2"}, err: true}, // RFC 8461 3.1
		{txts: []string{"v=STSv1;"}, err: true},
		{txts: []string{"v=STSv1; id=" + strings.Repeat("a", 33)}, err: true},
		{txts: []string{"v=STSv1; id=a-b"}, err: true},
		{txts: []string{"v=STSv10; id=1"}, err: true},
	}
	for _, tt := range tests {
		id, err := parseSTSRecord(tt.txts)
		if tt.err != (err != nil) || id != tt.id {
			t.Errorf("%q: got %q, %v", tt.txts, id, err)
		}
	}
}

func FuzzParseSTSPolicy(f *testing.F) {
	f.Add("version: STSv1\r\nmode: enforce\r\nmx: *.example.net\r\nmax_age: 604800\r\n")
	f.Add("version: STSv1\nmode: none\nmax_age: 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parseSTSPolicy(in)
		if err != nil {
			return
		}
		if p.mode != stsEnforce && p.mode != stsTesting && p.mode != stsNone {
			t.Fatalf("mode %q", p.mode)
		}
		if p.maxAge < 0 || p.maxAge > maxSTSMaxAge {
			t.Fatalf("max_age %v", p.maxAge)
		}
		if p.mode != stsNone && len(p.mx) == 0 {
			t.Fatal("no mx")
		}
		for _, pat := range p.mx {
			if !validMXPattern(pat) {
				t.Fatalf("pattern %q", pat)
			}
			// Every pattern matches a host of its own shape.
			host := strings.Replace(pat, "*", "x", 1)
			if !p.matches(host) {
				t.Fatalf("%q does not match %q", pat, host)
			}
		}
	})
}

func FuzzParseSTSRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1;id=a;ext=b")
	f.Fuzz(func(t *testing.T, rec string) {
		id, err := parseSTSRecord([]string{rec})
		if err != nil {
			return
		}
		if len(id) < 1 || len(id) > 32 || !alnum(id) || !strings.HasPrefix(rec, "v=STSv1") {
			t.Fatalf("%q gave id %q", rec, id)
		}
	})
}

package mime

import (
	"testing"
)

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want string // fmtAddrs of the result
	}{
		{"", "nil"},
		{"user@example.com", "[(user@example.com)]"},
		{"John Doe <john@example.com>", `[("John Doe" john@example.com)]`},
		{`"Doe, John" <john@example.com>, mary@x.test`, `[("Doe, John" john@example.com) (mary@x.test)]`},
		{`"quoted \"inner\" name" <q@x>`, `[("quoted \"inner\" name" q@x)]`},
		{"user@example.com (User Name)", `[("User Name" user@example.com)]`},
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", `[("Pete" pete@silly.test)]`},
		{"<@a.test,@b.test:joe@c.test>", "[(@a.test,@b.test joe@c.test)]"},
		{`"john doe"@example.com`, `[("john doe"@example.com)]`},
		{`"john"@example.com`, "[(john@example.com)]"},
		{`"a\"b"@example.com`, `[("a\"b"@example.com)]`},
		{"undisclosed-recipients:;", `[group("undisclosed-recipients": ;)]`},
		{"Team: a@x, B <b@y>;, c@z", `[group("Team": (a@x) ("B" b@y) ;) (c@z)]`},
		{"Team: a@x", `[group("Team": (a@x) ;)]`},
		{"nodomain", "[(nodomain@)]"},
		{"John Smith john@smith.test", `[("John Smith" john@smith.test)]`},
		{"=?utf-8?q?J=C3=B6rg?= <j@x>", `[("=?utf-8?q?J=C3=B6rg?=" j@x)]`},
		{"Jörg <j@x>", `[("Jörg" j@x)]`},
		{"<j@x>", "[(j@x)]"},
		{"<>", "[]"},
		{"Name <>", `[("Name" @)]`},
		{"a@b, , ,c@d", "[(a@b) (c@d)]"},
		{"a@[192.0.2.1]", "[(a@[192.0.2.1])]"},
		{"John Q. Public <jqp@x>", `[("John Q. Public" jqp@x)]`},
		{"<broken@x", "[(broken@x)]"},
		{"\"unterminated <u@x>", `[("unterminated <u@x>"@)]`},
		{"a@b <c@d>", `[("a@b" c@d)]`},
		{"a@b garbage, c@d", "[(a@b) (c@d)]"},
		{"a@ b.example", "[(a@b.example)]"},
		{"first.last@sub.example.com", "[(first.last@sub.example.com)]"},
		{">>> <<<", "[]"},
		{"@@@", "[]"},
		{"a: b: c@d;;", `[group("a": (b@) (c@d) ;)]`},
		{`"": a@b; c@d`, "[(a@b) (c@d)]"},
	}
	for _, tt := range tests {
		got := fmtAddrs(ParseAddressList(tt.in))
		if tt.want == "[]" && got == "nil" {
			got = "[]"
		}
		if got != tt.want {
			t.Errorf("ParseAddressList(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

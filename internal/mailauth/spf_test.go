package mailauth

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func spfZone() string {
	z := `
pass.test.     TXT "v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 -all"
fail.test.     TXT "v=spf1 -all"
softfail.test. TXT "v=spf1 ~all"
neutral.test.  TXT "v=spf1 ?all"
none.test.     A 192.0.2.9
perm.test.     TXT "v=spf1 foo:bar -all"
two.test.      TXT "v=spf1 -all"
two.test.      TXT "v=spf1 +all"
include.test.  TXT "v=spf1 include:pass.test -all"
mx.test.       TXT "v=spf1 mx -all"
mx.test.       MX 10 mail.mx.test.
mail.mx.test.  A 192.0.2.1
temp.test.     TXT "v=spf1 include:broken.test -all"
redirect.test. TXT "v=spf1 redirect=pass.test"
macro.test.    TXT "v=spf1 exists:%{l}.users.macro.test -all"
alice.users.macro.test. A 127.0.0.2
Multi.Case.test. TXT "v=spf1 " "ip4:192.0.2.1" " -all"
`
	// A chain of 11 includes passes the limit of 10 lookups (RFC 7208
	// section 4.6.4).
	for i := range 11 {
		z += fmt.Sprintf("l%d.test. TXT \"v=spf1 include:l%d.test -all\"\n", i, i+1)
	}
	z += "l11.test. TXT \"v=spf1 +all\"\n"
	return z
}

func TestSPFDecisionTable(t *testing.T) {
	v := verifier(t, spfZone(), "broken.test", "tempdirect.test")
	for _, tc := range []struct {
		name, ip, helo, mailFrom string
		want                     Status
		identity, domain         string
	}{
		{"pass", "192.0.2.1", "client.test", "a@pass.test", StatusPass, "mailfrom", "pass.test"},
		{"pass ipv6", "2001:db8::25", "client.test", "a@pass.test", StatusPass, "mailfrom", "pass.test"},
		{"pass mapped ipv4", "::ffff:192.0.2.1", "client.test", "a@pass.test", StatusPass, "mailfrom", "pass.test"},
		{"fail", "192.0.2.1", "client.test", "a@fail.test", StatusFail, "mailfrom", "fail.test"},
		{"fail other ip", "198.51.100.1", "client.test", "a@pass.test", StatusFail, "mailfrom", "pass.test"},
		{"softfail", "192.0.2.1", "client.test", "a@softfail.test", StatusSoftFail, "mailfrom", "softfail.test"},
		{"neutral", "192.0.2.1", "client.test", "a@neutral.test", StatusNeutral, "mailfrom", "neutral.test"},
		{"none: no record", "192.0.2.1", "client.test", "a@none.test", StatusNone, "mailfrom", "none.test"},
		{"none: no domain", "192.0.2.1", "client.test", "a@nxdomain.test", StatusNone, "mailfrom", "nxdomain.test"},
		{"none: address literal", "192.0.2.1", "client.test", "a@[192.0.2.1]", StatusNone, "mailfrom", "[192.0.2.1]"},
		{"permerror: unknown mechanism", "192.0.2.1", "client.test", "a@perm.test", StatusPermError, "mailfrom", "perm.test"},
		{"permerror: two records", "192.0.2.1", "client.test", "a@two.test", StatusPermError, "mailfrom", "two.test"},
		{"permerror: lookup limit", "192.0.2.1", "client.test", "a@l0.test", StatusPermError, "mailfrom", "l0.test"},
		{"temperror: include fails", "192.0.2.1", "client.test", "a@temp.test", StatusTempError, "mailfrom", "temp.test"},
		{"temperror: record lookup fails", "192.0.2.1", "client.test", "a@tempdirect.test", StatusTempError, "mailfrom", "tempdirect.test"},
		{"include", "192.0.2.1", "client.test", "a@include.test", StatusPass, "mailfrom", "include.test"},
		{"redirect", "192.0.2.1", "client.test", "a@redirect.test", StatusPass, "mailfrom", "redirect.test"},
		{"mx", "192.0.2.1", "client.test", "a@mx.test", StatusPass, "mailfrom", "mx.test"},
		{"mx other ip", "192.0.2.2", "client.test", "a@mx.test", StatusFail, "mailfrom", "mx.test"},
		{"macro local part", "192.0.2.1", "client.test", "alice@macro.test", StatusPass, "mailfrom", "macro.test"},
		{"macro other local part", "192.0.2.1", "client.test", "bob@macro.test", StatusFail, "mailfrom", "macro.test"},
		{"split strings, case", "192.0.2.1", "client.test", "a@multi.CASE.test", StatusPass, "mailfrom", "multi.case.test"},
		{"null sender: helo pass", "192.0.2.1", "pass.test", "", StatusPass, "helo", "pass.test"},
		{"null sender: helo fail", "192.0.2.1", "fail.test", "", StatusFail, "helo", "fail.test"},
		{"null sender: helo literal", "192.0.2.1", "[192.0.2.1]", "", StatusNone, "helo", "[192.0.2.1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := message("From: a@" + tc.domain)
			in := input(tc.ip, tc.helo, tc.mailFrom, msg)
			got := v.checkSPF(context.Background(), in)
			if got.Status != tc.want || got.Identity != tc.identity || got.Domain != tc.domain {
				t.Fatalf("got %+v, want %s for %s %s", got, tc.want, tc.identity, tc.domain)
			}
			// The same result reaches the header field.
			res := v.Verify(context.Background(), in)
			want := "spf=" + string(tc.want)
			if !strings.Contains(res.Header, want) {
				t.Fatalf("header %q lacks %q", res.Header, want)
			}
			prop := "smtp.mailfrom="
			if tc.identity == "helo" {
				prop = "smtp.helo="
			}
			if !strings.Contains(res.Header, prop) {
				t.Fatalf("header %q lacks %s", res.Header, prop)
			}
		})
	}
}

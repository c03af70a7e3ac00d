package mailauth

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

func TestDMARCDecisionTable(t *testing.T) {
	f := newFixture(t, "example.org", "other.test")
	base := f.records("example.org", "other.test") + `
example.org.          TXT "v=spf1 ip4:192.0.2.1 -all"
bounce.example.org.   TXT "v=spf1 ip4:192.0.2.1 -all"
sub.example.org.      TXT "v=spf1 ip4:192.0.2.1 -all"
other.test.           TXT "v=spf1 ip4:192.0.2.1 -all"
other.co.uk.          TXT "v=spf1 ip4:192.0.2.1 -all"
xn--bcher-kva.example. TXT "v=spf1 ip4:192.0.2.1 -all"
`
	const reject = `_dmarc.example.org. TXT "v=DMARC1; p=reject"` + "\n"
	type row struct {
		name     string
		dmarc    string // _dmarc records
		temp     []string
		from     string // From header line ("" for none)
		mailFrom string
		ip       string
		signWith string
		sample   *bool // pct sampling outcome, nil for the real one

		status  Status
		action  Action
		policy  string
		applied string
	}
	yes, no := true, false
	for _, tc := range []row{
		{name: "SPF aligned (relaxed)", dmarc: reject, from: "From: alice@example.org", mailFrom: "b@bounce.example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "SPF aligned exactly", dmarc: reject, from: "From: alice@example.org", mailFrom: "alice@example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "SPF not aligned (strict)", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=reject; aspf=s"`, from: "From: alice@example.org", mailFrom: "b@bounce.example.org",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "SPF fail, aligned domain", dmarc: reject, from: "From: alice@example.org", mailFrom: "alice@example.org", ip: "192.0.2.99",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "DKIM aligned", dmarc: reject, from: "From: alice@example.org", mailFrom: "x@other.test", signWith: "example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "DKIM aligned (relaxed), subdomain From", dmarc: reject, from: "From: alice@sub.example.org", mailFrom: "x@other.test", signWith: "example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "DKIM not aligned (strict)", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=reject; adkim=s"`, from: "From: alice@sub.example.org", mailFrom: "x@other.test", signWith: "example.org",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "neither aligned", dmarc: reject, from: "From: alice@example.org", mailFrom: "x@other.test", signWith: "other.test",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "quarantine", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=quarantine"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Quarantine, policy: "quarantine", applied: "quarantine"},
		{name: "p=none", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=none; rua=mailto:d@example.org"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Accept, policy: "none", applied: "none"},
		{name: "sp applies to a subdomain", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=none; sp=reject"`, from: "From: alice@sub.example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "p applies to the domain itself", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=none; sp=reject"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Accept, policy: "none", applied: "none"},
		{name: "subdomain without sp gets p", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=quarantine"`, from: "From: alice@deep.sub.example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Quarantine, policy: "quarantine", applied: "quarantine"},
		{name: "subdomain's own record wins", dmarc: reject + `_dmarc.sub.example.org. TXT "v=DMARC1; p=quarantine; sp=none"`, from: "From: alice@sub.example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Quarantine, policy: "quarantine", applied: "quarantine"},
		{name: "pct=0: reject becomes quarantine", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=reject; pct=0"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Quarantine, policy: "reject", applied: "quarantine"},
		{name: "pct=0: quarantine becomes none", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=quarantine; pct=0"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Accept, policy: "quarantine", applied: "none"},
		{name: "pct=100", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=reject; pct=100"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "pct=50, sampled in", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=reject; pct=50"`, from: "From: alice@example.org", mailFrom: "x@other.test", sample: &yes,
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "pct=50, sampled out", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=reject; pct=50"`, from: "From: alice@example.org", mailFrom: "x@other.test", sample: &no,
			status: StatusFail, action: Quarantine, policy: "reject", applied: "quarantine"},
		{name: "no record", from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusNone, action: Accept},
		{name: "only other TXT records", dmarc: `_dmarc.example.org. TXT "v=spf1 -all"` + "\n" + `_dmarc.example.org. TXT "hello"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusNone, action: Accept},
		{name: "two records: no policy", dmarc: reject + `_dmarc.example.org. TXT "v=DMARC1; p=none"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusNone, action: Accept},
		{name: "record does not parse", dmarc: `_dmarc.example.org. TXT "v=DMARC1; p=bogus"`, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusPermError, action: Accept},
		{name: "record lookup fails", dmarc: reject, temp: []string{"_dmarc.example.org"}, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusTempError, action: Defer},
		{name: "SPF temperror could align", dmarc: reject, temp: []string{"example.org"}, from: "From: alice@example.org", mailFrom: "alice@example.org",
			status: StatusFail, action: Defer, policy: "reject", applied: "reject"},
		{name: "SPF temperror cannot align", dmarc: reject, temp: []string{"other.test"}, from: "From: alice@example.org", mailFrom: "x@other.test",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "DKIM temperror could align", dmarc: reject, temp: []string{"pf202611r._domainkey.example.org", "pf202611e._domainkey.example.org"}, from: "From: alice@example.org", mailFrom: "x@other.test", signWith: "example.org",
			status: StatusFail, action: Defer, policy: "reject", applied: "reject"},
		{name: "no From", dmarc: reject, mailFrom: "alice@example.org",
			status: StatusPermError, action: Reject},
		{name: "two From fields", dmarc: reject, from: "From: alice@example.org\r\nFrom: eve@other.test", mailFrom: "alice@example.org",
			status: StatusPermError, action: Reject},
		{name: "From in two domains", dmarc: reject, from: "From: alice@example.org, eve@other.test", mailFrom: "alice@example.org",
			status: StatusPermError, action: Reject},
		{name: "From without domain", dmarc: reject, from: "From: alice", mailFrom: "alice@example.org",
			status: StatusPermError, action: Reject},
		{name: "From empty group", dmarc: reject, from: "From: undisclosed-recipients:;", mailFrom: "alice@example.org",
			status: StatusPermError, action: Reject},
		{name: "From two addresses, one domain", dmarc: reject, from: "From: alice@example.org, \"Bob\" <bob@Example.ORG>", mailFrom: "alice@example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "From group", dmarc: reject, from: "From: Team: alice@example.org;", mailFrom: "alice@example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "From upper case, folded", dmarc: reject, from: "From: \"Alice\"\r\n <Alice@EXAMPLE.ORG>", mailFrom: "alice@example.org",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
		{name: "public suffix: no relaxed alignment across registrations", dmarc: `_dmarc.example.co.uk. TXT "v=DMARC1; p=reject"`, from: "From: a@example.co.uk", mailFrom: "x@other.co.uk",
			status: StatusFail, action: Reject, policy: "reject", applied: "reject"},
		{name: "IDN From domain", dmarc: `_dmarc.xn--bcher-kva.example. TXT "v=DMARC1; p=reject"`, from: "From: a@bücher.example", mailFrom: "b@xn--bcher-kva.example",
			status: StatusPass, action: Accept, policy: "reject", applied: "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier(t, base+tc.dmarc+"\n", tc.temp...)
			if tc.sample != nil {
				v.sample = func(int) bool { return *tc.sample }
			}
			var hdr []string
			if tc.from != "" {
				hdr = append(hdr, tc.from)
			}
			msg := message(append(hdr, "To: bob@example.net")...)
			if tc.signWith != "" {
				msg = f.sign(t, tc.signWith, msg)
			}
			ip := tc.ip
			if ip == "" {
				ip = "192.0.2.1"
			}
			res := v.Verify(context.Background(), input(ip, "client.test", tc.mailFrom, msg))
			dm := res.DMARC
			if dm.Status != tc.status || res.Action != tc.action || dm.Policy != tc.policy || dm.Applied != tc.applied {
				t.Fatalf("got %s/%s policy %q applied %q (%+v, reason %q); want %s/%s policy %q applied %q\nSPF %+v\nDKIM %+v",
					dm.Status, res.Action, dm.Policy, dm.Applied, dm, res.Reason, tc.status, tc.action, tc.policy, tc.applied, res.SPF, res.DKIM)
			}
			if (res.Action == Accept) != (res.Reason == "") {
				t.Fatalf("action %s with reason %q", res.Action, res.Reason)
			}
			id, results, err := parseAuthResults(res.Header)
			if err != nil || id != "mx.postfach.test" {
				t.Fatalf("header %q: %q %v", res.Header, id, err)
			}
			var found bool
			for _, r := range results {
				if d, ok := r.(*authres.DMARCResult); ok {
					found = true
					if string(d.Value) != string(tc.status) || (dm.From != "" && !strings.EqualFold(d.From, dm.From)) {
						t.Fatalf("header dmarc %+v, want %s from %s", d, tc.status, dm.From)
					}
				}
			}
			if !found {
				t.Fatalf("no dmarc result in %q", res.Header)
			}
		})
	}
}

func TestOrganizationalDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.org":           "example.org",
		"a.b.example.org":       "example.org",
		"mail.example.co.uk":    "example.co.uk",
		"co.uk":                 "co.uk",
		"org":                   "org",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
	} {
		if got := organizationalDomain(in); got != want {
			t.Errorf("organizationalDomain(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestIsDMARCRecord(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=DMARC1; p=none":   true,
		"v = DMARC1 ;p=none": true,
		"v=DMARC1":           true,
		"v=dmarc1; p=none":   false,
		"p=none; v=DMARC1":   false,
		"v=DMARC2; p=none":   false,
		"":                   false,
	} {
		if got := isDMARCRecord(txt); got != want {
			t.Errorf("isDMARCRecord(%q) = %v", txt, got)
		}
	}
}

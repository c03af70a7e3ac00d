package autoconfig

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAutodiscoverRequest: any body either fails cleanly or yields
// a non-empty address; accepted addresses that parse produce a response
// that is well-formed XML and carries the address back unchanged.
func FuzzParseAutodiscoverRequest(f *testing.F) {
	f.Add(autodiscoverBody("alice@example.org", nsOutlookResponse))
	f.Add(autodiscoverBody("a&b@example.org", ""))
	f.Add(`<Autodiscover><Request><EMailAddress>x@example.org</EMailAddress></Request></Autodiscover>`)
	f.Add(`<?xml version="1.0" encoding="us-ascii"?><Autodiscover><Request><EMailAddress>x@example.org</EMailAddress></Request></Autodiscover>`)
	f.Add(`<!DOCTYPE a [<!ENTITY e "x">]><Autodiscover><Request><EMailAddress>&e;@example.org</EMailAddress></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress><![CDATA[a<b@example.org]]></EMailAddress></Request></Autodiscover>`)
	h := New(Options{
		Hostname: "mail.example.org",
		Services: func() []Service { return allServices },
	})
	f.Fuzz(func(t *testing.T, body string) {
		email, _, err := parseAutodiscoverRequest(strings.NewReader(body))
		if err != nil {
			return
		}
		if email == "" || email != strings.TrimSpace(email) {
			t.Fatalf("email %q", email)
		}
		address, _, err := parseAddress(email)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		enc := xml.NewEncoder(&buf)
		if err := enc.Encode(&autodiscoverResponse{Response: adResponse{
			XMLName: xml.Name{Space: nsOutlookResponse, Local: "Response"},
			Account: h.autodiscoverAccount(address),
		}}); err != nil {
			t.Fatal(err)
		}
		var back adDoc
		if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("response does not parse: %v\n%s", err, buf.Bytes())
		}
		if back.Response.Account == nil || back.Response.Account.Protocol[0].LoginName != address {
			t.Fatalf("login name %q did not survive:\n%s", address, buf.Bytes())
		}
	})
}

// FuzzParseAddress: accepted addresses are valid UTF-8, lower case, within
// the length limits, with one domain that is a lower-case A-label, and
// parsing them again gives the same result.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"alice@example.org", "Jörg@Bücher.example", "a..b@x", "a@[1.2.3.4]", "a@b@c", "x@xn--bcher-kva.example."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		address, domain, err := parseAddress(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(address) || len(address) > 2*maxAddressLen || !strings.HasSuffix(address, "@"+domain) {
			t.Fatalf("parseAddress(%q) = %q, %q", s, address, domain)
		}
		for i := 0; i < len(domain); i++ {
			c := domain[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("domain %q of %q", domain, s)
			}
		}
		a2, d2, err := parseAddress(address)
		if err != nil || a2 != address || d2 != domain {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, address, a2, err)
		}
	})
}

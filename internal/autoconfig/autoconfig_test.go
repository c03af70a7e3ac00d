package autoconfig

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// allServices is a server with every client listener on, the STARTTLS
// ones first to show that the documents reorder them.
var allServices = []Service{
	{Listener: "imap", Protocol: IMAP, Security: STARTTLS, Port: 143},
	{Listener: "pop3", Protocol: POP3, Security: STARTTLS, Port: 110},
	{Listener: "submission", Protocol: SMTP, Security: STARTTLS, Port: 587},
	{Listener: "imaps", Protocol: IMAP, Security: ImplicitTLS, Port: 993},
	{Listener: "pop3s", Protocol: POP3, Security: ImplicitTLS, Port: 995},
	{Listener: "submissions", Protocol: SMTP, Security: ImplicitTLS, Port: 465},
}

type fixture struct {
	h           *Handler
	services    []Service
	domainCalls atomic.Int32
	domainsErr  error
	now         time.Time
}

func newFixture(t *testing.T, services []Service) *fixture {
	f := &fixture{services: services, now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	f.h = New(Options{
		Hostname: "Mail.Example.org.",
		Services: func() []Service { return f.services },
		Domains: func(ctx context.Context) ([]string, error) {
			f.domainCalls.Add(1)
			if f.domainsErr != nil {
				return nil, f.domainsErr
			}
			return []string{"example.org", "Example.NET", "xn--bcher-kva.example"}, nil
		},
		Policy: Policy{Mode: "enforce", MX: []string{"mail.example.org", "*.mx.example.org"}, MaxAge: 7 * 24 * time.Hour},
		Now:    func() time.Time { return f.now },
	})
	return f
}

type response struct {
	code   int
	header http.Header
	body   string
}

func (f *fixture) do(t *testing.T, method, host, target, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Host = host
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// Test-side views of the documents, written from the formats'
// descriptions, not shared with the code under test.

type tbConfig struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID       string     `xml:"id,attr"`
		Domain   []string   `xml:"domain"`
		Incoming []tbServer `xml:"incomingServer"`
		Outgoing []tbServer `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type tbServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
}

func (s tbServer) String() string {
	return s.Type + " " + s.Hostname + " " + itoa(s.Port) + " " + s.SocketType
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestMozillaAutoconfig(t *testing.T) {
	f := newFixture(t, allServices)
	r := f.do(t, "GET", "autoconfig.example.org", "/mail/config-v1.1.xml?emailaddress=Alice%40Example.org", "")
	if r.code != 200 {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Errorf("content type %q", ct)
	}
	var doc tbConfig
	if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	if doc.Version != "1.1" || doc.Provider.ID != "example.org" || !slices.Equal(doc.Provider.Domain, []string{"example.org"}) {
		t.Errorf("provider %+v", doc.Provider)
	}
	var in, out []string
	for _, s := range doc.Provider.Incoming {
		in = append(in, s.String())
		if s.Username != "%EMAILADDRESS%" || s.Authentication != "password-cleartext" {
			t.Errorf("incoming %+v", s)
		}
	}
	for _, s := range doc.Provider.Outgoing {
		out = append(out, s.String())
	}
	wantIn := []string{"imap mail.example.org 993 SSL", "pop3 mail.example.org 995 SSL", "imap mail.example.org 143 STARTTLS", "pop3 mail.example.org 110 STARTTLS"}
	wantOut := []string{"smtp mail.example.org 465 SSL", "smtp mail.example.org 587 STARTTLS"}
	if !slices.Equal(in, wantIn) || !slices.Equal(out, wantOut) {
		t.Errorf("servers:\n in %q\nout %q", in, out)
	}

	// The same answer for an address that has no account, and for the
	// well-known location on the domain itself.
	for _, alt := range []struct{ host, target string }{
		{"autoconfig.example.org", "/mail/config-v1.1.xml?emailaddress=nobody%40example.org"},
		{"example.org", "/.well-known/autoconfig/mail/config-v1.1.xml"},
		{"autoconfig.example.org:443", "/mail/config-v1.1.xml"},
		{"mail.example.org", "/mail/config-v1.1.xml?emailaddress=x%40example.org"},
		{"192.0.2.1", "/mail/config-v1.1.xml?emailaddress=x%40example.org"},
		{"[2001:db8::1]:80", "/mail/config-v1.1.xml?emailaddress=x%40example.org"},
	} {
		if r2 := f.do(t, "GET", alt.host, alt.target, ""); r2.code != 200 || r2.body != r.body {
			t.Errorf("%s%s: status %d, body differs: %v", alt.host, alt.target, r2.code, r2.body != r.body)
		}
	}
	// IDN domains come back as A-labels.
	r = f.do(t, "GET", "autoconfig.xn--bcher-kva.example", "/mail/config-v1.1.xml?emailaddress=a%40b%C3%BCcher.example", "")
	if r.code != 200 || !strings.Contains(r.body, "<domain>xn--bcher-kva.example</domain>") {
		t.Errorf("IDN: %d %s", r.code, r.body)
	}
	// HEAD gets the headers.
	if r := f.do(t, "HEAD", "example.org", pathAutoconfigWellKnown, ""); r.code != 200 {
		t.Errorf("HEAD: %d", r.code)
	}
}

func TestMozillaAutoconfigRefusals(t *testing.T) {
	f := newFixture(t, allServices)
	for _, tc := range []struct {
		method, host, target string
		code                 int
	}{
		{"GET", "autoconfig.example.com", "/mail/config-v1.1.xml?emailaddress=a%40example.com", 404}, // unknown host
		{"GET", "autoconfig.example.org", "/mail/config-v1.1.xml?emailaddress=a%40example.com", 404}, // unknown domain
		{"GET", "autoconfig.example.org", "/mail/config-v1.1.xml?emailaddress=not-an-address", 400},
		{"GET", "autoconfig.example.org", "/mail/config-v1.1.xml?emailaddress=a%40%5B192.0.2.1%5D", 400},
		{"GET", "autoconfig.example.org", "/mail/config-v1.1.xml?emailaddress=a%3Cb%3E%40example.org", 400},
		{"GET", "mail.example.org", "/mail/config-v1.1.xml", 400}, // no domain known
		{"POST", "autoconfig.example.org", "/mail/config-v1.1.xml", 405},
		{"GET", "autoconfig.example.org", "/mail/config-v1.1.xml/x", 404},
		{"GET", "autoconfig.example.org", "/", 404},
	} {
		if r := f.do(t, tc.method, tc.host, tc.target, ""); r.code != tc.code {
			t.Errorf("%s %s%s: status %d, want %d", tc.method, tc.host, tc.target, r.code, tc.code)
		}
	}
	// Without incoming listeners there is nothing to configure.
	f.services = []Service{{Listener: "submissions", Protocol: SMTP, Port: 465}}
	if r := f.do(t, "GET", "example.org", pathAutoconfigWellKnown, ""); r.code != 404 {
		t.Errorf("no incoming service: status %d", r.code)
	}
}

// Only the services of running listeners are advertised.
func TestOnlyRunningListeners(t *testing.T) {
	f := newFixture(t, []Service{
		{Listener: "imap", Protocol: IMAP, Security: STARTTLS, Port: 10143},
		{Listener: "submission", Protocol: SMTP, Security: STARTTLS, Port: 10587},
	})
	r := f.do(t, "GET", "example.org", pathAutoconfigWellKnown, "")
	var doc tbConfig
	if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Provider.Incoming) != 1 || doc.Provider.Incoming[0].String() != "imap mail.example.org 10143 STARTTLS" ||
		len(doc.Provider.Outgoing) != 1 || doc.Provider.Outgoing[0].String() != "smtp mail.example.org 10587 STARTTLS" {
		t.Errorf("servers %+v", doc.Provider)
	}
}

func TestServicesFromPorts(t *testing.T) {
	ports := map[string]int{"imap": 143, "imaps": 993, "submission": 587, "smtp": 25, "pop3s": 0, "http": 80}
	got := Services(func(name string) int { return ports[name] })
	var names []string
	for _, s := range got {
		names = append(names, s.Listener)
	}
	if !slices.Equal(names, []string{"imaps", "submission", "imap"}) {
		t.Errorf("services %v", names)
	}
	if got[0].Port != 993 || got[0].Security != ImplicitTLS || got[1].Security != STARTTLS || got[1].Protocol != SMTP {
		t.Errorf("services %+v", got)
	}
}

const nsOutlookRequest = nsRequest

func autodiscoverBody(email, schema string) string {
	var esc strings.Builder
	xml.EscapeText(&esc, []byte(email))
	email = esc.String()
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="` + nsOutlookRequest + `">
  <Request>
    <EMailAddress>` + email + `</EMailAddress>
    <AcceptableResponseSchema>` + schema + `</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

type adDoc struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	Response struct {
		XMLName xml.Name
		Account *struct {
			XMLName     xml.Name
			AccountType string
			Action      string
			Protocol    []struct {
				Type, Server                    string
				Port                            int
				LoginName, SSL, Encryption, SPA string
				AuthRequired, DomainRequired    string
				UsePOPAuth, SMTPLast            string
			}
		}
		Error *struct {
			Time      string `xml:"Time,attr"`
			Id        string `xml:"Id,attr"`
			ErrorCode int
			Message   string
		}
	}
}

func TestAutodiscoverPOX(t *testing.T) {
	f := newFixture(t, allServices)
	post := func(host, email, schema string) (response, adDoc) {
		t.Helper()
		r := f.do(t, "POST", host, "/Autodiscover/Autodiscover.xml", autodiscoverBody(email, schema))
		var doc adDoc
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatalf("%v\n%s", err, r.body)
		}
		if doc.XMLName.Space != nsResponse {
			t.Errorf("root namespace %q", doc.XMLName.Space)
		}
		return r, doc
	}
	r, doc := post("autodiscover.example.org", "Tim&Co@example.org", nsOutlookResponse)
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
		t.Fatalf("status %d %q", r.code, r.header.Get("Content-Type"))
	}
	acct := doc.Response.Account
	if doc.Response.XMLName.Space != nsOutlookResponse || acct == nil || doc.Response.Error != nil {
		t.Fatalf("response %+v\n%s", doc.Response, r.body)
	}
	if acct.XMLName.Space != nsOutlookResponse || acct.AccountType != "email" || acct.Action != "settings" {
		t.Errorf("account %+v", acct)
	}
	var got []string
	for _, p := range acct.Protocol {
		got = append(got, p.Type+" "+p.Server+" "+itoa(p.Port)+" "+p.SSL+" "+p.Encryption)
		// The ampersand came back intact: it was escaped.
		if p.LoginName != "tim&co@example.org" || p.SPA != "off" || p.AuthRequired != "on" || p.DomainRequired != "off" {
			t.Errorf("protocol %+v", p)
		}
		if (p.Type == "SMTP") != (p.UsePOPAuth == "off" && p.SMTPLast == "off") {
			t.Errorf("SMTP fields of %+v", p)
		}
	}
	want := []string{
		"IMAP mail.example.org 993 on SSL", "POP3 mail.example.org 995 on SSL",
		"SMTP mail.example.org 465 on SSL", "SMTP mail.example.org 587 on TLS",
		"IMAP mail.example.org 143 on TLS", "POP3 mail.example.org 110 on TLS",
	}
	if !slices.Equal(got, want) {
		t.Errorf("protocols\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(r.body, "&amp;") {
		t.Errorf("LoginName not escaped:\n%s", r.body)
	}

	// An address without account gets the same document, but its own
	// login name. A request without a schema is taken as Outlook's.
	r2, _ := post("example.org", "nobody@example.org", "")
	if r2.code != 200 || strings.ReplaceAll(r2.body, "nobody@", "tim&amp;co@") != r.body {
		t.Errorf("unknown user differs:\n%s", r2.body)
	}

	// Errors.
	for _, tc := range []struct {
		email, schema string
		code          int
	}{
		{"a@example.com", nsOutlookResponse, adErrAddressNotFound},
		{"no address", nsOutlookResponse, adErrInvalidRequest},
		{"a@example.org", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006", adErrNoProvider},
	} {
		r, doc := post("autodiscover.example.org", tc.email, tc.schema)
		if r.code != 200 || doc.Response.Error == nil || doc.Response.Error.ErrorCode != tc.code || doc.Response.Account != nil {
			t.Errorf("%s %s: %d %s", tc.email, tc.schema, r.code, r.body)
			continue
		}
		if e := doc.Response.Error; !regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{7}$`).MatchString(e.Time) || e.Id == "" || e.Message == "" {
			t.Errorf("error element %+v", e)
		}
	}
	// GET: the error document; malformed bodies too.
	for _, body := range []string{"", "<Autodiscover>", "<Other><Request><EMailAddress>a@example.org</EMailAddress></Request></Other>",
		`<?xml version="1.0" encoding="iso-8859-1"?><Autodiscover><Request><EMailAddress>a@example.org</EMailAddress></Request></Autodiscover>`} {
		method := "POST"
		if body == "" {
			method = "GET"
		}
		r := f.do(t, method, "autodiscover.example.org", "/autodiscover/autodiscover.xml", body)
		var doc adDoc
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil || r.code != 200 || doc.Response.Error == nil || doc.Response.Error.ErrorCode != adErrInvalidRequest {
			t.Errorf("%s %q: %d %s", method, body, r.code, r.body)
		}
	}
	// Bodies are bounded.
	big := autodiscoverBody(strings.Repeat("a", maxBodySize)+"@example.org", "")
	if r := f.do(t, "POST", "autodiscover.example.org", "/autodiscover/autodiscover.xml", big); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", r.code)
	}
	if r := f.do(t, "PUT", "autodiscover.example.org", "/autodiscover/autodiscover.xml", "x"); r.code != 405 || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("PUT: %d %v", r.code, r.header)
	}
}

func TestAutodiscoverJSON(t *testing.T) {
	f := newFixture(t, allServices)
	for _, tc := range []struct {
		host, target string
		code         int
		want         map[string]string
	}{
		{"autodiscover.example.org", "/autodiscover/autodiscover.json?Email=a%40example.org&Protocol=AutodiscoverV1", 200,
			map[string]string{"Protocol": "AutodiscoverV1", "Url": "https://autodiscover.example.org/autodiscover/autodiscover.xml"}},
		{"autodiscover.example.org:443", "/autodiscover/autodiscover.json/v1.0/nobody@example.org?Protocol=autodiscoverv1", 200,
			map[string]string{"Protocol": "AutodiscoverV1", "Url": "https://autodiscover.example.org/autodiscover/autodiscover.xml"}},
		{"192.0.2.1", "/Autodiscover/Autodiscover.json?email=a%40example.org&protocol=AutodiscoverV1", 200,
			map[string]string{"Protocol": "AutodiscoverV1", "Url": "https://mail.example.org/autodiscover/autodiscover.xml"}},
		{"autodiscover.example.org", "/autodiscover/autodiscover.json?Email=a%40example.org&Protocol=ActiveSync", 400,
			map[string]string{"ErrorCode": "InvalidProtocol"}},
		{"autodiscover.example.org", "/autodiscover/autodiscover.json?Email=bad&Protocol=AutodiscoverV1", 400,
			map[string]string{"ErrorCode": "InvalidUser"}},
		{"autodiscover.example.org", "/autodiscover/autodiscover.json?Email=a%40example.com&Protocol=AutodiscoverV1", 404,
			map[string]string{"ErrorCode": "NotFound"}},
		{"autodiscover.example.org", "/autodiscover/autodiscover.json/v2.0/a@example.org?Protocol=AutodiscoverV1", 404,
			map[string]string{"ErrorCode": "NotFound"}},
	} {
		r := f.do(t, "GET", tc.host, tc.target, "")
		var got map[string]string
		if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.code != tc.code {
			t.Errorf("%s: %d %s (%v)", tc.target, r.code, r.body, err)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.target, k, got[k], v)
			}
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("content type %q", ct)
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestAppleProfile(t *testing.T) {
	f := newFixture(t, allServices)
	get := func(address string) (response, map[string]any) {
		t.Helper()
		r := f.do(t, "GET", "mail.example.org", AppleProfileURL("mail.example.org", address)[len("https://mail.example.org"):], "")
		if r.code != 200 {
			t.Fatalf("%s: status %d %s", address, r.code, r.body)
		}
		v, err := parsePlist([]byte(r.body))
		if err != nil {
			t.Fatalf("%s: not a plist: %v\n%s", address, err, r.body)
		}
		return r, v.(map[string]any)
	}
	r, top := get("o'neil&co+tag@example.org")
	if ct := r.header.Get("Content-Type"); ct != "application/x-apple-aspen-config" {
		t.Errorf("content type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".mobileconfig") {
		t.Errorf("content disposition %q", cd)
	}
	if !strings.HasPrefix(r.body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<!DOCTYPE plist") {
		t.Errorf("header:\n%s", r.body[:100])
	}
	if top["PayloadType"] != "Configuration" || top["PayloadVersion"] != int64(1) || !uuidRE.MatchString(top["PayloadUUID"].(string)) {
		t.Errorf("profile %v", top)
	}
	content := top["PayloadContent"].([]any)
	if len(content) != 1 {
		t.Fatalf("payloads %v", content)
	}
	mail := content[0].(map[string]any)
	want := map[string]any{
		"PayloadType":                            "com.apple.mail.managed",
		"PayloadVersion":                         int64(1),
		"EmailAccountType":                       "EmailTypeIMAP",
		"EmailAddress":                           "o'neil&co+tag@example.org",
		"IncomingMailServerHostName":             "mail.example.org",
		"IncomingMailServerPortNumber":           int64(993),
		"IncomingMailServerUseSSL":               true,
		"IncomingMailServerUsername":             "o'neil&co+tag@example.org",
		"IncomingMailServerAuthentication":       "EmailAuthPassword",
		"OutgoingMailServerHostName":             "mail.example.org",
		"OutgoingMailServerPortNumber":           int64(465),
		"OutgoingMailServerUseSSL":               true,
		"OutgoingMailServerUsername":             "o'neil&co+tag@example.org",
		"OutgoingMailServerAuthentication":       "EmailAuthPassword",
		"OutgoingPasswordSameAsIncomingPassword": true,
	}
	for k, v := range want {
		if mail[k] != v {
			t.Errorf("%s = %#v, want %#v", k, mail[k], v)
		}
	}
	if u := mail["PayloadUUID"].(string); !uuidRE.MatchString(u) || u == top["PayloadUUID"] {
		t.Errorf("payload UUID %q", u)
	}
	if id := mail["PayloadIdentifier"].(string); !strings.HasPrefix(id, top["PayloadIdentifier"].(string)+".") || !strings.HasPrefix(id, "org.example.mail.postfach.") {
		t.Errorf("identifiers %q %q", top["PayloadIdentifier"], id)
	}

	// Stable: the same address gives the same profile; another address
	// other UUIDs; an address without account is served alike.
	r2, _ := get("o'neil&co+tag@example.org")
	if r2.body != r.body {
		t.Error("profile changed between requests")
	}
	_, other := get("nobody@example.org")
	if other["PayloadUUID"] == top["PayloadUUID"] || other["PayloadIdentifier"] == top["PayloadIdentifier"] {
		t.Error("two addresses share UUIDs")
	}

	// Fallbacks: STARTTLS ports have UseSSL false; POP3 when there is no
	// IMAP.
	f.services = []Service{
		{Listener: "pop3", Protocol: POP3, Security: STARTTLS, Port: 110},
		{Listener: "submission", Protocol: SMTP, Security: STARTTLS, Port: 587},
	}
	_, top = get("a@example.org")
	mail = top["PayloadContent"].([]any)[0].(map[string]any)
	if mail["EmailAccountType"] != "EmailTypePOP" || mail["IncomingMailServerPortNumber"] != int64(110) ||
		mail["IncomingMailServerUseSSL"] != false || mail["OutgoingMailServerPortNumber"] != int64(587) || mail["OutgoingMailServerUseSSL"] != false {
		t.Errorf("fallback payload %v", mail)
	}

	for _, tc := range []struct {
		target string
		code   int
	}{
		{"/apple/a@example.com.mobileconfig", 404},
		{"/apple/not-an-address.mobileconfig", 400},
		{"/apple/a%3Cb@example.org.mobileconfig", 400},
		{"/apple/a@example.org.plist", 404},
	} {
		if r := f.do(t, "GET", "mail.example.org", tc.target, ""); r.code != tc.code {
			t.Errorf("%s: %d, want %d", tc.target, r.code, tc.code)
		}
	}
	f.services = []Service{{Listener: "imaps", Protocol: IMAP, Port: 993}}
	if r := f.do(t, "GET", "mail.example.org", "/apple/a@example.org.mobileconfig", ""); r.code != 404 || !strings.Contains(r.body, "submission") {
		t.Errorf("without submission: %d %s", r.code, r.body)
	}
}

func TestNameUUID(t *testing.T) {
	a, b := nameUUID("x"), nameUUID("y")
	if a == b || !uuidRE.MatchString(a) || !uuidRE.MatchString(b) || nameUUID("x") != a {
		t.Errorf("%s %s", a, b)
	}
}

func TestMTASTSPolicy(t *testing.T) {
	f := newFixture(t, allServices)
	r := f.do(t, "GET", "mta-sts.example.org", "/.well-known/mta-sts.txt", "")
	want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.mx.example.org\r\nmax_age: 604800\r\n"
	if r.code != 200 || r.body != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("policy %d %q %q", r.code, r.body, r.header.Get("Content-Type"))
	}
	// Parse it as a sender would (RFC 8461 section 3.2: key: value lines).
	fields := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(r.body, "\r\n"), "\r\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q", line)
		}
		fields[k] = append(fields[k], v)
	}
	if fields["version"][0] != "STSv1" || fields["mode"][0] != "enforce" || len(fields["mx"]) != 2 || fields["max_age"][0] != "604800" {
		t.Errorf("fields %v", fields)
	}
	for _, host := range []string{"example.org", "autoconfig.example.org", "mail.example.org", "mta-sts.example.com", "192.0.2.1"} {
		if r := f.do(t, "GET", host, "/.well-known/mta-sts.txt", ""); r.code != 404 {
			t.Errorf("policy served on %s: %d", host, r.code)
		}
	}
	if r := f.do(t, "GET", "MTA-STS.Example.NET.", "/.well-known/mta-sts.txt", ""); r.code != 200 {
		t.Errorf("mta-sts.example.net: %d", r.code)
	}

	p := f.h.opts.Policy
	id := p.ID()
	if !regexp.MustCompile(`^[a-zA-Z0-9]{1,32}$`).MatchString(id) || p.TXT() != "v=STSv1; id="+id {
		t.Errorf("id %q txt %q", id, p.TXT())
	}
	p.Mode = "testing"
	if p.ID() == id {
		t.Error("id did not change with the policy")
	}
}

func TestDomainsCache(t *testing.T) {
	f := newFixture(t, allServices)
	for range 3 {
		f.do(t, "GET", "example.org", pathAutoconfigWellKnown, "")
	}
	if n := f.domainCalls.Load(); n != 1 {
		t.Errorf("domains listed %d times within the TTL", n)
	}
	// After the TTL the list is fetched again; when that fails, the
	// last list is served.
	f.now = f.now.Add(domainsTTL)
	f.domainsErr = errors.New("store down")
	if r := f.do(t, "GET", "example.org", pathAutoconfigWellKnown, ""); r.code != 200 || f.domainCalls.Load() != 2 {
		t.Errorf("stale list: %d, %d calls", r.code, f.domainCalls.Load())
	}
	// Without any list: 503.
	f2 := newFixture(t, allServices)
	f2.domainsErr = errors.New("store down")
	if r := f2.do(t, "GET", "example.org", pathAutoconfigWellKnown, ""); r.code != 503 {
		t.Errorf("no list: %d", r.code)
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, address, domain string }{
		{"alice@example.org", "alice@example.org", "example.org"},
		{"  Alice@Example.ORG. ", "alice@example.org", "example.org"},
		{"a.b+c@mail.example.org", "a.b+c@mail.example.org", "mail.example.org"},
		{"jörg@bücher.example", "jörg@xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"o'neil&co@example.org", "o'neil&co@example.org", "example.org"},
		{"x@y", "x@y", "y"},
	} {
		a, d, err := parseAddress(tc.in)
		if err != nil || a != tc.address || d != tc.domain {
			t.Errorf("parseAddress(%q) = %q, %q, %v", tc.in, a, d, err)
		}
	}
	for _, bad := range []string{"", "alice", "@example.org", "alice@", "a@b@", "a b@example.org", "<a>@example.org",
		`"a b"@example.org`, ".a@example.org", "a.@example.org", "a..b@example.org", "a@[192.0.2.1]", "a@192.0.2.1",
		"a@exa mple.org", "a@-example.org", "a@example..org", strings.Repeat("a", 65) + "@example.org",
		"a@" + strings.Repeat("a", 64) + ".org", "a\x00@example.org", "a@exa\nmple.org", "\xff@example.org"} {
		if a, _, err := parseAddress(bad); err == nil {
			t.Errorf("parseAddress(%q) = %q, want an error", bad, a)
		}
	}
}

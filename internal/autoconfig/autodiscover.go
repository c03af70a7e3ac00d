package autoconfig

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
)

// Microsoft autodiscover, the "plain old XML" (POX) flavour Outlook uses
// for IMAP, POP3 and SMTP accounts ([MS-OXDSCLI]): the client POSTs its
// address to https://autodiscover.<domain>/autodiscover/autodiscover.xml
// (or https://<domain>/...) and gets the settings of an "email" account.
// Newer Outlooks first ask the JSON endpoint
// /autodiscover/autodiscover.json for the URL of the POX service.

// XML namespaces of the POX schemas.
const (
	nsRequest         = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	nsResponse        = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// Error codes of a POX error response ([MS-OXDSCLI] section 2.2.4.1.1.3).
const (
	adErrAddressNotFound = 500 // the address's domain is not served here
	adErrInvalidRequest  = 600 // the request is not a valid POX request
	adErrNoProvider      = 601 // the response schema asked for is not served
)

// autodiscoverRequest is the POX request body.
type autodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

var errBadRequest = errors.New("autodiscover: malformed request")

// parseAutodiscoverRequest reads a POX request and returns the address
// and the response schema asked for ("" when absent).
func parseAutodiscoverRequest(r io.Reader) (email, schema string, err error) {
	var req autodiscoverRequest
	dec := xml.NewDecoder(r)
	// Clients declare utf-8; anything else is refused rather than
	// guessed at.
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "us-ascii") {
			return input, nil
		}
		return nil, fmt.Errorf("%w: charset %q", errBadRequest, charset)
	}
	if err := dec.Decode(&req); err != nil {
		return "", "", fmt.Errorf("%w: %w", errBadRequest, err)
	}
	email = strings.TrimSpace(req.Request.EMailAddress)
	if email == "" {
		return "", "", fmt.Errorf("%w: no EMailAddress", errBadRequest)
	}
	return email, strings.TrimSpace(req.Request.AcceptableResponseSchema), nil
}

// autodiscoverResponse is the POX response: either Account or Error is set.
type autodiscoverResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response adResponse
}

type adResponse struct {
	// XMLName carries the Outlook schema's namespace on success, the
	// generic response schema's on errors.
	XMLName xml.Name
	Account *adAccount `xml:"Account,omitempty"`
	Error   *adError   `xml:"Error,omitempty"`
}

type adAccount struct {
	AccountType string       `xml:"AccountType"`
	Action      string       `xml:"Action"`
	Protocol    []adProtocol `xml:"Protocol"`
}

type adProtocol struct {
	Type           string `xml:"Type"` // IMAP, POP3, SMTP
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	DomainRequired string `xml:"DomainRequired"`
	LoginName      string `xml:"LoginName"`
	// SPA is Microsoft's NTLM-based login, which the server does not do.
	SPA string `xml:"SPA"`
	SSL string `xml:"SSL"`
	// Encryption overrides SSL in Outlook 2010 and later: "SSL" is
	// implicit TLS, "TLS" is STARTTLS (Outlook's own names).
	Encryption   string `xml:"Encryption"`
	AuthRequired string `xml:"AuthRequired"`
	// UsePOPAuth and SMTPLast apply to SMTP only.
	UsePOPAuth string `xml:"UsePOPAuth,omitempty"`
	SMTPLast   string `xml:"SMTPLast,omitempty"`
}

type adError struct {
	Time      string   `xml:"Time,attr"`
	ID        string   `xml:"Id,attr"`
	ErrorCode int      `xml:"ErrorCode"`
	Message   string   `xml:"Message"`
	DebugData struct{} `xml:"DebugData"`
}

const xmlContentType = "text/xml; charset=utf-8"

func (h *Handler) serveAutodiscoverXML(w http.ResponseWriter, r *http.Request, domains []string) {
	if r.Method != http.MethodPost {
		// Exchange answers a GET with an "Invalid Request" document;
		// clients probing with GET then know the endpoint exists.
		h.writeAutodiscoverError(w, adErrInvalidRequest, "Invalid Request")
		return
	}
	email, schema, err := parseAutodiscoverRequest(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.writeAutodiscoverError(w, adErrInvalidRequest, "Invalid Request")
		return
	}
	if schema != "" && schema != nsOutlookResponse {
		// ActiveSync (mobilesync) and other schemas are not served;
		// the client falls back to IMAP or manual setup.
		h.writeAutodiscoverError(w, adErrNoProvider, "Provider is not available")
		return
	}
	address, domain, err := parseAddress(email)
	if err != nil {
		h.writeAutodiscoverError(w, adErrInvalidRequest, "Invalid Request")
		return
	}
	if !known(domains, domain) {
		h.writeAutodiscoverError(w, adErrAddressNotFound, "The e-mail address cannot be found.")
		return
	}
	account := h.autodiscoverAccount(address)
	if len(account.Protocol) == 0 {
		h.writeAutodiscoverError(w, adErrAddressNotFound, "No mail service is configured.")
		return
	}
	h.log.Debug("autodiscover", "domain", domain)
	writeXML(w, xmlContentType, &autodiscoverResponse{Response: adResponse{
		XMLName: xml.Name{Space: nsOutlookResponse, Local: "Response"},
		Account: account,
	}})
}

// autodiscoverAccount lists every advertised service for address. The
// login name is the address as the client sent it (normalized), whether
// or not the account exists.
func (h *Handler) autodiscoverAccount(address string) *adAccount {
	acct := &adAccount{AccountType: "email", Action: "settings"}
	for _, s := range h.services() {
		p := adProtocol{
			Server:         h.opts.Hostname,
			Port:           s.Port,
			DomainRequired: "off",
			LoginName:      address,
			SPA:            "off",
			SSL:            "on",
			Encryption:     "SSL",
			AuthRequired:   "on",
		}
		if s.Security == STARTTLS {
			p.Encryption = "TLS"
		}
		switch s.Protocol {
		case IMAP:
			p.Type = "IMAP"
		case POP3:
			p.Type = "POP3"
		case SMTP:
			p.Type = "SMTP"
			p.UsePOPAuth, p.SMTPLast = "off", "off"
		}
		acct.Protocol = append(acct.Protocol, p)
	}
	return acct
}

func (h *Handler) writeAutodiscoverError(w http.ResponseWriter, code int, msg string) {
	now := h.opts.Now().UTC()
	writeXML(w, xmlContentType, &autodiscoverResponse{Response: adResponse{
		XMLName: xml.Name{Space: nsResponse, Local: "Response"},
		Error: &adError{
			Time:      now.Format("15:04:05.0000000"),
			ID:        fmt.Sprint(crc32.ChecksumIEEE([]byte(h.opts.Hostname))),
			ErrorCode: code,
			Message:   msg,
		},
	}})
}

// autodiscoverV1 is the only protocol the JSON endpoint knows: the POX
// service above.
const autodiscoverV1 = "AutodiscoverV1"

// autodiscoverJSON is the JSON endpoint's answer.
type autodiscoverJSON struct {
	Protocol string `json:"Protocol,omitempty"`
	URL      string `json:"Url,omitempty"`
	// On errors:
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// serveAutodiscoverJSON answers
// /autodiscover/autodiscover.json?Email=<address>&Protocol=AutodiscoverV1
// and /autodiscover/autodiscover.json/v1.0/<address>?Protocol=...
// with the URL of the POX service.
func (h *Handler) serveAutodiscoverJSON(w http.ResponseWriter, r *http.Request, st site, domains []string) {
	q := r.URL.Query()
	email := queryFold(q, "Email")
	if rest := r.URL.Path[len(pathAutodiscoverJSON):]; rest != "" {
		// "/v1.0/<address>"
		parts := strings.SplitN(strings.TrimPrefix(rest, "/"), "/", 2)
		if len(parts) == 2 && strings.EqualFold(parts[0], "v1.0") {
			email = parts[1]
		} else {
			writeJSON(w, http.StatusNotFound, autodiscoverJSON{ErrorCode: "NotFound", ErrorMessage: "unknown path"})
			return
		}
	}
	protocol := queryFold(q, "Protocol")
	if !strings.EqualFold(protocol, autodiscoverV1) {
		writeJSON(w, http.StatusBadRequest, autodiscoverJSON{
			ErrorCode:    "InvalidProtocol",
			ErrorMessage: "The given protocol value is invalid. Supported values are '" + autodiscoverV1 + "'",
		})
		return
	}
	_, domain, err := parseAddress(email)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, autodiscoverJSON{ErrorCode: "InvalidUser", ErrorMessage: "Email is not a valid address"})
		return
	}
	if !known(domains, domain) {
		writeJSON(w, http.StatusNotFound, autodiscoverJSON{ErrorCode: "NotFound", ErrorMessage: "the domain is not served here"})
		return
	}
	// Send the client to the name it reached: its certificate just
	// verified. An IP address or the server's own name becomes the
	// hostname, which the server's certificate names.
	host := st.host
	if st.domain == "" {
		host = h.opts.Hostname
	}
	writeJSON(w, http.StatusOK, autodiscoverJSON{Protocol: autodiscoverV1, URL: "https://" + host + pathAutodiscoverXML})
}

// queryFold returns the first value of the query parameter named key in
// any case (Outlook sends "Email", other clients "email").
func queryFold(q map[string][]string, key string) string {
	if v, ok := q[key]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range q {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

package autoconfig

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// The Mozilla autoconfig format, version 1.1, as Thunderbird documents
// it ("Autoconfiguration file format"). Thunderbird fetches
// https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address>
// and https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml, then
// the same over HTTP.

type mozillaConfig struct {
	XMLName  xml.Name        `xml:"clientConfig"`
	Version  string          `xml:"version,attr"`
	Provider mozillaProvider `xml:"emailProvider"`
}

type mozillaProvider struct {
	ID               string          `xml:"id,attr"`
	Domain           string          `xml:"domain"`
	DisplayName      string          `xml:"displayName"`
	DisplayShortName string          `xml:"displayShortName"`
	Incoming         []mozillaServer `xml:"incomingServer"`
	Outgoing         []mozillaServer `xml:"outgoingServer"`
}

type mozillaServer struct {
	Type           string `xml:"type,attr"` // imap, pop3, smtp
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"` // SSL, STARTTLS
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
}

// mozillaUsername is the placeholder Thunderbird replaces with the
// address the user typed. Using it for every answer keeps answers the
// same whether or not the account exists.
const mozillaUsername = "%EMAILADDRESS%"

func (h *Handler) serveMozilla(w http.ResponseWriter, r *http.Request, st site, domains []string) {
	domain := st.domain
	if q := r.URL.Query().Get("emailaddress"); q != "" {
		_, d, err := parseAddress(q)
		if err != nil {
			http.Error(w, "emailaddress is not a valid address", http.StatusBadRequest)
			return
		}
		domain = d
	}
	if domain == "" {
		http.Error(w, "give the address: ?emailaddress=you@example.org", http.StatusBadRequest)
		return
	}
	if !known(domains, domain) {
		http.NotFound(w, r)
		return
	}
	doc, ok := h.mozillaDocument(domain)
	if !ok {
		http.Error(w, "no mail service is configured", http.StatusNotFound)
		return
	}
	h.log.Debug("autoconfig", "domain", domain, "host", st.host)
	writeXML(w, "application/xml; charset=utf-8", doc)
}

// mozillaDocument builds the configuration for domain, or false when no
// listener serves clients.
func (h *Handler) mozillaDocument(domain string) (*mozillaConfig, bool) {
	doc := &mozillaConfig{
		Version: "1.1",
		Provider: mozillaProvider{
			ID:               domain,
			Domain:           domain,
			DisplayName:      domain,
			DisplayShortName: strings.SplitN(domain, ".", 2)[0],
		},
	}
	for _, s := range h.services() {
		ms := mozillaServer{
			Type:           string(s.Protocol),
			Hostname:       h.opts.Hostname,
			Port:           s.Port,
			SocketType:     mozillaSocketType(s.Security),
			Username:       mozillaUsername,
			Authentication: "password-cleartext",
		}
		if s.Incoming() {
			doc.Provider.Incoming = append(doc.Provider.Incoming, ms)
		} else {
			doc.Provider.Outgoing = append(doc.Provider.Outgoing, ms)
		}
	}
	if len(doc.Provider.Incoming) == 0 {
		return nil, false
	}
	return doc, true
}

func mozillaSocketType(s Security) string {
	if s == STARTTLS {
		return "STARTTLS"
	}
	return "SSL"
}

// writeXML sends doc, indented, after the XML declaration. The document is
// encoded before anything is written, so an encoding error still gets a
// clean 500.
func writeXML(w http.ResponseWriter, contentType string, doc any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	buf.WriteByte('\n')
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

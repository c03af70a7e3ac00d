package autoconfig

import (
	"crypto/sha1"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Apple configuration profiles: iOS and macOS Mail do not fetch
// autoconfig documents, but install a profile a user opens. The profile
// holds one com.apple.mail.managed payload (Apple's "Mail" device
// management payload) and no password: Mail asks for it.
//
// The profile is not signed. iOS and macOS show unsigned profiles as
// "Not Signed" and install them after the user confirms; signing would
// need a certificate the devices trust, which the self-signed default
// is not.

// appleContentType is the media type iOS Safari hands to the profile
// installer.
const appleContentType = "application/x-apple-aspen-config"

// uuidNamespace is the RFC 9562 name-space of the UUIDs in profiles: a
// random UUID chosen once for postfach.
var uuidNamespace = [16]byte{0x5c, 0x1f, 0x35, 0x2c, 0x57, 0x57, 0x4e, 0x26, 0x97, 0xdb, 0xc2, 0xd3, 0xed, 0x64, 0x92, 0xd3}

// nameUUID returns the name-based (SHA-1, version 5) UUID of name (RFC 9562
// section 5.5), upper case as Apple writes them. The same server,
// address and role always give the same UUID, so installing a profile
// again replaces the first instead of adding a second account.
func nameUUID(name string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
}

func (h *Handler) serveApple(w http.ResponseWriter, r *http.Request, rawAddress string, domains []string) {
	address, domain, err := parseAddress(rawAddress)
	if err != nil {
		http.Error(w, "not a valid address", http.StatusBadRequest)
		return
	}
	if !known(domains, domain) {
		http.NotFound(w, r)
		return
	}
	profile, err := h.appleProfile(address)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	h.log.Debug("apple profile", "domain", domain)
	w.Header().Set("Content-Type", appleContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": address + appleSuffix}))
	w.Header().Set("Content-Length", strconv.Itoa(len(profile)))
	w.Write(profile)
}

// appleProfile returns the profile for address: the preferred IMAP
// service (else POP3) and the preferred submission service. Apple's
// UseSSL means implicit TLS; on a STARTTLS port it is false, and Mail
// upgrades with STARTTLS, which the server requires before any password.
func (h *Handler) appleProfile(address string) ([]byte, error) {
	services := h.services()
	in, ok := first(services, IMAP)
	accountType := "EmailTypeIMAP"
	if !ok {
		if in, ok = first(services, POP3); !ok {
			return nil, fmt.Errorf("no IMAP or POP3 listener is configured")
		}
		accountType = "EmailTypePOP"
	}
	out, ok := first(services, SMTP)
	if !ok {
		// Apple's payload requires an outgoing server.
		return nil, fmt.Errorf("no submission listener is configured")
	}
	host := h.opts.Hostname
	profileUUID := nameUUID(host + "\x00" + address + "\x00profile")
	mailUUID := nameUUID(host + "\x00" + address + "\x00mail")
	// Identifiers are reverse-DNS names; the UUID keeps any local part
	// out of them.
	labels := strings.Split(host, ".")
	slices.Reverse(labels)
	ident := strings.Join(labels, ".") + ".postfach." + strings.ToLower(profileUUID)

	mail := plistDict{
		{"EmailAccountDescription", plistString(address)},
		{"EmailAccountType", plistString(accountType)},
		{"EmailAddress", plistString(address)},
		{"IncomingMailServerAuthentication", plistString("EmailAuthPassword")},
		{"IncomingMailServerHostName", plistString(host)},
		{"IncomingMailServerPortNumber", plistInt(in.Port)},
		{"IncomingMailServerUseSSL", plistBool(in.Security == ImplicitTLS)},
		{"IncomingMailServerUsername", plistString(address)},
		{"OutgoingMailServerAuthentication", plistString("EmailAuthPassword")},
		{"OutgoingMailServerHostName", plistString(host)},
		{"OutgoingMailServerPortNumber", plistInt(out.Port)},
		{"OutgoingMailServerUseSSL", plistBool(out.Security == ImplicitTLS)},
		{"OutgoingMailServerUsername", plistString(address)},
		{"OutgoingPasswordSameAsIncomingPassword", plistBool(true)},
		{"PayloadDescription", plistString("Mail account " + address)},
		{"PayloadDisplayName", plistString(address)},
		{"PayloadIdentifier", plistString(ident + ".mail")},
		{"PayloadType", plistString("com.apple.mail.managed")},
		{"PayloadUUID", plistString(mailUUID)},
		{"PayloadVersion", plistInt(1)},
		{"PreventAppSheet", plistBool(false)},
		{"PreventMove", plistBool(false)},
		{"SMIMEEnabled", plistBool(false)},
	}
	profile := plistDict{
		{"PayloadContent", plistArray{mail}},
		{"PayloadDescription", plistString("Sets up " + address + " in Mail, with " + host + " over TLS. Mail asks for the password.")},
		{"PayloadDisplayName", plistString("Mail: " + address)},
		{"PayloadIdentifier", plistString(ident)},
		{"PayloadOrganization", plistString(address[strings.LastIndexByte(address, '@')+1:])},
		{"PayloadRemovalDisallowed", plistBool(false)},
		{"PayloadType", plistString("Configuration")},
		{"PayloadUUID", plistString(profileUUID)},
		{"PayloadVersion", plistInt(1)},
	}
	return marshalPlist(profile), nil
}

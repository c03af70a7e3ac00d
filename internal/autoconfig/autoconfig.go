// Package autoconfig tells mail clients how to reach the server, so that
// users type only their address and password. It serves, over HTTP(S):
//
//   - Mozilla autoconfig (Thunderbird, K-9/Thunderbird for Android,
//     Evolution): /.well-known/autoconfig/mail/config-v1.1.xml and
//     /mail/config-v1.1.xml?emailaddress=...
//   - Microsoft autodiscover: the Outlook POX schema at
//     /autodiscover/autodiscover.xml, and the JSON v2 endpoint
//     /autodiscover/autodiscover.json that points Outlook there.
//   - Apple configuration profiles: /apple/<address>.mobileconfig.
//   - The MTA-STS policy (RFC 8461): /.well-known/mta-sts.txt, on the
//     host mta-sts.<domain> only.
//
// It also describes the DNS records a domain needs (Records) and checks
// them through a resolver (CheckRecords).
//
// Invariants:
//   - Only services of listeners that run are advertised, most secure
//     first (see listenerServices).
//   - Every value placed in a document goes through an encoder (XML, the
//     plist writer, JSON): nothing a client sent is written raw.
//   - Answers never depend on whether an account exists: an unknown
//     address of a known domain gets the same settings as a known one, so
//     the endpoints cannot enumerate users. Domains are public (DNS), so
//     an unknown domain is refused.
//   - Request bodies are bounded (maxBodySize).
//   - The package holds no mutable package-level state.
package autoconfig

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxBodySize bounds a request body: an autodiscover request is a few
// hundred octets.
const maxBodySize = 64 << 10

// domainsTTL is how long the list of domains is reused between requests,
// so that a burst of requests does not become a burst of store queries.
// A domain added with `postfach domain add` is served within this time.
const domainsTTL = 10 * time.Second

// Options configure a Handler.
type Options struct {
	// Hostname is the server's name, the host clients connect to.
	Hostname string
	// Services returns the services of the running listeners (see
	// Services); it is called per request, as listeners on port 0 learn
	// their port only when bound.
	Services func() []Service
	// Domains returns the mail domains the store knows, as A-labels.
	Domains func(ctx context.Context) ([]string, error)
	// Policy is the MTA-STS policy served for every domain.
	Policy Policy
	// Logger receives debug logs of requests; nil discards them.
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Handler serves the self-configuration endpoints; other paths get 404.
type Handler struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	domains   []string // sorted
	fetchedAt time.Time
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Hostname = strings.TrimSuffix(strings.ToLower(opts.Hostname), ".")
	return &Handler{opts: opts, log: opts.Logger}
}

// Paths the handler serves.
const (
	pathAutoconfigWellKnown = "/.well-known/autoconfig/mail/config-v1.1.xml"
	pathAutoconfig          = "/mail/config-v1.1.xml"
	pathAutodiscoverXML     = "/autodiscover/autodiscover.xml"
	pathAutodiscoverJSON    = "/autodiscover/autodiscover.json"
	pathAppleDir            = "/apple/"
	appleSuffix             = ".mobileconfig"
	pathMTASTS              = "/.well-known/mta-sts.txt"
)

// AutoconfigURL is where Thunderbird looks for the configuration of
// domain (over HTTPS first, then HTTP).
func AutoconfigURL(domain string) string {
	return "https://autoconfig." + domain + pathAutoconfig
}

// AppleProfileURL is the address of the Apple profile for address,
// served by host.
func AppleProfileURL(host, address string) string {
	return "https://" + host + pathAppleDir + url.PathEscape(address) + appleSuffix
}

// site is what the request's Host names.
type site struct {
	host string
	// domain is the mail domain the host belongs to (autoconfig.D,
	// autodiscover.D, mta-sts.D or D itself); "" for the server's own
	// name or an IP address.
	domain string
	// mtaSTS is true for the host mta-sts.D.
	mtaSTS bool
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodySize)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	domains, err := h.knownDomains(r.Context())
	if err != nil {
		h.log.Warn("autoconfig: listing domains", "err", err)
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	st, ok := h.site(r.Host, domains)
	if !ok {
		// A name this server does not serve: a misdirected request or
		// a scan.
		http.NotFound(w, r)
		return
	}
	path := r.URL.Path
	switch {
	case path == pathAutoconfigWellKnown || path == pathAutoconfig:
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			h.serveMozilla(w, r, st, domains)
		}
	// Microsoft's clients vary the case ("/Autodiscover/Autodiscover.xml").
	case strings.EqualFold(path, pathAutodiscoverXML):
		if allowMethods(w, r, http.MethodPost, http.MethodGet, http.MethodHead) {
			h.serveAutodiscoverXML(w, r, domains)
		}
	case strings.EqualFold(path, pathAutodiscoverJSON) || hasPrefixFold(path, pathAutodiscoverJSON+"/"):
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			h.serveAutodiscoverJSON(w, r, st, domains)
		}
	case strings.HasPrefix(path, pathAppleDir) && strings.HasSuffix(path, appleSuffix):
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			h.serveApple(w, r, strings.TrimSuffix(strings.TrimPrefix(path, pathAppleDir), appleSuffix), domains)
		}
	case path == pathMTASTS && st.mtaSTS:
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			h.serveMTASTS(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// allowMethods answers 405 for other methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// site maps the request's Host to what it names, or false for a name
// this server does not answer for.
func (h *Handler) site(hostport string, domains []string) (site, bool) {
	host, isIP := requestHost(hostport)
	if isIP || host == h.opts.Hostname {
		return site{host: host}, true
	}
	if known(domains, host) {
		return site{host: host, domain: host}, true
	}
	for _, prefix := range []string{"autoconfig.", "autodiscover.", "mta-sts."} {
		if d, ok := strings.CutPrefix(host, prefix); ok && known(domains, d) {
			return site{host: host, domain: d, mtaSTS: prefix == "mta-sts."}, true
		}
	}
	return site{}, false
}

func known(domains []string, d string) bool {
	_, ok := slices.BinarySearch(domains, d)
	return ok
}

// knownDomains returns the store's domains, sorted, fetched at most every
// domainsTTL. When the store fails, a list fetched before is served.
func (h *Handler) knownDomains(ctx context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.opts.Now()
	if h.domains != nil && now.Sub(h.fetchedAt) < domainsTTL {
		return h.domains, nil
	}
	ds, err := h.opts.Domains(ctx)
	if err != nil {
		if h.domains != nil {
			return h.domains, nil
		}
		return nil, err
	}
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		if n, err := normalizeDomain(d); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	h.domains, h.fetchedAt = slices.Compact(out), now
	return h.domains, nil
}

// services returns the advertised services in order of preference.
func (h *Handler) services() []Service {
	if h.opts.Services == nil {
		return nil
	}
	return sortServices(h.opts.Services())
}

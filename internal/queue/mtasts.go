package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MTA-STS (RFC 8461): a recipient domain publishes, over DNS and HTTPS,
// which MX hosts are its own and that they must be reached over TLS with
// a valid certificate. We look the policy up before each delivery to the
// domain, cache it for its max_age (in memory and in the database, so a
// restart does not forget it), and in enforce mode use only matching MX
// hosts over authenticated TLS.

// stsMode is a policy's mode (RFC 8461 section 5).
type stsMode string

const (
	stsEnforce stsMode = "enforce"
	stsTesting stsMode = "testing"
	stsNone    stsMode = "none"
)

// stsPolicy is a parsed policy (RFC 8461 section 3.2).
type stsPolicy struct {
	mode   stsMode
	maxAge time.Duration
	mx     []string // patterns: "mail.example.com" or "*.example.com"
}

// maxSTSMaxAge is the largest max_age RFC 8461 section 3.2 allows: about
// one year.
const maxSTSMaxAge = 31557600 * time.Second

// maxPolicySize bounds a policy body; RFC 8461 section 3.3 lets senders
// limit it, and real policies are a few hundred octets.
const maxPolicySize = 64 << 10

// parseSTSPolicy parses the policy text: "key: value" lines ending in
// CRLF (LF tolerated). version, mode and max_age are required, mx too
// unless the mode is none; unknown keys are ignored (section 3.2).
func parseSTSPolicy(text string) (*stsPolicy, error) {
	p := &stsPolicy{}
	var haveVersion, haveMode, haveAge bool
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mta-sts: policy line without colon: %q", line)
		}
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(value)
		switch key {
		case "version":
			if haveVersion || value != "STSv1" {
				return nil, fmt.Errorf("mta-sts: version %q", value)
			}
			haveVersion = true
		case "mode":
			if haveMode {
				return nil, errors.New("mta-sts: mode given twice")
			}
			switch m := stsMode(value); m {
			case stsEnforce, stsTesting, stsNone:
				p.mode = m
			default:
				return nil, fmt.Errorf("mta-sts: unknown mode %q", value)
			}
			haveMode = true
		case "max_age":
			if haveAge {
				return nil, errors.New("mta-sts: max_age given twice")
			}
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil || len(value) > 10 || time.Duration(n)*time.Second > maxSTSMaxAge {
				return nil, fmt.Errorf("mta-sts: max_age %q", value)
			}
			p.maxAge = time.Duration(n) * time.Second
			haveAge = true
		case "mx":
			pat := strings.TrimSuffix(strings.ToLower(value), ".")
			if !validMXPattern(pat) {
				return nil, fmt.Errorf("mta-sts: mx pattern %q", value)
			}
			p.mx = append(p.mx, pat)
		}
	}
	switch {
	case !haveVersion:
		return nil, errors.New("mta-sts: policy without version")
	case !haveMode:
		return nil, errors.New("mta-sts: policy without mode")
	case !haveAge:
		return nil, errors.New("mta-sts: policy without max_age")
	case len(p.mx) == 0 && p.mode != stsNone:
		return nil, errors.New("mta-sts: policy without mx")
	}
	return p, nil
}

// validMXPattern accepts a host name, optionally with "*." as its whole
// first label (RFC 8461 section 3.2).
func validMXPattern(p string) bool {
	p = strings.TrimPrefix(p, "*.")
	if p == "" || len(p) > 253 {
		return false
	}
	for _, label := range strings.Split(p, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// matches reports whether host is one of the policy's MX hosts (RFC 8461
// section 4.1): equal without case, or "*.rest" where host is one label
// followed by ".rest".
func (p *stsPolicy) matches(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, pat := range p.mx {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			label, tail, found := strings.Cut(host, ".")
			if found && label != "" && tail == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// parseSTSRecord reads the policy id from the TXT records at
// _mta-sts.<domain> (RFC 8461 section 3.1). Records that do not start
// with "v=STSv1" are not ours; more than one that does, or a malformed
// one, means no usable record.
func parseSTSRecord(txts []string) (id string, err error) {
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=STSv1") && (len(t) == 7 || t[7] == ';' || t[7] == ' ' || t[7] == '\t') {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return "", errNoSTSRecord
	case 1:
	default:
		return "", errors.New("mta-sts: several STSv1 records")
	}
	for _, field := range strings.Split(found[0], ";")[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			if strings.TrimSpace(field) == "" {
				continue
			}
			return "", fmt.Errorf("mta-sts: malformed field %q", field)
		}
		if k == "id" {
			if len(v) < 1 || len(v) > 32 || !alnum(v) {
				return "", fmt.Errorf("mta-sts: malformed id %q", v)
			}
			id = v
		}
	}
	if id == "" {
		return "", errors.New("mta-sts: record without id")
	}
	return id, nil
}

var errNoSTSRecord = errors.New("mta-sts: no record")

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// cachedPolicy is a policy with what the cache needs to know about it.
type cachedPolicy struct {
	id      string
	text    string
	policy  *stsPolicy
	expires time.Time
}

// stsCache looks policies up and keeps them.
type stsCache struct {
	q      *Queue
	client *http.Client

	mu    sync.Mutex
	mem   map[string]*cachedPolicy
	locks map[string]*domainLock // one lookup per domain at a time
}

// domainLock serializes the lookups of one domain; it goes from the map
// when nobody holds or waits for it.
type domainLock struct {
	sync.Mutex
	refs int
}

func newSTSCache(q *Queue) *stsCache {
	c := &stsCache{q: q, mem: map[string]*cachedPolicy{}, locks: map[string]*domainLock{}}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            c.dial,
		TLSClientConfig:        &tls.Config{RootCAs: q.opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    30 * time.Second,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 16 << 10,
	}
	c.client = &http.Client{
		Transport: tr,
		Timeout:   time.Minute,
		// RFC 8461 section 3.3: redirects must not be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// dial connects to a policy host through our resolver, never the
// system's, on the configured port.
func (c *stsCache) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := c.q.lookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: c.q.opts.ConnectTimeout}
	var first error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(c.q.opts.MTASTSPort)))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// policy returns the domain's policy to apply now, or nil when it has
// none (or none we could learn and none cached). Errors are logged, not
// returned: RFC 8461 section 5.1 continues without a policy then.
func (c *stsCache) policy(ctx context.Context, domain string) *stsPolicy {
	c.mu.Lock()
	l := c.locks[domain]
	if l == nil {
		l = &domainLock{}
		c.locks[domain] = l
	}
	l.refs++
	c.mu.Unlock()
	l.Lock()
	defer func() {
		l.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.locks, domain)
		}
		c.mu.Unlock()
	}()

	now := c.q.now()
	cached := c.cached(ctx, domain, now)
	txts, err := c.q.opts.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	var id string
	if err == nil {
		id, err = parseSTSRecord(txts)
	} else if isNotFound(err) {
		err = errNoSTSRecord
	}
	if err != nil {
		// No (usable) record: a valid cached policy still holds (RFC
		// 8461 section 5.1, and 10.2 on attackers stripping records).
		if !errors.Is(err, errNoSTSRecord) {
			c.q.log.Warn("mta-sts: TXT lookup", "domain", domain, "err", err)
		}
		return cached.get()
	}
	if cached != nil && cached.id == id {
		return cached.policy
	}
	text, p, err := c.fetch(ctx, domain)
	if err != nil {
		c.q.log.Warn("mta-sts: fetching policy", "domain", domain, "err", err)
		return cached.get()
	}
	cp := &cachedPolicy{id: id, text: text, policy: p, expires: now.Add(p.maxAge)}
	c.store(domain, cp)
	c.q.log.Debug("mta-sts: policy", "domain", domain, "id", id, "mode", string(p.mode), "max_age", p.maxAge)
	return p
}

func (cp *cachedPolicy) get() *stsPolicy {
	if cp == nil {
		return nil
	}
	return cp.policy
}

// cached returns the unexpired cached policy of domain, from memory or
// the database.
func (c *stsCache) cached(ctx context.Context, domain string, now time.Time) *cachedPolicy {
	c.mu.Lock()
	cp := c.mem[domain]
	c.mu.Unlock()
	if cp == nil {
		var id, text string
		var expires int64
		err := c.q.rdb.QueryRowContext(ctx, "SELECT id, policy, expires FROM mtasts WHERE domain = ?", domain).Scan(&id, &text, &expires)
		if err != nil {
			return nil
		}
		p, err := parseSTSPolicy(text)
		if err != nil {
			return nil
		}
		cp = &cachedPolicy{id: id, text: text, policy: p, expires: fromMS(expires)}
		c.mu.Lock()
		c.mem[domain] = cp
		c.mu.Unlock()
	}
	if !now.Before(cp.expires) {
		c.mu.Lock()
		if c.mem[domain] == cp {
			delete(c.mem, domain)
		}
		c.mu.Unlock()
		return nil
	}
	return cp
}

// store keeps a fetched policy in memory and, in the background of the
// delivery, in the database.
func (c *stsCache) store(domain string, cp *cachedPolicy) {
	c.mu.Lock()
	c.mem[domain] = cp
	c.mu.Unlock()
	err := c.q.w.do(context.Background(), nil, func(t *wtx) error {
		_, err := t.exec(`INSERT INTO mtasts (domain, id, policy, fetched, expires) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (domain) DO UPDATE SET id = excluded.id, policy = excluded.policy, fetched = excluded.fetched, expires = excluded.expires`,
			domain, cp.id, cp.text, ms(c.q.now()), ms(cp.expires))
		return err
	})
	if err != nil {
		c.q.log.Warn("mta-sts: saving policy", "domain", domain, "err", err)
	}
}

// fetch gets https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461
// section 3.3): a 200 answer of type text/plain, from a host whose
// certificate is valid for that name.
func (c *stsCache) fetch(ctx context.Context, domain string) (string, *stsPolicy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s: HTTP status %d", url, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return "", nil, fmt.Errorf("%s: content type %q is not text/plain", url, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicySize+1))
	if err != nil {
		return "", nil, err
	}
	if len(body) > maxPolicySize {
		return "", nil, fmt.Errorf("%s: policy larger than %d octets", url, maxPolicySize)
	}
	p, err := parseSTSPolicy(string(body))
	if err != nil {
		return "", nil, err
	}
	return string(body), p, nil
}

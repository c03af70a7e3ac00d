package autoconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"postfach/internal/config"
)

// Policy is an MTA-STS policy (RFC 8461 section 3.2): senders that
// support MTA-STS deliver to the domain only over TLS with a valid
// certificate, and only to an MX host matching a pattern.
type Policy struct {
	Mode   string   // enforce, testing, none
	MX     []string // host name patterns, "*." allowed as the first label
	MaxAge time.Duration
}

// PolicyFromConfig returns the configured policy; without mta_sts.mx the
// server's own name is the only MX.
func PolicyFromConfig(cfg *config.Config) Policy {
	p := Policy{Mode: cfg.MTASTS.Mode, MX: cfg.MTASTS.MX, MaxAge: cfg.MTASTS.MaxAge}
	if len(p.MX) == 0 {
		p.MX = []string{cfg.Hostname}
	}
	return p
}

// Text is the policy file, lines ending in CRLF (RFC 8461 section 3.2).
func (p Policy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	b.WriteString("mode: " + p.Mode + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + strings.ToLower(strings.TrimSuffix(mx, ".")) + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(int64(p.MaxAge/time.Second), 10) + "\r\n")
	return b.String()
}

// ID identifies the policy's version in the _mta-sts TXT record (RFC 8461
// section 3.1: 1 to 32 letters and digits). It is derived from the
// policy's text, so it changes exactly when the policy does, which is
// when senders must fetch it again.
func (p Policy) ID() string {
	sum := sha256.Sum256([]byte(p.Text()))
	return hex.EncodeToString(sum[:16])
}

// TXT is the value of the _mta-sts.<domain> TXT record.
func (p Policy) TXT() string { return "v=STSv1; id=" + p.ID() }

func (h *Handler) serveMTASTS(w http.ResponseWriter, r *http.Request) {
	text := h.opts.Policy.Text()
	// RFC 8461 section 3.3: the policy is text/plain.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.Write([]byte(text))
}

package mailauth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"postfach/internal/dns"
)

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Resolver answers every DNS query (required).
	Resolver dns.Resolver
	// AuthServID names this server in Authentication-Results (RFC 8601
	// section 2.5): the configured hostname (required).
	AuthServID string
	// Timeout bounds one Verify, DNS included. Default 20s: RFC 7208
	// section 4.6.4 lets SPF give up after at least 20 seconds.
	Timeout time.Duration
	// MaxSignatures bounds the DKIM-Signature fields verified per message;
	// further ones are ignored (RFC 6376 section 6.1 lets verifiers limit
	// them). Default 5.
	MaxSignatures int
	// MaxHeaderSize bounds the header section read to find From and the
	// signatures. Default 1 MiB.
	MaxHeaderSize int
	// Logger receives debug traces; nil discards them.
	Logger *slog.Logger
}

// Default verifier limits.
const (
	DefaultVerifyTimeout = 20 * time.Second
	DefaultMaxSignatures = 5
	DefaultMaxHeaderSize = 1 << 20
)

// Verifier checks SPF, DKIM and DMARC of received messages. It is safe
// for concurrent use.
type Verifier struct {
	opts VerifierOptions
	log  *slog.Logger
	// sample decides whether a failing message falls within pct percent
	// (RFC 7489 section 6.6.4); tests replace it.
	sample func(pct int) bool
}

// NewVerifier returns a Verifier; Resolver and AuthServID are required.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	if opts.Resolver == nil {
		return nil, errors.New("mailauth: no resolver")
	}
	if opts.AuthServID == "" {
		return nil, errors.New("mailauth: no authserv-id")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultVerifyTimeout
	}
	if opts.MaxSignatures <= 0 {
		opts.MaxSignatures = DefaultMaxSignatures
	}
	if opts.MaxHeaderSize <= 0 {
		opts.MaxHeaderSize = DefaultMaxHeaderSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{opts: opts, log: log, sample: samplePercent}, nil
}

// Verify evaluates SPF, DKIM and DMARC for one received message. It never
// fails: problems are results (temperror, permerror).
func (v *Verifier) Verify(ctx context.Context, in Input) Result {
	return v.verify(ctx, in)
}

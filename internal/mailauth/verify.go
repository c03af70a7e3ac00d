package mailauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dmarc"

	"postfach/internal/dns"
	"postfach/internal/mime"
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

func (v *Verifier) verify(ctx context.Context, in Input) Result {
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()

	hdr, complete, err := readHeaderSection(in.Message, in.Size, v.opts.MaxHeaderSize)
	var (
		fields      []mime.Field
		from        string
		fromProblem string
	)
	switch {
	case errors.Is(err, errHeaderTooLarge):
		fromProblem = fmt.Sprintf("the header section is larger than %d bytes", v.opts.MaxHeaderSize)
	case err != nil:
		// Our own copy of the message is unreadable: nothing about the
		// sender is known; let it retry.
		return v.unreadable(in, err)
	default:
		fields = mime.ParseHeader(hdr)
		from, fromProblem = fromDomain(fields)
	}
	sigs := signatureFields(fields, v.opts.MaxSignatures)

	var (
		wg       sync.WaitGroup
		spfRes   SPFResult
		dkims    []DKIMResult
		pol      *policyRecord
		polState Status
		polWhy   string
	)
	wg.Go(func() { spfRes = v.checkSPF(ctx, in) })
	wg.Go(func() { dkims = v.checkDKIM(ctx, in, sigs, complete) })
	if from != "" {
		wg.Go(func() { pol, polState, polWhy = v.lookupPolicy(ctx, from) })
	}
	wg.Wait()

	res := Result{SPF: spfRes, DKIM: dkims}
	switch {
	case fromProblem != "":
		res.DMARC = DMARCResult{Status: StatusPermError, Detail: fromProblem}
		res.Action, res.Reason = Reject, "DMARC cannot be applied: "+fromProblem
	case pol == nil:
		res.DMARC = DMARCResult{Status: polState, From: from, Detail: polWhy}
		if polState == StatusTempError {
			res.Action = Defer
			res.Reason = "temporary DNS failure looking up the DMARC policy of " + from + "; try again later"
		}
	default:
		res.DMARC = v.evaluateDMARC(from, pol, spfRes, dkims)
		res.Action, res.Reason = decide(res.DMARC, pol, spfRes, dkims)
	}
	res.Header = formatAuthResults(v.opts.AuthServID, in, spfRes, dkims, res.DMARC)
	v.log.Debug("mail authentication", "spf", spfRes.Status, "spf_domain", spfRes.Domain,
		"dkim", dkimSummary(dkims), "dmarc", res.DMARC.Status, "from", from,
		"action", res.Action.String(), "reason", res.Reason)
	return res
}

// decide turns a DMARC failure into an action. A temporary DNS failure
// of a mechanism that could have passed aligned defers the decision:
// rejecting or quarantining on a failure a retry may not see would lose
// good mail (RFC 7208 section 8.6, RFC 6376 section 6.1.2).
func decide(dm DMARCResult, pol *policyRecord, spfRes SPFResult, dkims []DKIMResult) (Action, string) {
	if dm.Status == StatusPass || dm.Applied == string(dmarc.PolicyNone) {
		return Accept, ""
	}
	if spfRes.Status == StatusTempError && aligned(spfRes.Domain, dm.From, pol.rec.SPFAlignment) {
		return Defer, "temporary DNS failure checking SPF of " + spfRes.Domain + "; try again later"
	}
	for _, d := range dkims {
		if d.Status == StatusTempError && aligned(d.Domain, dm.From, pol.rec.DKIMAlignment) {
			return Defer, "temporary DNS failure checking the DKIM signature of " + d.Domain + "; try again later"
		}
	}
	why := fmt.Sprintf("DMARC policy of %s is %s, and neither SPF nor DKIM passed aligned with the From domain", dm.From, dm.Applied)
	if dm.Applied == string(dmarc.PolicyReject) {
		return Reject, why
	}
	return Quarantine, why
}

// unreadable is the result when the message cannot be read back.
func (v *Verifier) unreadable(in Input, err error) Result {
	spfRes := SPFResult{Status: StatusTempError, Detail: "message unreadable"}
	if in.MailFrom == "" {
		spfRes.Identity = "helo"
	}
	res := Result{
		SPF:    spfRes,
		DMARC:  DMARCResult{Status: StatusTempError, Detail: "reading the message: " + err.Error()},
		Action: Defer,
		Reason: "local error reading the message; try again later",
	}
	res.Header = formatAuthResults(v.opts.AuthServID, in, res.SPF, nil, res.DMARC)
	return res
}

func dkimSummary(dkims []DKIMResult) string {
	if len(dkims) == 0 {
		return string(StatusNone)
	}
	parts := make([]string, len(dkims))
	for i, d := range dkims {
		parts[i] = d.Domain + ":" + string(d.Status)
	}
	return strings.Join(parts, ",")
}

// Package mailauth authenticates incoming mail and signs outgoing mail:
// SPF (RFC 7208), DKIM (RFC 6376, RFC 8301, RFC 8463 Ed25519), DMARC
// (RFC 7489) and the Authentication-Results header field (RFC 8601).
//
// Verifier evaluates a received message and says what to do with it
// (Accept, Quarantine, Reject, Defer); Signer adds DKIM signatures with
// the per-domain keys kept under <data_dir>/dkim.
//
// Invariants:
//   - Every DNS query goes through the dns.Resolver given to the Verifier:
//     tests answer from a zone and never reach the system resolver.
//   - A message is never loaded whole into memory: the header section is
//     read (bounded by MaxHeaderSize) and the body is streamed to the
//     DKIM hashes.
//   - Verify never fails: DNS trouble becomes temperror, broken records
//     permerror, each reported in the header field and the Result.
//   - The package holds no mutable package-level state.
package mailauth

import (
	"io"
	"net/netip"
)

// Input is what the SMTP server knows about a received message.
type Input struct {
	// RemoteIP is the address of the SMTP client.
	RemoteIP netip.Addr
	// HELO is the name the client gave in EHLO/HELO.
	HELO string
	// MailFrom is the reverse path of MAIL FROM, without angle brackets;
	// empty for the null reverse path (bounces).
	MailFrom string
	// Message is the message as received (header and body, CRLF line
	// endings), before our own trace fields are prepended.
	Message io.ReaderAt
	Size    int64
}

// Action is what the receiving server should do with the message.
type Action int

const (
	// Accept: deliver to the inbox.
	Accept Action = iota
	// Quarantine: deliver to the Junk mailbox (DMARC p=quarantine).
	Quarantine
	// Reject: refuse at the end of DATA with 550 5.7.1 and Result.Reason
	// (DMARC p=reject, or a message DMARC cannot be applied to because its
	// From header field is missing, repeated or unparsable).
	Reject
	// Defer: answer 451 4.7.x so that the sender retries: a DMARC policy
	// of reject or quarantine applies or may apply, but a DNS failure
	// (temperror) kept SPF, DKIM or the policy lookup from deciding
	// (RFC 7208 section 8.6, RFC 6376 section 6.1.2).
	Defer
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case Reject:
		return "reject"
	case Defer:
		return "defer"
	}
	return "unknown"
}

// Status is a result value of the Authentication-Results header field
// (RFC 8601 section 2.7): SPF, DKIM and DMARC share these words.
type Status string

const (
	StatusNone      Status = "none"
	StatusPass      Status = "pass"
	StatusFail      Status = "fail"
	StatusSoftFail  Status = "softfail" // SPF only
	StatusNeutral   Status = "neutral"  // SPF, DKIM
	StatusPolicy    Status = "policy"   // DKIM: valid but refused by local policy (l= tag)
	StatusTempError Status = "temperror"
	StatusPermError Status = "permerror"
)

// Result is the outcome of Verify.
type Result struct {
	// Header is a complete Authentication-Results header field (RFC 8601)
	// for this server, folded, ending in CRLF, ready to prepend.
	Header string
	// Action says what to do with the message; Reason explains a
	// Quarantine, Reject or Defer in words fit for an SMTP reply.
	Action Action
	Reason string

	SPF   SPFResult
	DKIM  []DKIMResult
	DMARC DMARCResult
}

// SPFResult is the SPF check of the MAIL FROM identity, or of the HELO
// identity when the reverse path is null (RFC 7208 section 2.4).
type SPFResult struct {
	Status Status
	// Identity is "mailfrom" or "helo"; Domain is the domain checked, the
	// one DMARC aligns (RFC 7489 section 3.1.2).
	Identity string
	Domain   string
	// Detail is the library's explanation, for logs only.
	Detail string
}

// DKIMResult is the verification of one DKIM-Signature field, in the order
// the fields appear in the header.
type DKIMResult struct {
	Status    Status
	Domain    string // d=, the signing domain (SDID)
	Selector  string // s=
	Algorithm string // a=, e.g. "rsa-sha256", "ed25519-sha256"
	// Identifier is i= (AUID), "@"+Domain when absent.
	Identifier string
	// B is the start of the b= tag, enough to tell signatures apart in
	// the header field (RFC 6008).
	B string
	// Detail explains a failure, for logs.
	Detail string
}

// DMARCResult is the DMARC evaluation of the From domain.
type DMARCResult struct {
	Status Status
	// From is the RFC 5322 From domain (lower case, A-labels); empty when
	// the message has no usable From.
	From string
	// Policy is the policy requested by the domain owner for this message
	// (p=, or sp= for a subdomain), "" without a record; Applied is what
	// was applied after pct= sampling (RFC 7489 section 6.6.4).
	Policy  string
	Applied string
	// SPFAligned and DKIMAligned tell which mechanism passed aligned.
	SPFAligned  bool
	DKIMAligned bool
	Detail      string
}

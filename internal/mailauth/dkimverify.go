package mailauth

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"postfach/internal/mime"
)

// signatureField is what the Authentication-Results header and the logs
// say about a DKIM-Signature field; go-msgauth's Verification lacks the
// selector, algorithm and b= (RFC 8601 section 2.7.1, RFC 6008).
type signatureField struct {
	domain, selector, algorithm, identifier, b string
	bodyLength                                 bool // l= present
}

// signatureFields parses the DKIM-Signature fields of the header in
// order, at most limit.
func signatureFields(fields []mime.Field, limit int) []signatureField {
	var out []signatureField
	for _, f := range fields {
		if !strings.EqualFold(f.Name, "DKIM-Signature") {
			continue
		}
		if len(out) == limit {
			break
		}
		tags, _ := tagList(f.Value())
		s := signatureField{
			domain:     strings.ToLower(tags["d"]),
			selector:   tags["s"],
			algorithm:  strings.ToLower(tags["a"]),
			identifier: tags["i"],
			b:          tags["b"],
		}
		_, s.bodyLength = tags["l"]
		if s.identifier == "" && s.domain != "" {
			s.identifier = "@" + s.domain
		}
		out = append(out, s)
	}
	return out
}

// errorReader remembers the first error of its reader other than EOF:
// a failure to read our own copy of the message is our problem
// (temperror), not the signer's.
type errorReader struct {
	r   io.Reader
	err error
}

func (e *errorReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// checkDKIM verifies the DKIM signatures (RFC 6376 section 6), streaming
// the message through the body hashes. sigs are the signature fields as
// parsed from the header; complete says whether the message has the
// empty line ending its header (go-msgauth needs it, so one is added).
func (v *Verifier) checkDKIM(ctx context.Context, in Input, sigs []signatureField, complete bool) []DKIMResult {
	if len(sigs) == 0 {
		return nil
	}
	var r io.Reader = io.NewSectionReader(in.Message, 0, in.Size)
	if !complete {
		r = io.MultiReader(r, strings.NewReader("\r\n"))
	}
	er := &errorReader{r: r}
	verifs, err := dkim.VerifyWithOptions(er, &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return v.opts.Resolver.LookupTXT(ctx, name)
		},
		MaxVerifications: v.opts.MaxSignatures,
	})
	if errors.Is(err, dkim.ErrTooManySignatures) {
		err = nil
	}
	out := make([]DKIMResult, len(sigs))
	for i, s := range sigs {
		out[i] = DKIMResult{Domain: s.domain, Selector: s.selector, Algorithm: s.algorithm, Identifier: s.identifier, B: shortB(s.b)}
	}
	if err != nil || er.err != nil || len(verifs) != len(sigs) {
		status, detail := StatusPermError, "message unreadable for DKIM"
		switch {
		case er.err != nil:
			status, detail = StatusTempError, "reading the message: "+er.err.Error()
		case err != nil:
			detail = err.Error()
		}
		for i := range out {
			out[i].Status, out[i].Detail = status, detail
		}
		return out
	}
	for i, vf := range verifs {
		d := &out[i]
		if vf.Domain != "" && !strings.EqualFold(vf.Domain, d.Domain) {
			// The library saw another field than we did: trust it.
			d.Domain, d.Selector, d.Algorithm, d.B = strings.ToLower(vf.Domain), "", "", ""
		}
		if vf.Identifier != "" {
			d.Identifier = vf.Identifier
		}
		d.Status, d.Detail = dkimStatus(vf.Err, sigs[i].bodyLength)
	}
	return out
}

// dkimStatus maps a verification error to a result (RFC 8601 section
// 2.7.1): a missing key or a malformed signature is permerror, a DNS
// failure temperror, a body hash or signature mismatch fail. A valid
// signature covering only part of the body (l=) is refused by policy:
// anything could be appended after it.
func dkimStatus(err error, bodyLength bool) (Status, string) {
	switch {
	case err == nil:
		return StatusPass, ""
	case dkim.IsTempFail(err):
		return StatusTempError, err.Error()
	case dkim.IsPermFail(err):
		return StatusPermError, err.Error()
	case bodyLength:
		return StatusPolicy, "body length tag l= present: part of the body is unsigned"
	}
	return StatusFail, err.Error()
}

// shortB returns the first 8 characters of b=, the prefix RFC 6008
// section 4 suggests for header.b.
func shortB(b string) string {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}

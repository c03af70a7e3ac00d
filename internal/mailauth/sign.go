package mailauth

import (
	"context"
	"errors"
	"io"
)

// ErrNoKeys is returned by Signer.Sign for a domain without DKIM keys;
// `postfach dkim generate DOMAIN` creates them.
var ErrNoKeys = errors.New("mailauth: no DKIM keys for the domain")

// Signer DKIM-signs outgoing messages with the keys of their domain, kept
// under <data_dir>/dkim/<domain>/ (see keys.go). It is safe for concurrent
// use and picks up keys generated while it runs.
type Signer struct {
	keys *keyCache
}

// NewSigner returns a Signer for the keys under dataDir/dkim.
func NewSigner(dataDir string) *Signer {
	return &Signer{keys: newKeyCache(dataDir)}
}

// Sign returns the DKIM-Signature header fields for msg (the complete
// message, CRLF line endings), one per key of the domain's newest key pair
// (RSA and Ed25519, RFC 8463 section 5 dual signing), each folded and
// ending in CRLF, to be prepended to the message unchanged. It returns
// ErrNoKeys (wrapped) when the domain has no keys.
func (s *Signer) Sign(ctx context.Context, domain string, msg io.ReaderAt, size int64) (string, error) {
	return s.sign(ctx, domain, msg, size)
}

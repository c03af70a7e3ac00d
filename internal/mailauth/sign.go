package mailauth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"postfach/internal/mime"
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

// maxSignHeader bounds the header section Sign reads to choose the
// fields to sign.
const maxSignHeader = 1 << 20

// signedFields are the header fields we sign when present (RFC 6376
// section 5.4.1's list, plus the List-Unsubscribe-Post of RFC 8058
// section 4 and Autocrypt). oversigned ones are also signed once more
// than they occur, so that a field of that name added on the way breaks
// the signature (RFC 6376 section 8.15): nobody can add a second From or
// a Reply-To to a signed message.
var (
	signedFields = []string{
		"From", "Reply-To", "Subject", "Date", "To", "Cc",
		"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
		"In-Reply-To", "References", "Message-ID", "Sender",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
		"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe",
		"List-Post", "List-Owner", "List-Archive", "Autocrypt",
	}
	oversignedFields = map[string]bool{
		"from": true, "reply-to": true, "subject": true, "date": true, "to": true, "cc": true,
		"message-id": true, "sender": true, "in-reply-to": true, "references": true,
		"mime-version": true, "content-type": true, "content-transfer-encoding": true,
		"list-unsubscribe": true, "list-unsubscribe-post": true,
	}
)

// headerKeys lists the h= tag for a message with these fields.
func headerKeys(fields []mime.Field) []string {
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(f.Name)]++
	}
	var keys []string
	for _, name := range signedFields {
		n := count[strings.ToLower(name)]
		if oversignedFields[strings.ToLower(name)] {
			n++
		}
		for range n {
			keys = append(keys, name)
		}
	}
	return keys
}

func (s *Signer) sign(ctx context.Context, domain string, msg io.ReaderAt, size int64) (string, error) {
	keys, err := s.keys.signingKeys(domain)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", fmt.Errorf("%w: %s", ErrNoKeys, domain)
	}
	hdr, complete, err := readHeaderSection(msg, size, maxSignHeader)
	if err != nil {
		return "", fmt.Errorf("mailauth: signing: %w", err)
	}
	hkeys := headerKeys(mime.ParseHeader(hdr))

	signers := make([]*dkim.Signer, 0, len(keys))
	defer func() {
		for _, sg := range signers {
			sg.Close() // ends the goroutine of a signer not closed below
		}
	}()
	writers := make([]io.Writer, 0, len(keys))
	for _, k := range keys {
		sg, err := dkim.NewSigner(&dkim.SignOptions{
			Domain:                 k.Domain,
			Selector:               k.Selector,
			Signer:                 k.Signer,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             hkeys,
		})
		if err != nil {
			return "", err
		}
		signers = append(signers, sg)
		writers = append(writers, sg)
	}
	var r io.Reader = io.NewSectionReader(msg, 0, size)
	if !complete {
		r = io.MultiReader(r, strings.NewReader("\r\n"))
	}
	if _, err := io.Copy(io.MultiWriter(writers...), ctxReader{ctx, r}); err != nil {
		return "", fmt.Errorf("mailauth: signing: %w", err)
	}
	var b strings.Builder
	for _, sg := range signers {
		if err := sg.Close(); err != nil {
			return "", fmt.Errorf("mailauth: signing: %w", err)
		}
		b.WriteString(sg.Signature())
	}
	return b.String(), nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

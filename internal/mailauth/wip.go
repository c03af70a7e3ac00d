package mailauth

import (
	"context"
	"errors"
	"io"
)

// Work in progress: replaced by the real implementation in the next commits.

type keyCache struct{ dir string }

func newKeyCache(dataDir string) *keyCache { return &keyCache{dir: dataDir} }

func (s *Signer) sign(ctx context.Context, domain string, msg io.ReaderAt, size int64) (string, error) {
	return "", errors.New("mailauth: signing not implemented yet")
}

func (v *Verifier) verify(ctx context.Context, in Input) Result {
	return Result{Action: Defer, Reason: "verification not implemented yet"}
}

func samplePercent(pct int) bool { return true }

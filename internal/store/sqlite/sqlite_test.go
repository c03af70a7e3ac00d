package sqlite

import (
	"context"
	"testing"

	"postfach/internal/notify"
	"postfach/internal/store"
	"postfach/internal/store/storetest"
)

func openTest(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	opts.Dir = dir
	if opts.Hub == nil {
		opts.Hub = notify.NewHub()
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir(), Options{})
	})
}

func TestConformancePersistent(t *testing.T) {
	storetest.RunPersistent(t, func(t *testing.T, dir string) store.Store {
		return openTest(t, dir, Options{})
	})
}

package sqlite

import (
	"testing"

	"postfach/internal/store"
	"postfach/internal/store/storetest"
)

func TestAliases(t *testing.T) {
	storetest.RunAliases(t, func(t *testing.T) store.Store {
		return openTest(t, t.TempDir(), Options{NoSync: true})
	})
}

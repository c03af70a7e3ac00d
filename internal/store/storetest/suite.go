package storetest

import (
	"testing"

	"postfach/internal/store"
)

// Run runs the conformance suite; open returns a new, empty store for each
// subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(e *env)
	}{
		{"Domains", testDomains},
		{"Accounts", testAccounts},
		{"DefaultMailboxes", testDefaultMailboxes},
		{"CreateMailbox", testCreateMailbox},
		{"MailboxNames", testMailboxNames},
		{"DeleteMailbox", testDeleteMailbox},
		{"RenameMailbox", testRenameMailbox},
		{"RenameInbox", testRenameInbox},
		{"Subscriptions", testSubscriptions},
		{"AppendFetch", testAppendFetch},
		{"AppendLineEndings", testAppendLineEndings},
		{"MultiAppendAtomic", testMultiAppendAtomic},
		{"UIDsAscendNeverReused", testUIDsNeverReused},
		{"ModSeqAndChanges", testModSeqAndChanges},
		{"Counters", testCounters},
		{"Recent", testRecent},
		{"Snapshot", testSnapshot},
		{"MessagesSets", testMessagesSets},
		{"StoreFlags", testStoreFlags},
		{"UnchangedSince", testUnchangedSince},
		{"Expunge", testExpunge},
		{"Copy", testCopy},
		{"Move", testMove},
		{"SharedBodyOutlivesSource", testSharedBody},
		{"SearchFlagsAndSizes", testSearchFlags},
		{"SearchDates", testSearchDates},
		{"SearchText", testSearchText},
		{"SearchUnicode", testSearchUnicode},
		{"SearchBoolean", testSearchBoolean},
		{"TenantIsolation", testTenantIsolation},
		{"RemoveAccount", testRemoveAccount},
		{"ConcurrentAppend", testConcurrentAppend},
		{"ConcurrentMixed", testConcurrentMixed},
		{"Quota", testQuota},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(newEnv(t, open))
		})
	}
}

// RunPersistent runs the checks that need a store closed and opened again
// on the same data; open opens the store kept in dir.
func RunPersistent(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Run("Reopen", func(t *testing.T) { testReopen(t, open) })
}

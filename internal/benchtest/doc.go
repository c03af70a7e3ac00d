// Package benchtest holds postfach's IMAP-level benchmarks: real TLS
// clients over loopback against the real server, with the store's fsync
// policy of production where durability is what is measured.
//
// It has no code of its own; everything is in its test files:
//
//   - BenchmarkAppend8Clients: 8 logged-in connections APPEND 10 KB
//     messages with LITERAL+, fsync on; reports msgs/s.
//   - BenchmarkSelect100k, BenchmarkUIDFetchFlags100k and
//     BenchmarkSearchHeader100k work on a 100,000-message INBOX, built once
//     and cached under os.TempDir() (see fixture_test.go), so that later
//     runs start at once.
//   - BenchmarkSearchText100k (SEARCH BODY and TEXT through the full-text
//     index, from a rare word to one in a quarter of the messages) and
//     BenchmarkSearchFuzzy100k (FUZZY with RETURN (RELEVANCY)) use the
//     same fixture, whose bodies are English-like text (fts_test.go).
//   - BenchmarkIdleConnections runs `postfach serve` as a separate process,
//     opens 5,000 TLS connections that log in, SELECT INBOX and IDLE (and,
//     as a second case, stay logged in without IDLE), and reports the
//     growth of the server's resident memory per connection.
//
// Every benchmark reports wall time, which is what the targets are about,
// and the CPU the whole test process spent per operation (server and
// client run in it, except for BenchmarkIdleConnections): on a shared
// machine the wall time includes waiting for a core, so read both, and
// note the load average (uptime) of the run.
//
// Run them with, for example:
//
//	go test -run '^$' -bench Append -benchtime 4000x ./internal/benchtest/
//	go test -run '^$' -bench 100k -benchtime 10x ./internal/benchtest/
//	go test -run '^$' -bench IdleConnections -benchtime 1x ./internal/benchtest/
//
// Set POSTFACH_BENCH_FIXTURE to a directory to keep the 100k fixture
// elsewhere, or remove the cached copy to rebuild it.
//
// APPEND creates one blob file per message, so its results depend on how
// fast the file system allocates inodes where the data lives (TMPDIR). On
// ext4 without a journal (as on some VMs) every inode allocation scans
// past the inodes freed in the same block group in the last seconds to
// minutes (recently_deleted in find_inode_bit): in a temporary directory
// that other processes fill and empty all the time, creating a file then
// costs up to a millisecond of CPU instead of 20 microseconds. The blob
// store makes its files ahead of need, in a directory that ext4 places in
// a group of its own (blob.DirOptions.Spares), which keeps the server
// clear of that; a run still removes thousands of files at exit, so leave
// a minute between runs when comparing builds.
package benchtest

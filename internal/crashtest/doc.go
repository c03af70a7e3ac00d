// Package crashtest holds postfach's end-to-end crash tests. It has no
// code of its own: the tests build the real postfach binary, run
// `postfach serve` as a child process, put it under load over IMAPS,
// kill it with SIGKILL at a random moment, restart it on the same data
// directory and check, over IMAP, the promise of the store:
//
//	Once the server has sent IMAP APPEND OK, the message survives kill -9,
//	and nothing half-written is ever visible.
//
// After every restart the tests check that
//   - every acknowledged message is present under the UID its APPENDUID or
//     COPYUID named, with the RFC822.SIZE of the CRLF-normalized form of
//     what was sent, and byte for byte that form (BODY.PEEK[] hashed with
//     SHA-256): the bodies of new messages at every restart, a random
//     sample of older ones, and every body after the last restart;
//   - every message present was acknowledged or was in flight at the kill,
//     and is complete (its hash is that of one message sent, exactly);
//     an in-flight MULTIAPPEND, COPY, MOVE or UID EXPUNGE took effect for
//     all its messages or for none; a MOVE never leaves a message in both
//     mailboxes or in neither; a STORE left each message's flags either as
//     they were or as asked;
//   - a message in flight that did not survive never shows up later, and
//     UIDs only grow: a UID once seen or acknowledged is never given to
//     another message, new messages get UIDs above every UID seen before
//     the crash, UIDVALIDITY does not change and UIDNEXT stays above them;
//   - STATUS MESSAGES, SIZE, UNSEEN and DELETED equal what FETCH shows;
//   - no spooled literal is left in the spool directory (some messages are
//     larger than the spool threshold), and after a final
//     offline garbage collection no more orphan blob files were found than
//     appends were lost in flight, every remaining blob file is referenced,
//     and SQLite's integrity check passes.
//
// What this proves, and what it does not. SIGKILL ends the process, not
// the machine: whatever the process wrote before it died stays in the
// kernel's page cache and reaches the disk later. So these tests prove the
// logical half of durability: the server acknowledges only after its
// writes (blob file, directory entry, SQLite commit) were made, in an order
// that recovery (SQLite's WAL replay, the blob garbage collection at
// start) turns into a consistent state at any instant of the kill. They
// cannot prove that the data was on stable storage before the
// acknowledgement; a power cut would lose what was only in the page cache.
// That half rests on fsync ordering: the group commit fdatasyncs the
// batch's blob files and fsyncs their directories before the COMMIT, and
// SQLite (synchronous=FULL) fsyncs the WAL before COMMIT returns. The
// optional TestAppendSyncsBeforeOK checks exactly that ordering for every
// APPEND with strace(1), where strace is available; whether the disk then
// honours the flush is the storage stack's business, which no test here
// can reach.
//
// Mutating workers own disjoint shares of INBOX, so that each message has
// at most one command in flight and its expected state is exact; the
// shares rotate from cycle to cycle, so that messages copied in one cycle
// are moved or expunged in a later one while their copies share the blob.
//
// The tests run the child with the race detector when the test binary has
// it, so that races under load are caught as well; any race report, panic
// or error log of the child fails the test. POSTFACH_CRASH_CYCLES sets the
// number of kill/restart cycles (default 3, 1 with -short) for soak runs;
// POSTFACH_CRASH_SEED replays a run's random choices (messages, delays);
// the seed in use is logged.
package crashtest

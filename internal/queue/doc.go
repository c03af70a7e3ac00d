// Package queue is postfach's durable outbound queue: it keeps messages
// for remote recipients until their MX hosts take them, retries with
// backoff, gives up after the expiry time, and tells senders what
// happened with delivery status notifications (RFC 3461, RFC 3464).
//
// Storage is the queue's own SQLite database (<data_dir>/queue/queue.db,
// WAL, synchronous=FULL) with one spool file per message
// (<data_dir>/queue/spool/, written through internal/blob). It is apart
// from the mail store because its life is different: rows are written
// once, updated a few times and deleted within days; nothing in it is
// read by the protocols; its schema evolves on its own; and its writes
// must not queue behind mailbox commits.
//
// Invariants:
//   - Enqueue returns only when the message is durable: the spool file is
//     fdatasynced and its directory fsynced before the COMMIT that
//     inserts the rows (synchronous=FULL fsyncs the WAL). A crash leaves
//     the whole message queued, or an orphan file that Start removes;
//     never a row without its file.
//   - One goroutine writes (writer.go): the writes of concurrent callers
//     share one transaction and one fsync (group commit).
//   - A recipient's outcome is committed right after the remote's reply
//     to the end of data, before QUIT and before any other work. A crash
//     between that reply and the commit makes us send the message again
//     (at-least-once, RFC 5321 section 4.1.1.4's choice over loss); the
//     window is one commit long. Stop lets attempts in flight finish and
//     record, so a clean restart sends nothing twice.
//   - A recipient is attempted by at most one goroutine at a time: work
//     is scheduled by (message, recipient domain), one SMTP transaction
//     for all due recipients of a message in a domain; a connection that
//     goes on to further messages of its domain claims them the same way
//     (runner.go, claim).
//   - Delivered and failed recipients leave the database in the same
//     transaction that queues their DSN; the message row goes with its
//     last recipient, its spool file right after that commit.
//   - DSNs go from the null sender and never cause a DSN themselves.
//   - Every recipient is offered to the LocalDeliverer first: DSNs to
//     local senders, and local deliveries the SMTP server deferred, go
//     into mailboxes, never out by SMTP.
//   - Admin commands (`postfach queue list|retry|drop`) open the same
//     database from another process; the running server notices their
//     changes through SQLite's data_version within PollInterval.
//   - Every DNS question goes through dns.Resolver, including the
//     addresses of MTA-STS policy hosts; nothing uses the system
//     resolver.
//
// Delivery, per (message, domain): MX lookup (a null MX bounces, RFC
// 7505; no MX falls back to the domain's A/AAAA, RFC 5321 section 5.1),
// the domain's MTA-STS policy (RFC 8461), then each host in preference
// order: EHLO, STARTTLS whenever offered (verified against the MX name
// when MTA-STS enforces or the message has REQUIRETLS, opportunistic
// otherwise, RFC 7435), and the transaction with SIZE, 8BITMIME,
// SMTPUTF8, DSN and REQUIRETLS passed on where the host supports them.
// Content that needs an extension the host lacks is not converted: an
// 8-bit message to a host without 8BITMIME, or an SMTPUTF8 one to a host
// without SMTPUTF8, bounces (5.6.3, 5.6.7) since conversion would break
// DKIM signatures and RFC 6531 has no downgrade.
//
// Retries: the n-th failure waits BackoffInitial*2^(n-1), capped at
// BackoffMax (5m, 10m, 20m, ..., 4h by default), with 10% jitter, and one
// last attempt falls on the expiry time (5 days by default); a DELAY DSN
// goes once, after DelayWarning (4h).
package queue

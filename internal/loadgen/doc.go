// Package loadgen drives IMAP, POP3, SMTP and LMTP servers (any server,
// not only postfach) with many concurrent clients and measures them: the
// engine of `postfach bench`.
//
// A run opens its clients, waits out a warm-up, then measures for a set
// window: operations per second and the latency of each command (p50,
// p90, p99, max, in fixed-size log-linear histograms), errors, and per
// workload a primary figure (sessions, FETCHes, APPENDs, searches or
// deliveries per second; for IDLE the delivery-to-EXISTS latency and the
// server's memory per idle connection). Workloads mix: clients are shared
// out by weight and run at the same time.
//
// Invariants:
//   - Load goes to loopback addresses only: targets are IP literals (or
//     "localhost", never looked up) that must be loopback, and
//     connections come from 127.0.0.x source addresses.
//   - A run is bounded: its duration is required and capped
//     (MaxDuration), client counts are capped, every command and
//     connection attempt has a timeout, and when the window closes the
//     clients finish their command and stop; those that do not within
//     the timeout have their connections closed.
//   - Memory does not grow with the length of a run: histograms have a
//     fixed number of buckets, error messages are sampled (a few kept,
//     all counted), response data is counted and dropped.
//   - Nothing outside the window is measured: connection set-up of idle
//     clients, mailbox creation, warm-up and stop are not load.
//   - Runs are repeatable: messages, recipients and choices follow from
//     a seed, so that two servers prepared with the same seed hold the
//     same octets and receive the same commands.
//
// The package holds no mutable package-level state.
package loadgen

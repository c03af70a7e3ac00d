// Package clienttest runs real IMAP clients against a complete postfach
// server: Python's imaplib as users script it, go-imap v2's client, and
// mbsync (isync) doing two-way synchronisation. Independent client
// implementations are the best test partners: whatever they fail to
// parse, or whatever makes them misbehave, is a server bug.
//
// The external programs are the Debian ones at fixed paths
// (/usr/bin/python3, /usr/bin/mbsync). Tests that need a missing one
// skip, unless POSTFACH_REQUIRE_CLIENTS=1 (set by CI), when they fail.
//
// Everything listens on 127.0.0.1 ephemeral ports; nothing resolves names.
package clienttest

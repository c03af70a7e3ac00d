// Package wire reads IMAP commands and writes IMAP responses (RFC 9051
// section 9, with RFC 3501 for IMAP4rev1 clients).
//
// A Reader turns the client's byte stream into typed commands (command.go):
// it owns framing (lines, synchronizing and non-synchronizing literals,
// literal8), limits, and resynchronisation after a refused command. A Writer
// encodes responses piece by piece; the session composes them.
//
// Invariants:
//   - After ReadCommand returns an *Error that is not Fatal, the stream is
//     positioned at the start of the next command.
//   - A synchronizing literal is only invited (the continuation callback) once
//     everything before it parsed and its size is within the limits; a refused
//     one ends the command, since the client waits for the invitation.
//   - Nothing here is shared between Readers or Writers: no goroutines, no
//     package state.
package wire

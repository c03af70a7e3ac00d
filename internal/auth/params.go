// Package auth owns credentials: password hashing (argon2id), checking a
// login, and decoding SASL exchanges.
//
// Invariants:
//   - An unknown user, a disabled login and a wrong password are one
//     answer, ErrInvalidCredentials, reached after the same work (an
//     argon2id computation with the current parameters), so neither the
//     answer nor its timing tells whether an address exists.
//   - At most Options.MaxConcurrent argon2id computations run at once, so a
//     flood of logins costs time, never unbounded memory.
//   - Secrets (passwords, hashes, SASL payloads) are never logged.
//   - The package holds no mutable package-level state.
package auth

import "fmt"

// Params are argon2id cost parameters (RFC 9106 section 3.1).
type Params struct {
	Time      uint32 // passes over memory (t)
	MemoryKiB uint32 // memory in KiB (m)
	Threads   uint8  // lanes (p)
}

// DefaultParams returns the parameters for new hashes: OWASP's Password
// Storage Cheat Sheet argon2id setting m=47104 (46 MiB), t=1, p=1. OWASP
// lists five settings of equal strength; this is the one with the most
// memory, which is what makes argon2id expensive on GPUs. Measured with
// BenchmarkHash on the project machine (AMD EPYC, 2 cores): about 25 ms
// and 46 MiB per hash, one core each. p=1 keeps each computation on one
// core, so the concurrency limit (GOMAXPROCS) bounds both CPU and memory
// (2 x 46 MiB here). RFC 9106's second recommendation (t=3, m=64 MiB, p=4)
// measured 62 ms with both cores busy: too slow for mail clients that
// log in on every reconnect.
func DefaultParams() Params {
	return Params{Time: 1, MemoryKiB: 47104, Threads: 1}
}

// Lengths of what Hash generates.
const (
	saltLen = 16 // RFC 9106 section 3.1 recommends 128 bits
	keyLen  = 32
)

// Bounds on what the PHC decoder accepts, so that a corrupt or hostile
// stored hash cannot make Verify allocate or spin without limit.
const (
	maxMemoryKiB = 4 << 20 // 4 GiB
	maxTime      = 64
	minSaltLen   = 8 // RFC 9106 section 3.1
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// Validate reports whether p can be used to hash.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("auth: argon2id time %d out of range 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return fmt.Errorf("auth: argon2id threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		// RFC 9106 section 3.1: at least 8 KiB per lane.
		return fmt.Errorf("auth: argon2id memory %d KiB out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxMemoryKiB)
	}
	return nil
}

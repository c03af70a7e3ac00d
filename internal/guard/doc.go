// Package guard defends logins against guessing: it counts failed
// logins per client address, per network and per account, slows the
// answers to a client that keeps failing, and then bans its address. It
// implements auth.Limiter, so IMAP, POP3 and SMTP AUTH share one count.
//
// How an attempt is judged (see Policy for the numbers):
//   - Failures are counted over a sliding window for the address (IPv4
//     /32, IPv6 /128), its network (IPv4 /24, IPv6 /64) and, for IPv6,
//     its site (/48); and for the user name tried, whether or not an
//     account has it, so that an unknown user and a wrong password are
//     treated alike.
//   - Past a level's delay threshold, an attempt waits before it is
//     checked; each further failure doubles the wait up to MaxDelay.
//     Past the ban threshold the prefix is banned for BanDuration: its
//     attempts are refused without checking the password, and its new
//     connections are closed at accept time (Banned).
//   - Attempts in flight count as failures until they end, so that a
//     client opening many connections at once gets no more guesses than
//     one that waits for each answer.
//   - Once a user name is past its delay threshold, addresses it never
//     logged in from get AccountMaxInFlight attempts on it at a time:
//     waits alone would not slow an attack spread over many addresses.
//   - The owner keeps access: an address from which an account logged in
//     successfully (IPv4 /32, IPv6 /64, remembered for KnownTTL) is
//     exempt from the account's count and from network and site
//     penalties. Only its own address level applies to it, so an attack
//     on the account, or from the same network, never slows or locks
//     out the owner's known addresses.
//   - Addresses on the allowlist are never counted, slowed or banned.
//     The allowlist is empty by default; loopback is not exempt.
//
// Invariants:
//   - Allow never checks a password and never touches the store; it
//     decides from memory. Waiting attempts are bounded (MaxDelayed):
//     beyond it, attempts that would wait are refused at once, so an
//     attacker cannot park unbounded goroutines on delays.
//   - Bans and known addresses are persisted through Store (the SQLite
//     store's guard tables), by Run, never on a login's path. Bans
//     survive a restart; failure counters deliberately do not.
//   - Bans added or removed by another process (`postfach ban`) reach a
//     running Guard at its next poll (PollInterval).
//   - The package holds no mutable package-level state.
package guard

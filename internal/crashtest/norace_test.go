//go:build !race

package crashtest

// raceEnabled reports whether the test binary, and so the server binary
// it builds, has the race detector.
const raceEnabled = false

//go:build race

package guard

// raceEnabled shortens the simulations, which the race detector slows
// tenfold without making them any more concurrent.
const raceEnabled = true

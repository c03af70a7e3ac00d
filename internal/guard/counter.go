package guard

import "time"

// counter counts failures over a sliding window, approximated by two
// fixed windows (the current one and the one before, weighted by how
// much of it the sliding window still covers). It takes 24 bytes however
// many failures it counts.
type counter struct {
	start int64  // index of the current fixed window
	prev  uint32 // failures in window start-1
	cur   uint32 // failures in window start
	// pending are attempts allowed and not yet done; they count as
	// failures until they end. pendingAt (unix nanoseconds) of the last
	// one lets a count leaked by an attempt that never reported back
	// (the auth layer does not report store failures) expire.
	pending   int32
	pendingAt int64
}

// pendingTTL bounds how long an attempt may stay in flight before its
// pending count is forgotten: longer than any delay plus a password
// check.
const pendingTTL = 2 * time.Minute

func (c *counter) roll(now time.Time, window time.Duration) {
	idx := now.UnixNano() / int64(window)
	switch {
	case idx == c.start:
	case idx == c.start+1:
		c.prev, c.cur, c.start = c.cur, 0, idx
	default:
		c.prev, c.cur, c.start = 0, 0, idx
	}
}

// failures returns the failures counted in the window ending now.
func (c *counter) failures(now time.Time, window time.Duration) int {
	c.roll(now, window)
	elapsed := now.UnixNano() - c.start*int64(window)
	weight := 1 - float64(elapsed)/float64(window)
	return int(float64(c.prev)*weight) + int(c.cur)
}

// load is failures plus attempts in flight.
func (c *counter) load(now time.Time, window time.Duration) int {
	return c.failures(now, window) + c.inFlight(now)
}

func (c *counter) inFlight(now time.Time) int {
	if c.pending > 0 && now.UnixNano()-c.pendingAt > int64(pendingTTL) {
		c.pending = 0
	}
	return int(c.pending)
}

func (c *counter) begin(now time.Time) {
	c.inFlight(now)
	c.pending++
	c.pendingAt = now.UnixNano()
}

func (c *counter) end() {
	if c.pending > 0 {
		c.pending--
	}
}

func (c *counter) fail(now time.Time, window time.Duration) {
	c.roll(now, window)
	if c.cur < ^uint32(0) {
		c.cur++
	}
}

// idle reports whether c holds nothing worth keeping.
func (c *counter) idle(now time.Time, window time.Duration) bool {
	return c.failures(now, window) == 0 && c.inFlight(now) == 0
}

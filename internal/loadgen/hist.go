package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in log-linear buckets, in the manner of
// HdrHistogram: each power of two is split into 64 equal sub-buckets, so
// a recorded value is known within 1/64 (1.6%) of itself, from 1 ns up to
// histMaxValue (about 18 minutes; longer values land in the last bucket,
// and Max still reports them exactly). Its memory is fixed (histBuckets
// counters, 18 KiB) whatever it records.
//
// Record is safe for concurrent use without locks: many clients share a
// command's histogram. Reading (Snapshot, Merge) while others record gives
// a consistent enough picture for progress output; final reports are read
// after the recorders stopped.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds; 2^64 ns is 584 years
	max    atomic.Int64
	min    atomic.Int64 // 0 means none yet; values are stored +1
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits // sub-buckets per power of two
	// histMaxExp is the largest power of two tracked: 2^40 ns is 1,100 s.
	histMaxExp   = 40
	histBuckets  = (histMaxExp - histSubBits + 2) * histSub
	histMaxValue = int64(1)<<(histMaxExp+1) - 1
)

// bucketOf maps a value to its bucket. Values below histSub have a bucket
// each; above, bucket (e-histSubBits+1)*histSub + mantissa-histSub, where
// e is the position of the highest set bit and the mantissa its top
// histSubBits+1 bits.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1
	shift := e - histSubBits
	m := int(v >> shift)
	return (shift+1)*histSub + m - histSub
}

// bucketRange returns the smallest and the largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < histSub {
		return int64(i), int64(i)
	}
	shift := i/histSub - 1
	m := int64(i%histSub + histSub)
	lo = m << shift
	return lo, lo + (int64(1) << shift) - 1
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(v))
	for {
		cur := h.max.Load()
		if v <= cur || h.max.CompareAndSwap(cur, v) {
			break
		}
	}
	for {
		cur := h.min.Load()
		if (cur != 0 && v+1 >= cur) || h.min.CompareAndSwap(cur, v+1) {
			break
		}
	}
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
	if m := o.min.Load(); m != 0 && (h.min.Load() == 0 || m < h.min.Load()) {
		h.min.Store(m)
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Min is the smallest recorded value, exactly; 0 when empty.
func (h *Histogram) Min() time.Duration {
	if m := h.min.Load(); m > 0 {
		return time.Duration(m - 1)
	}
	return 0
}

// Mean is the average of the recorded values.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the value below or at which a fraction q (0..1) of the
// recorded values lie: the highest value of the bucket that holds the
// ceil(q*n)-th smallest, capped by Max, so that it never understates.
// It returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			_, hi := bucketRange(i)
			return time.Duration(min(hi, h.max.Load()))
		}
	}
	return h.Max()
}

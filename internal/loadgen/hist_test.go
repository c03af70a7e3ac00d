package loadgen

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	// Every bucket's range maps back to it, and the ranges tile the line.
	var prevHi int64 = -1
	for i := range histBuckets {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, prevHi+1)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d [%d,%d] maps to %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		// Relative width within 1/64.
		if lo >= histSub && float64(hi-lo+1)/float64(lo) > 1.0/64+1e-12 {
			t.Fatalf("bucket %d [%d,%d] too wide", i, lo, hi)
		}
		prevHi = hi
	}
	if prevHi != histMaxValue {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, histMaxValue)
	}
	if bucketOf(-5) != 0 || bucketOf(histMaxValue*4) != histBuckets-1 {
		t.Fatal("out-of-range values are not clamped")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []time.Duration
	}{
		{"uniform", func() []time.Duration {
			var v []time.Duration
			for i := 1; i <= 10000; i++ {
				v = append(v, time.Duration(i)*time.Microsecond)
			}
			return v
		}()},
		{"lognormal", func() []time.Duration {
			r := rand.New(rand.NewPCG(1, 2))
			var v []time.Duration
			for range 50000 {
				v = append(v, time.Duration(float64(time.Millisecond)*r.ExpFloat64()*r.ExpFloat64()))
			}
			return v
		}()},
		{"single", []time.Duration{42 * time.Millisecond}},
		{"tiny", []time.Duration{0, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tc.values {
				h.Record(v)
			}
			sorted := slices.Clone(tc.values)
			slices.Sort(sorted)
			if h.Count() != uint64(len(sorted)) || h.Max() != sorted[len(sorted)-1] || h.Min() != sorted[0] {
				t.Fatalf("count %d max %v min %v", h.Count(), h.Max(), h.Min())
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				rank := int(float64(len(sorted))*q+0.999999) - 1
				exact := sorted[max(rank, 0)]
				got := h.Quantile(q)
				// Never below the exact value, at most one bucket above.
				if got < exact || float64(got-exact) > float64(exact)/64+1 {
					t.Errorf("q%.3f = %v, exact %v", q, got, exact)
				}
			}
		})
	}
}

func TestHistogramEmptyAndMerge(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.99) != 0 || a.Mean() != 0 || a.Min() != 0 {
		t.Fatal("empty histogram reports values")
	}
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(2 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 3 || a.Max() != 3*time.Millisecond || a.Min() != time.Millisecond || a.Mean() != 2*time.Millisecond {
		t.Fatalf("merged: count %d max %v min %v mean %v", a.Count(), a.Max(), a.Min(), a.Mean())
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 7999*time.Microsecond || h.Min() != 0 {
		t.Fatalf("count %d max %v min %v", h.Count(), h.Max(), h.Min())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i))
	}
}

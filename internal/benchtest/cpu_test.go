package benchtest

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the test process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures the process's CPU time over a benchmark's loop. On a
// shared machine wall time includes waiting for a core; CPU time does not.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{cpuTime()} }

// report adds cpu-ms/op: CPU of the whole process (server and clients)
// per operation.
func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-m.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

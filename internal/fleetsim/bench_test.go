package fleetsim

import (
	"flag"
	"runtime"
	"syscall"
	"testing"
	"time"
)

var benchDaemons = flag.Int("fleet-daemons", 100_000, "daemons of BenchmarkFleetSimDay")

// BenchmarkFleetSimDay simulates a working day of -fleet-daemons users
// (100,000 by default) with 5 servers each. Run it with -benchtime 1x:
// s/day is the wall time of one simulated day, heap-MiB the heap at its
// end, cpu-s/day the CPU time the process spent (user and system), which
// is what the run costs when other work shares the machine.
func BenchmarkFleetSimDay(b *testing.B) {
	cpu0 := cpuTime()
	c := DefaultConfig()
	c.Daemons = *benchDaemons
	var r *Result
	for b.Loop() {
		var err error
		if r, err = Run(c, nil); err != nil {
			b.Fatal(err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/day")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/day")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(r.Summary.Requests), "requests")
	b.ReportMetric(0, "ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package hostile

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcStats is what /proc says about a process: its resident memory now
// (VmRSS) and at its peak (VmHWM), and its open descriptors.
type ProcStats struct {
	RSS, HWM int64 // bytes
	FDs      int
}

// ReadProcStats reads pid's /proc/PID/status and counts /proc/PID/fd.
func ReadProcStats(pid int) (ProcStats, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStats{}, err
	}
	defer f.Close()
	var st ProcStats
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "VmRSS" && k != "VmHWM" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return ProcStats{}, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			st.RSS = kb << 10
		} else {
			st.HWM = kb << 10
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return ProcStats{}, err
	}
	st.FDs = len(ents)
	return st, sc.Err()
}

// sampler keeps the highest ProcStats of a process, sampled every period.
type sampler struct {
	pid int
	mu  sync.Mutex
	max ProcStats
}

func (s *sampler) run(done <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// sample reads the process once and returns the peak so far.
func (s *sampler) sample() ProcStats {
	st, err := ReadProcStats(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.max.RSS = max(s.max.RSS, st.RSS)
		s.max.HWM = max(s.max.HWM, st.HWM)
		s.max.FDs = max(s.max.FDs, st.FDs)
	}
	return s.max
}

// mib formats bytes for a report.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

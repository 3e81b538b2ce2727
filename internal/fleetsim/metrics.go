package fleetsim

import "time"

// metrics are the run's counters, per bin where they make a time series.
type metrics struct {
	binNs int64
	// Per bin: requests sent to the IdP by callers' and by background
	// flights, and of these the retries of a failed refresh, the IdP's
	// 429s, requests to and 429s from the
	// authorization servers (all of them), callers' requests, those that
	// had to wait for the network, errors, and tokens used by the bin
	// they were obtained in.
	idpCaller, idpBackground, idpRetry, idp429, as, as429 []int32
	requests, waited, errors, usedByBin                   []int32

	obtained, tokensUsed, minTokens int64
	waitNanos                       int64
	errorsUp, usersErred            int64
}

func newMetrics(c *Config) *metrics {
	n := int((c.Duration + c.Bin - 1) / c.Bin)
	mk := func() []int32 { return make([]int32, n) }
	return &metrics{
		binNs: int64(c.Bin), idpCaller: mk(), idpBackground: mk(), idpRetry: mk(), idp429: mk(), as: mk(), as429: mk(),
		requests: mk(), waited: mk(), errors: mk(), usedByBin: mk(),
	}
}

func (m *metrics) bin(now int64) int {
	return min(int(now/m.binNs), len(m.requests)-1)
}

// used counts a token's first use, by the bin it was obtained in.
func (m *metrics) used(bin int32) {
	m.tokensUsed++
	m.usedByBin[bin]++
}

// perSecond turns a bin's count into a rate.
func (m *metrics) perSecond(n int32) float64 {
	return float64(n) / (float64(m.binNs) / float64(time.Second))
}

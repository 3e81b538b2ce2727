package upstream

// AwaitQueued blocks until n requests of priority p wait at g, for tests
// outside the package that must not sleep.
func (g *Gate) AwaitQueued(p Priority, n int) { await(g, queued(g, p, n)) }

// AwaitPassed blocks until g has let n requests through.
func (g *Gate) AwaitPassed(n uint64) { await(g, func() bool { return g.stats.Passed >= n }) }

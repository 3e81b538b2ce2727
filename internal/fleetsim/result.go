package fleetsim

import (
	"math"
	"slices"
	"time"
)

// Result is a run's outcome: the summary and the time series.
type Result struct {
	Summary Summary
	// Series has one row per bin.
	Series []Row
}

// Row is one bin of the time series; rates are per second.
type Row struct {
	Start            time.Duration // since midnight
	IdP              float64       // requests at the IdP
	IdPCaller        float64       // of which callers' flights sent
	IdPBackground    float64       // of which background refreshes sent
	IdPRetry         float64       // of which retries of a failed refresh
	IdP429           float64       // 429s the IdP answered
	AS               float64       // requests at all authorization servers
	AS429            float64
	Requests, Waited int32 // callers' requests, and those that waited for the network
	Errors           int32 // callers' requests answered with an error
}

// Summary is what an administrator reads; its JSON form is the command's
// output. Rates are requests per second at the IdP, over bins of the
// configured width.
type Summary struct {
	Seed    uint64 `json:"seed"`
	Daemons int    `json:"daemons"`
	Servers int    `json:"servers"`

	// SteadyRPS is the median rate over the steady window, outages and
	// their recoveries left out; SteadyBackgroundRPS the same of the
	// background refreshes alone.
	SteadyRPS           float64 `json:"steady_rps"`
	SteadyBackgroundRPS float64 `json:"steady_background_rps"`
	// PeakRPS is the highest rate of the day, at PeakAt (time of day).
	PeakRPS float64 `json:"peak_rps"`
	PeakAt  string  `json:"peak_at"`

	IdPCalls int64 `json:"idp_calls"`
	ASCalls  int64 `json:"as_calls"`
	IdP429   int64 `json:"idp_429"`
	AS429    int64 `json:"as_429"`
	// Cascades429 counts requests a daemon sent after a 429 reached it
	// and before the time it named.
	Cascades429 int64 `json:"cascades_429"`

	// TokensObtained counts the access tokens got; TokensUsed those that
	// served at least one request. MinTokens is the least any daemon
	// could have got: the number of token lifetimes in which a server was
	// used.
	TokensObtained int64 `json:"tokens_obtained"`
	TokensUsed     int64 `json:"tokens_used"`
	MinTokens      int64 `json:"min_tokens"`
	// CallsPerTokenUsed is IdP calls per token used; CallsPerMinToken
	// per token of the minimum.
	CallsPerTokenUsed float64 `json:"calls_per_token_used"`
	CallsPerMinToken  float64 `json:"calls_per_min_token"`

	Requests int64 `json:"requests"`
	// WaitShare is the share of callers' requests that waited for the
	// network (the cache could not serve them); MeanWaitMs their mean
	// wait.
	WaitShare  float64 `json:"wait_share"`
	MeanWaitMs float64 `json:"mean_wait_ms"`
	Errors     int64   `json:"errors"`
	// ErrorsWhileUp counts errors answered while neither the IdP nor the
	// server's authorization server was in an outage: a token could have
	// been served. UsersWithErrorWhileUp counts the users who got one.
	ErrorsWhileUp         int64 `json:"errors_while_up"`
	UsersWithErrorWhileUp int64 `json:"users_with_error_while_up"`

	Recoveries []Recovery `json:"recoveries,omitempty"`
}

// Recovery is what followed one outage, over the recovery window after
// its end, at the server that was down.
type Recovery struct {
	Target string `json:"target"`
	Start  string `json:"start"`
	End    string `json:"end"`
	// PeakRPS is the highest rate of the recovery; PeakOverSteady that
	// over the steady rate.
	PeakRPS        float64 `json:"peak_rps"`
	PeakOverSteady float64 `json:"peak_over_steady"`
	// CallerPeakRPS is the highest rate of callers' flights: what people
	// waited for.
	CallerPeakRPS float64 `json:"caller_peak_rps"`
	// CatchUpOverSteady is the highest rate of background retries of
	// refreshes that failed (the catch-up of the outage's backlog) in one
	// bin, over the steady rate.
	CatchUpOverSteady float64 `json:"catch_up_over_steady"`
	// BackgroundExcessOverSteady is the most all background refreshes
	// added above their steady rate in one bin, over the steady rate: the
	// catch-up and the refreshes of the tokens callers fetched together
	// at the recovery, which come due together a lifetime's two thirds
	// later.
	BackgroundExcessOverSteady float64 `json:"background_excess_over_steady"`
	// OutageCalls are the requests sent during the outage.
	OutageCalls int64 `json:"outage_calls"`
	// Calls are the requests of the recovery window, TokensNeeded the
	// tokens obtained in it that served a request; CallsPerTokenNeeded
	// their ratio.
	Calls               int64   `json:"calls"`
	TokensNeeded        int64   `json:"tokens_needed"`
	CallsPerTokenNeeded float64 `json:"calls_per_token_needed"`
}

func (s *sim) result() *Result {
	m, c := s.m, &s.cfg
	res := &Result{}
	for i := range m.requests {
		res.Series = append(res.Series, Row{
			Start: time.Duration(int64(i) * m.binNs),
			IdP:   m.perSecond(m.idpCaller[i] + m.idpBackground[i]), IdPCaller: m.perSecond(m.idpCaller[i]),
			IdPBackground: m.perSecond(m.idpBackground[i]), IdPRetry: m.perSecond(m.idpRetry[i]), IdP429: m.perSecond(m.idp429[i]),
			AS: m.perSecond(m.as[i]), AS429: m.perSecond(m.as429[i]),
			Requests: m.requests[i], Waited: m.waited[i], Errors: m.errors[i],
		})
	}
	sum := Summary{Seed: c.Seed, Daemons: c.Daemons, Servers: c.Servers,
		TokensObtained: m.obtained, TokensUsed: m.tokensUsed, MinTokens: m.minTokens,
		ErrorsWhileUp: m.errorsUp, UsersWithErrorWhileUp: m.usersErred,
		IdP429: s.idp.tooMany, Cascades429: s.idp.cascades}
	for _, a := range s.as {
		sum.AS429 += a.tooMany
		sum.Cascades429 += a.cascades
	}
	var waited int64
	for i := range m.requests {
		sum.IdPCalls += int64(m.idpCaller[i] + m.idpBackground[i])
		sum.ASCalls += int64(m.as[i])
		sum.Requests += int64(m.requests[i])
		sum.Errors += int64(m.errors[i])
		waited += int64(m.waited[i])
	}
	sum.CallsPerTokenUsed = ratio(sum.IdPCalls, m.tokensUsed)
	sum.CallsPerMinToken = ratio(sum.IdPCalls, m.minTokens)
	sum.WaitShare = ratio(waited, sum.Requests)
	sum.MeanWaitMs = round(float64(m.waitNanos) / math.Max(1, float64(waited)) / 1e6)

	// The steady window leaves out outages and their recoveries.
	excluded := make([]bool, len(m.requests))
	for _, o := range c.Outages {
		for i := m.bin(int64(o.Start)); i <= m.bin(int64(o.Start+o.Length+c.recoveryWindow())); i++ {
			excluded[i] = true
		}
	}
	var all, bg []float64
	for i := m.bin(int64(c.SteadyFrom)); i < len(m.requests) && int64(i)*m.binNs < int64(c.SteadyTo); i++ {
		if !excluded[i] {
			all = append(all, res.Series[i].IdP)
			bg = append(bg, res.Series[i].IdPBackground)
		}
	}
	sum.SteadyRPS, sum.SteadyBackgroundRPS = round(median(all)), round(median(bg))
	for i, r := range res.Series {
		if r.IdP > sum.PeakRPS {
			sum.PeakRPS, sum.PeakAt = r.IdP, clock(time.Duration(int64(i)*m.binNs))
		}
	}
	sum.PeakRPS = round(sum.PeakRPS)
	for _, o := range c.Outages {
		sum.Recoveries = append(sum.Recoveries, s.recovery(res, o, sum.SteadyRPS, sum.SteadyBackgroundRPS))
	}
	res.Summary = sum
	return res
}

func (s *sim) recovery(res *Result, o Outage, steady, steadyBg float64) Recovery {
	m, c := s.m, &s.cfg
	end := o.Start + o.Length
	r := Recovery{Target: string(o.Target), Start: clock(o.Start), End: clock(end)}
	rate := func(i int) (total, caller, bg, retry float64, calls int64) {
		row := res.Series[i]
		if o.Target == TargetIdP {
			return row.IdP, row.IdPCaller, row.IdPBackground, row.IdPRetry, int64(m.idpCaller[i] + m.idpBackground[i])
		}
		return row.AS, 0, 0, 0, int64(m.as[i])
	}
	for i := m.bin(int64(o.Start)); i < m.bin(int64(end)); i++ {
		_, _, _, _, n := rate(i)
		r.OutageCalls += n
	}
	last := int64(end + c.recoveryWindow())
	var maxBg, maxRetry float64
	for i := m.bin(int64(end)); i < len(m.requests) && int64(i)*m.binNs < last; i++ {
		total, caller, bg, retry, n := rate(i)
		maxRetry = math.Max(maxRetry, retry)
		r.PeakRPS = math.Max(r.PeakRPS, total)
		r.CallerPeakRPS = math.Max(r.CallerPeakRPS, caller)
		maxBg = math.Max(maxBg, bg)
		r.Calls += n
		r.TokensNeeded += int64(m.usedByBin[i])
	}
	r.PeakRPS, r.CallerPeakRPS = round(r.PeakRPS), round(r.CallerPeakRPS)
	if steady > 0 {
		r.PeakOverSteady = round(r.PeakRPS / steady)
		r.CatchUpOverSteady = round(maxRetry / steady)
		r.BackgroundExcessOverSteady = round(math.Max(0, maxBg-steadyBg) / steady)
	}
	r.CallsPerTokenNeeded = ratio(r.Calls, r.TokensNeeded)
	return r
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return round(float64(a) / float64(b))
}

// round keeps three decimals: the summary is compared across runs and
// quoted in docs, where more digits are noise.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	if len(ys)%2 == 1 {
		return ys[len(ys)/2]
	}
	return (ys[len(ys)/2-1] + ys[len(ys)/2]) / 2
}

// clock formats a time of day as HH:MM.
func clock(d time.Duration) string {
	return epoch.Add(d).Format("15:04")
}

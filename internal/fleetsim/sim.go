package fleetsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// epoch is the simulated day's midnight (a Monday). Only differences of
// times matter; a fixed date keeps runs identical.
var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// expirySkew is the broker's: a token this close to its end is not handed
// out (broker/token.go).
const expirySkew = int64(10 * time.Second)

// parallel is Queue.Run's default bound on background refreshes at once.
const parallel = schedule.DefaultParallel

// errUpstream is what the queue records for a failed refresh; the
// simulator reads no error text.
var errUpstream = errors.New("upstream unavailable")

// sim is one run's state.
type sim struct {
	cfg     Config
	dur     int64
	life    int64
	jagLife int64
	timeout int64
	latency int64

	daemons []daemon
	slots   []slot // daemon-major: slot d*servers+s
	keys    []schedule.Key
	index   map[string]int
	idp     *modelServer
	as      []*modelServer
	ev      *events
	jitter  *rand.Rand
	m       *metrics
	header  http.Header
	// eager tells the queue of every request, as the broker does, instead
	// of lazily (see flush): TestLazyUsedIsExact compares the two.
	eager bool
}

// Progress, when not nil, is called now and then with the simulated time
// reached, so a long run can show how far it is.
type Progress func(reached, total time.Duration)

// Run simulates cfg and returns its result.
func Run(cfg Config, progress Progress) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newSim(cfg)
	s.loop(progress)
	return s.result(), nil
}

func tt(ns int64) time.Time { return epoch.Add(time.Duration(ns)) }

func nsOf(t time.Time) int64 { return int64(t.Sub(epoch)) }

func newSim(cfg Config) *sim {
	s := &sim{
		cfg: cfg, dur: int64(cfg.Duration), life: int64(cfg.TokenLifetime), jagLife: int64(cfg.JAGLifetime),
		timeout: int64(cfg.Usage.CallerTimeout), latency: int64(cfg.Latency),
		index:  map[string]int{},
		jitter: rand.New(rand.NewPCG(cfg.Seed, 0x6a17)),
		header: http.Header{},
		ev:     newEvents(int64(cfg.Duration)),
	}
	var idpOut, asOut [][2]int64
	for _, o := range cfg.Outages {
		w := [2]int64{int64(o.Start), int64(o.Start + o.Length)}
		if o.Target == TargetIdP {
			idpOut = append(idpOut, w)
		} else {
			asOut = append(asOut, w)
		}
	}
	s.idp = newModelServer(cfg.IdP, idpOut, cfg.Daemons, cfg.Latency)
	for i := range cfg.Servers {
		url := fmt.Sprintf("https://mcp%d.example/mcp", i)
		s.keys = append(s.keys, schedule.Key{Server: url})
		s.index[url] = i
		s.as = append(s.as, newModelServer(cfg.AS, asOut, cfg.Daemons, cfg.Latency))
	}
	s.m = newMetrics(&s.cfg)
	idpPacer, _ := upstream.NewPacer(cfg.IdPLimit) // validated
	asPacer, _ := upstream.NewPacer(cfg.ASLimit)
	s.daemons = make([]daemon, cfg.Daemons)
	s.slots = make([]slot, cfg.Daemons*cfg.Servers)
	for d := range s.daemons {
		dm := &s.daemons[d]
		dm.q = schedule.New(schedule.Config{Rand: s.jitter.Float64})
		dm.idp = *idpPacer
		dm.wakeAt = -1
		dm.pcg = *rand.NewPCG(cfg.Seed, uint64(d)+1)
		dm.usage = *rand.New(&dm.pcg) // s.daemons is never reallocated
		dm.day = drawDay(&cfg.Usage, &dm.usage)
		s.pushStates(d)
		for sv := range cfg.Servers {
			sl := s.slot(d, sv)
			sl.as, sl.next = *asPacer, -1
			if dm.usage.Float64() >= cfg.Usage.UseShare {
				continue
			}
			start := dm.day.seg[0][0]
			sl.sessionEnd = start
			if t := nextUse(&cfg.Usage, &dm.day, &dm.usage, start, &sl.sessionEnd); t >= 0 && t < s.dur {
				s.ev.push(event{at: t, kind: evUse, d: int32(d), s: uint8(sv)})
			}
		}
	}
	return s
}

// pushStates plans the laptop's resumes and suspends of user d's day.
func (s *sim) pushStates(d int) {
	dy := &s.daemons[d].day
	for i := range maxSegments {
		if i == 0 || dy.suspend[i-1] {
			s.ev.push(event{at: dy.seg[i][0], kind: evState, d: int32(d), gen: 1})
		}
		if dy.suspend[i] {
			s.ev.push(event{at: dy.seg[i][1], kind: evState, d: int32(d), gen: 0})
		}
	}
}

// serverOf is the index of k's server. The keys the queue hands out are
// the simulator's own, whose strings compare by pointer at once; a map
// lookup per refresh would cost more than the refresh.
func (s *sim) serverOf(k schedule.Key) int {
	for i := range s.keys {
		if s.keys[i].Server == k.Server {
			return i
		}
	}
	return s.index[k.Server]
}

func (s *sim) slot(d, sv int) *slot { return &s.slots[d*s.cfg.Servers+sv] }

func (s *sim) loop(progress Progress) {
	var n int
	for s.ev.len() > 0 {
		e := s.ev.pop()
		n++
		if progress != nil && n%(1<<20) == 0 {
			progress(time.Duration(e.at), s.cfg.Duration)
		}
		switch e.kind {
		case evUse:
			s.use(int(e.d), int(e.s), e.at)
		case evWake:
			s.wake(int(e.d), e.at)
		case evStep:
			if sl := s.slot(int(e.d), int(e.s)); sl.gen == e.gen && sl.phase != phNone {
				s.step(int(e.d), int(e.s), e.at)
			}
		case evState:
			s.state(int(e.d), e.at, e.gen == 1)
		}
	}
	if progress != nil {
		progress(s.cfg.Duration, s.cfg.Duration)
	}
}

// state resumes or suspends user d's laptop. A resumed daemon re-plans
// every token, as Queue.Run does when it notices wall time jumped; a
// suspended one loses its flights in progress.
func (s *sim) state(d int, now int64, awake bool) {
	dm := &s.daemons[d]
	if awake {
		if !dm.awake {
			dm.awake = true
			dm.q.Resync(tt(now))
			for sv := range s.cfg.Servers {
				s.slot(d, sv).next = -1 // drawn again
			}
			s.schedWake(d, now)
		}
		return
	}
	dm.awake = false
	for sv := range s.cfg.Servers {
		if sl := s.slot(d, sv); sl.phase != phNone {
			// No outcome: Done plans the refresh a second later.
			sl.callers, sl.next = 0, -1
			s.finish(d, sv, now)
		}
	}
	dm.wakeAt = -1
}

// tell tells the queue of a request now (Queue.Used): a parked entry the
// request makes wanted is planned again, so the refresh loop may be due
// sooner.
func (s *sim) tell(d, sv int, now int64) {
	sl := s.slot(d, sv)
	s.daemons[d].q.Used(s.keys[sv], tt(now))
	sl.queued, sl.lastUse, sl.toldUse = true, now, now
	if sl.mayPark {
		sl.next = -1 // woken, if wanted: due at once
	}
	sl.mayPark = !s.wanted(sl, now, now) // Used unparks an entry it finds wanted
	s.schedWake(d, now)
}

// wanted is the queue's rule (schedule.Wanted) for sl's token at at had
// its last request been at used. The simulator runs every server under
// the default policy, and the exactness of the lazy telling (flush) rests
// on the rule it asks being the one the queue applies: a driver with
// keep_warm or idle_after servers would pass their Policy here.
func (s *sim) wanted(sl *slot, used, at int64) bool {
	var issued, expires time.Time
	if sl.tokExp != 0 {
		issued, expires = tt(sl.tokIssued), tt(sl.tokExp)
	}
	return schedule.Wanted(schedule.Policy{}, 0, tt(used), issued, expires, tt(at))
}

// mayBeDue reports whether the queue's plan for sl may have its refresh
// due by now: the simulator knows the plan after a success (Succeeded
// returns it), not after what draws jitter or waits for a result.
func mayBeDue(sl *slot, now int64) bool { return sl.next < 0 || sl.next <= now }

// flush tells the queue, before a Due, of the last request of each of
// daemon d's tokens that it has not heard of and whose hearing could
// change what Due does with it.
//
// Of the methods the simulator calls, the queue reads when a token was
// last used only to decide, in Due, whether a refresh that has come due
// is wanted (and in Used, whether to wake a parked entry, for which use
// tells at once). So a token whose refresh is not due needs no telling
// yet. A later request never makes a token less wanted, so a token
// wanted by the last request the queue heard of is wanted by the last
// request made: Due decides the same without being told. Else the queue
// hears of the last request now. And a request for an entry that is
// missing or may be parked is told at once. That plans exactly what
// telling the queue of every request would (TestLazyUsedIsExact), for a
// fraction of the calls: most of a large run's time was in Used.
func (s *sim) flush(d int, now int64) {
	dm := &s.daemons[d]
	if !dm.untold {
		return
	}
	dm.untold = false
	for sv := range s.cfg.Servers {
		sl := s.slot(d, sv)
		if sl.lastUse == sl.toldUse {
			continue
		}
		if !mayBeDue(sl, now) || s.wanted(sl, sl.toldUse, now) {
			dm.untold = true // still untold
			continue
		}
		dm.q.Used(s.keys[sv], tt(sl.lastUse))
		sl.toldUse = sl.lastUse
	}
}

// use is a caller's request (broker.Token): the queue hears of it (at
// once, or before it reads it: see flush), a valid token is served from
// memory, otherwise the caller starts or joins the flight of the token.
func (s *sim) use(d, sv int, now int64) {
	dm, sl := &s.daemons[d], s.slot(d, sv)
	if s.eager || !sl.queued || sl.mayPark {
		s.tell(d, sv, now)
	} else {
		sl.lastUse, dm.untold = now, true
	}
	bin := s.m.bin(now)
	s.m.requests[bin]++
	if now >= sl.coverEnd {
		s.m.minTokens++
		sl.coverEnd = now + s.life - expirySkew
	}
	switch {
	case sl.tokExp-now >= expirySkew:
		if sl.tokUses == 0 {
			s.m.used(sl.tokBin)
		}
		sl.tokUses++
	case sl.phase != phNone:
		s.m.waited[bin]++
		if sl.callers == 0 {
			sl.firstCaller = now
		}
		sl.callers++
		sl.callerDeadline = now + s.timeout
		if sl.prio == upstream.Background {
			// A caller joining background work raises it to a caller's
			// (broker/flightplan.go); a wait in progress is looked at
			// again at the new priority.
			sl.prio = upstream.Caller
			if sl.phase == phWaitIdP || sl.phase == phWaitAS {
				sl.gen++
				s.gate(d, sv, now)
			}
		}
	default:
		s.m.waited[bin]++
		deadline := now + s.timeout
		// refuseEarly: a caller whose deadline comes before a gate would
		// let it through is answered at once.
		if nsOf(dm.idp.Next(tt(now), upstream.Caller)) > deadline || nsOf(sl.as.Next(tt(now), upstream.Caller)) > deadline {
			s.fail(d, sv, now, 1)
		} else {
			sl.callers, sl.firstCaller, sl.callerDeadline = 1, now, deadline
			s.start(d, sv, now, upstream.Caller, false)
		}
	}
	if t := nextUse(&s.cfg.Usage, &dm.day, &dm.usage, now, &sl.sessionEnd); t >= 0 && t < s.dur {
		s.ev.push(event{at: t, kind: evUse, d: int32(d), s: uint8(sv)})
	}
}

// fail counts n callers answered with an error at now.
func (s *sim) fail(d, sv int, now int64, n int32) {
	if n <= 0 {
		return
	}
	bin := s.m.bin(now)
	s.m.errors[bin] += n
	if !s.idp.down(now) && !s.as[sv].down(now) {
		s.m.errorsUp += int64(n)
		if dm := &s.daemons[d]; !dm.erred {
			dm.erred = true
			s.m.usersErred++
		}
	}
}

// wake is a turn of the daemon's refresh loop (Queue.Run): it takes what
// is due, up to the bound of refreshes at once.
func (s *sim) wake(d int, now int64) {
	dm := &s.daemons[d]
	if dm.wakeAt != now || !dm.awake {
		return // superseded
	}
	dm.wakeAt = -1
	if free := parallel - dm.running; free > 0 {
		s.flush(d, now)
		keys, _ := dm.q.Due(tt(now), free)
		// Due parks what it takes and finds unwanted. The simulator does
		// not ask which it took: a token unwanted now that may have been
		// due may be parked, but not those handed out, which are in
		// flight. (One parked before stays so: nothing it was unwanted
		// by has changed, or the simulator would know.)
		for sv := range s.cfg.Servers {
			if sl := s.slot(d, sv); sl.queued && !sl.mayPark && mayBeDue(sl, now) {
				sl.mayPark = !s.wanted(sl, sl.lastUse, now)
			}
		}
		for _, k := range keys {
			sv := s.serverOf(k)
			sl := s.slot(d, sv)
			sl.mayPark = false
			if sl.phase != phNone {
				// The background refresh joins the caller's flight (one
				// single flight per token) and owes the queue its Done.
				sl.fromQueue = true
				dm.running++
				continue
			}
			s.start(d, sv, now, upstream.Background, true)
		}
	}
	s.schedWake(d, now)
}

// schedWake makes sure a wake-up is in the heap for the queue's next due
// time. A later one already there fires, finds nothing, and plans again.
func (s *sim) schedWake(d int, now int64) {
	dm := &s.daemons[d]
	if !dm.awake || dm.running >= parallel {
		return // a flight's end plans the next turn
	}
	next := dm.q.Next()
	if next.IsZero() {
		return
	}
	at := max(nsOf(next), now)
	if dm.wakeAt >= 0 && dm.wakeAt <= at {
		return
	}
	dm.wakeAt = at
	s.ev.push(event{at: at, kind: evWake, d: int32(d)})
}

func (s *sim) start(d, sv int, now int64, prio upstream.Priority, fromQueue bool) {
	sl := s.slot(d, sv)
	sl.phase, sl.prio, sl.fromQueue, sl.retried, sl.jagRetried = phWaitIdP, prio, fromQueue, false, false
	sl.retry = prio == upstream.Background && sl.failed
	if fromQueue {
		s.daemons[d].running++
	}
	sl.gen++
	s.gate(d, sv, now)
}

// gate waits for the flight's turn at the gate of its current step, or
// sends the request when the turn has come.
func (s *sim) gate(d, sv int, now int64) {
	dm, sl := &s.daemons[d], s.slot(d, sv)
	p := &sl.as
	atIdP := sl.phase == phWaitIdP
	if atIdP {
		p = &dm.idp
	}
	if atIdP && sl.prio == upstream.Caller && !sl.countedAtIdP {
		sl.countedAtIdP = true
		dm.idpCallers++
	}
	turn := nsOf(p.Next(tt(now), sl.prio))
	if sl.prio == upstream.Caller && turn > sl.callerDeadline {
		// The gate's WaitError: not sent, not retried, and the queue
		// waits at least until the turn it named.
		s.failFlight(d, sv, now, false, turn)
		return
	}
	if turn <= now && atIdP && sl.prio == upstream.Background && dm.idpCallers > 0 {
		// Callers go first: look again once the bucket has refilled.
		turn = now + int64(time.Second/time.Duration(max(1, int(dm.idp.Limit().Rate))))
	}
	if turn > now || !p.Take(tt(now), sl.prio) {
		if turn <= now {
			turn = nsOf(p.Next(tt(now), sl.prio))
		}
		s.ev.push(event{at: turn, kind: evStep, d: int32(d), s: uint8(sv), gen: sl.gen})
		return
	}
	s.send(d, sv, now)
}

// send puts the flight's request on the wire and plans its answer.
func (s *sim) send(d, sv int, now int64) {
	sl := s.slot(d, sv)
	bin := s.m.bin(now)
	var status int
	var ra int64
	if sl.phase == phWaitIdP {
		if sl.countedAtIdP {
			sl.countedAtIdP = false
			s.daemons[d].idpCallers--
		}
		status, ra = s.idp.answer(d, now)
		if sl.prio == upstream.Caller {
			s.m.idpCaller[bin]++
		} else {
			s.m.idpBackground[bin]++
			if sl.retry {
				s.m.idpRetry[bin]++
			}
		}
		if status == http.StatusTooManyRequests {
			s.m.idp429[bin]++
		}
		sl.phase = phAtIdP
	} else {
		status, ra = s.as[sv].answer(d, now)
		if status == http.StatusOK && now-sl.jagAt > s.jagLife {
			status = http.StatusBadRequest // invalid_grant: the ID-JAG expired on the way
		}
		s.m.as[bin]++
		if status == http.StatusTooManyRequests {
			s.m.as429[bin]++
		}
		sl.phase = phAtAS
	}
	sl.status, sl.retryAfter = int16(status), int32(ra)
	s.ev.push(event{at: now + s.latency, kind: evStep, d: int32(d), s: uint8(sv), gen: sl.gen})
}

// step moves the flight of (d, sv) on at now.
func (s *sim) step(d, sv int, now int64) {
	sl := s.slot(d, sv)
	switch sl.phase {
	case phWaitIdP, phWaitAS:
		s.gate(d, sv, now)
	case phAtIdP, phAtAS:
		s.answered(d, sv, now)
	}
}

// answered handles the answer of the flight's request, arriving at now.
func (s *sim) answered(d, sv int, now int64) {
	dm, sl := &s.daemons[d], s.slot(d, sv)
	status := int(sl.status)
	atIdP := sl.phase == phAtIdP
	switch {
	case status == http.StatusOK && atIdP:
		sl.jagAt = now
		sl.phase = phWaitAS
		s.gate(d, sv, now)
		return
	case status == http.StatusOK:
		s.succeed(d, sv, now)
		return
	case status == http.StatusBadRequest:
		// broker/token.go: one fresh ID-JAG after invalid_grant.
		if !sl.jagRetried {
			sl.jagRetried = true
			sl.phase = phWaitIdP
			s.gate(d, sv, now)
			return
		}
		s.failFlight(d, sv, now, false, 0)
		return
	}
	// 429 or 503: what the gate does with the answer (Gate.Observe).
	var notBefore int64
	if sl.retryAfter > 0 {
		clear(s.header)
		s.header.Set(upstream.RetryAfter, strconv.Itoa(int(sl.retryAfter)))
		h := upstream.ParseRetry(status, s.header, tt(now), upstream.MaxHold)
		if !h.IsZero() {
			p := &sl.as
			if atIdP {
				p = &dm.idp
			}
			p.Hold(h.At, tt(now))
			notBefore = nsOf(h.At)
		}
	}
	s.failFlight(d, sv, now, true, notBefore)
}

// failFlight ends a request that failed: a caller's flight tries once
// more from the exchange when the failure was transient
// (broker/retry.go), else the flight fails, the queue records it and its
// callers get the error.
func (s *sim) failFlight(d, sv int, now int64, transient bool, notBefore int64) {
	dm, sl := &s.daemons[d], s.slot(d, sv)
	if transient && sl.prio == upstream.Caller && !sl.retried {
		sl.retried = true
		sl.phase = phWaitIdP
		s.gate(d, sv, now)
		return
	}
	f := schedule.Failure{Err: errUpstream}
	if sl.tokExp > 0 {
		f.Remaining = time.Duration(sl.tokExp - now)
	}
	if notBefore > 0 {
		f.NotBefore = tt(notBefore)
	}
	sl.failed = true
	dm.q.Failed(s.keys[sv], tt(now), f)
	sl.queued, sl.next = true, -1 // a jittered backoff
	s.fail(d, sv, now, sl.callers)
	sl.callers = 0
	s.finish(d, sv, now)
}

// succeed stores the new token, serves the callers waiting for it and
// tells the queue.
func (s *sim) succeed(d, sv int, now int64) {
	dm, sl := &s.daemons[d], s.slot(d, sv)
	s.m.obtained++
	sl.failed = false
	sl.tokIssued, sl.tokExp, sl.tokUses, sl.tokBin = now, now+s.life, 0, int32(s.m.bin(now))
	if sl.callers > 0 {
		if now > sl.callerDeadline {
			s.fail(d, sv, now, sl.callers) // they gave up waiting
		} else {
			s.m.used(sl.tokBin)
			sl.tokUses = sl.callers
			s.m.waitNanos += (now - sl.firstCaller) * int64(sl.callers)
		}
	}
	sl.callers = 0
	sl.next = nsOf(dm.q.Succeeded(s.keys[sv], tt(now), tt(now), tt(sl.tokExp)))
	sl.queued, sl.mayPark = true, false // planned afresh, never parked
	s.finish(d, sv, now)
}

// finish ends the flight of (d, sv): its pending events go stale, and a
// refresh the queue handed out is Done.
func (s *sim) finish(d, sv int, now int64) {
	dm, sl := &s.daemons[d], s.slot(d, sv)
	if sl.countedAtIdP {
		sl.countedAtIdP = false
		dm.idpCallers--
	}
	sl.phase = phNone
	sl.gen++
	if sl.fromQueue {
		sl.fromQueue = false
		dm.running--
		dm.q.Done(s.keys[sv], tt(now))
	}
	s.schedWake(d, now)
}

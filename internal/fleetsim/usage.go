package fleetsim

import (
	"math"
	"math/rand/v2"
	"time"
)

// maxSegments is a day's periods of work: morning, after the coffee
// break, after lunch, after the afternoon break.
const maxSegments = 4

// day is one user's working day: the periods at the desk, and for each
// break whether the laptop sleeps through it.
type day struct {
	seg     [maxSegments][2]int64 // [start, end) in ns since midnight
	suspend [maxSegments]bool     // after seg[i] ends, the laptop sleeps (always after the last)
}

// drawDay draws user's day from its own stream: the day does not depend on
// the daemon's behaviour, so two policies meet the same users.
func drawDay(u *Usage, r *rand.Rand) day {
	start := float64(u.Start) + r.NormFloat64()*float64(u.StartSpread)
	start = clamp(start, float64(u.Start)-2*float64(u.StartSpread), float64(u.Start)+2*float64(u.StartSpread))
	lunch := float64(u.Lunch) + (r.Float64()-0.5)*float64(time.Hour)
	lunchLen := float64(30*time.Minute) * (1 + r.Float64())
	work := float64(u.Hours) + r.NormFloat64()*float64(20*time.Minute)
	// Keep at least an hour of work before lunch: late starters lunch late.
	lunch = math.Max(lunch, start+float64(time.Hour))
	coffee := func(at float64) (float64, float64) {
		s := at + (r.Float64()-0.5)*float64(time.Hour)
		return s, s + float64(10*time.Minute)*(1+r.Float64())
	}
	c1s, c1e := coffee((start + lunch) / 2)
	end := lunch + lunchLen + (work - (lunch - start))
	if end < lunch+lunchLen+float64(time.Hour) {
		end = lunch + lunchLen + float64(time.Hour)
	}
	c2s, c2e := coffee((lunch + lunchLen + end) / 2)
	var d day
	d.seg[0] = [2]int64{int64(start), int64(c1s)}
	d.seg[1] = [2]int64{int64(c1e), int64(lunch)}
	d.seg[2] = [2]int64{int64(lunch + lunchLen), int64(c2s)}
	d.seg[3] = [2]int64{int64(c2e), int64(end)}
	for i := range maxSegments - 1 {
		d.suspend[i] = r.Float64() < u.SuspendShare
	}
	if u.NoBreaks {
		end := int64(start + float64(u.Hours))
		d.seg = [maxSegments][2]int64{{int64(start), end}, {end, end}, {end, end}, {end, end}}
		d.suspend = [maxSegments]bool{false, false, false, true}
	}
	d.suspend[maxSegments-1] = true
	return d
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// segmentAt returns the index of the segment t falls in, or of the next
// one (with in false); maxSegments when the day is over.
func (d *day) segmentAt(t int64) (i int, in bool) {
	for i = range maxSegments {
		if t < d.seg[i][0] {
			return i, false
		}
		if t < d.seg[i][1] {
			return i, true
		}
	}
	return maxSegments, false
}

// expDur draws an exponential duration of the given mean.
func expDur(r *rand.Rand, mean time.Duration) int64 {
	return int64(r.ExpFloat64() * float64(mean))
}

// nextUse returns when the user next asks for a server after t, given the
// end of its current period of use (updated), or -1 when not again today.
// Within a period requests come at random (exponential gaps); between
// periods the server rests; only working time counts.
func nextUse(u *Usage, d *day, r *rand.Rand, t int64, sessionEnd *int64) int64 {
	next := t + expDur(r, u.RequestEvery)
	for range 64 {
		if next >= *sessionEnd {
			start := *sessionEnd + expDur(r, u.Gap)
			next, *sessionEnd = start, start+expDur(r, u.Session)
		}
		i, in := d.segmentAt(next)
		if i == maxSegments {
			return -1
		}
		if in {
			return next
		}
		// A break or before the day: the next period starts a little
		// after the user is back.
		start := d.seg[i][0] + expDur(r, 5*time.Minute)
		next, *sessionEnd = start, start+expDur(r, u.Session)
	}
	return -1
}

package fleetsim

import (
	"net/http"
	"time"
)

// modelServer is one token endpoint as the fleet meets it: an org-wide
// limit per minute (429 with Retry-After to the minute's end, the way Okta
// answers), a per-user limit per second (429, Retry-After: 1), a capacity
// per second (503 without Retry-After beyond it) and outage windows
// (503). A refused request does not count against the limits.
type modelServer struct {
	cfg     Server
	outages [][2]int64
	latency int64

	minute, minuteCount int64 // the current org window and its accepted requests
	second, secondCount int64 // the current capacity window

	// Per user: the current one-second window and its count, and the
	// pause the last 429 asked for, [from, until): from is when the
	// answer reached the daemon.
	userSecond []int64
	userCount  []uint8
	holdFrom   []int64
	holdUntil  []int64

	tooMany, unavailable, cascades int64
}

func newModelServer(cfg Server, outages [][2]int64, users int, latency time.Duration) *modelServer {
	m := &modelServer{cfg: cfg, outages: outages, latency: int64(latency), minute: -1, second: -1}
	if cfg.UserLimit > 0 {
		m.userSecond = make([]int64, users)
		m.userCount = make([]uint8, users)
		for i := range m.userSecond {
			m.userSecond[i] = -1
		}
	}
	m.holdFrom = make([]int64, users)
	m.holdUntil = make([]int64, users)
	return m
}

// down reports whether t falls in an outage.
func (m *modelServer) down(t int64) bool {
	for _, o := range m.outages {
		if t >= o[0] && t < o[1] {
			return true
		}
	}
	return false
}

// answer is the server's reply to a request user sent at now: the status
// and, for a 429, the Retry-After in seconds.
func (m *modelServer) answer(user int, now int64) (status int, retryAfter int64) {
	if now >= m.holdFrom[user] && now < m.holdUntil[user] {
		// The daemon had the 429 in hand and sent again before the time
		// it named: a cascade. The invariant tests require none.
		m.cascades++
	}
	if m.down(now) {
		m.unavailable++
		return http.StatusServiceUnavailable, 0
	}
	if m.cfg.Capacity > 0 {
		if s := now / int64(time.Second); s != m.second {
			m.second, m.secondCount = s, 0
		}
		if m.secondCount >= int64(m.cfg.Capacity) {
			m.unavailable++
			return http.StatusServiceUnavailable, 0
		}
	}
	if m.cfg.UserLimit > 0 {
		s := now / int64(time.Second)
		if s != m.userSecond[user] {
			m.userSecond[user], m.userCount[user] = s, 0
		}
		if int(m.userCount[user]) >= m.cfg.UserLimit {
			return m.refuse(user, now, 1)
		}
	}
	if m.cfg.OrgLimit > 0 {
		if w := now / int64(time.Minute); w != m.minute {
			m.minute, m.minuteCount = w, 0
		}
		if m.minuteCount >= int64(m.cfg.OrgLimit) {
			end := (m.minute + 1) * int64(time.Minute)
			secs := (end - now + int64(time.Second) - 1) / int64(time.Second)
			return m.refuse(user, now, secs)
		}
		m.minuteCount++
	}
	if m.cfg.Capacity > 0 {
		m.secondCount++
	}
	if m.cfg.UserLimit > 0 && m.userCount[user] < 255 {
		m.userCount[user]++
	}
	return http.StatusOK, 0
}

func (m *modelServer) refuse(user int, now, secs int64) (int, int64) {
	m.tooMany++
	from := now + m.latency
	m.holdFrom[user] = from
	m.holdUntil[user] = from + secs*int64(time.Second)
	return http.StatusTooManyRequests, secs
}

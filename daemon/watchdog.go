package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/xaad-dev/xaad/daemon/socket"
	"github.com/xaad-dev/xaad/internal/clock"
)

// watchdog pings systemd's watchdog (WATCHDOG=1) every half of the
// interval the unit's WatchdogSec= asks for, as long as its check passes.
// A failing or hanging check stops the pings, so systemd kills and
// restarts a daemon that is wedged rather than one that merely exited.
//
// Liveness is counted, never read off the wall clock: the refresh
// scheduler's turn counter, and the ID token refresh loop's, must move
// within their stall ticks of the watchdog's own ticks, which run on
// monotonic time. A forward clock step of hours
// therefore changes nothing (neither the ticks nor the turns see it),
// while a scheduler that stopped turning is caught.
type watchdog struct {
	clock clock.Clock
	every time.Duration // 0: systemd set no watchdog; Run returns at once
	turns func() uint64 // broker.Turns
	// idTurns (broker.IdentityTurns) counts the ID token refresh loop's
	// turns, watched as turns is with identityStall; nil: not watched.
	idTurns func() uint64
	// lock takes the broker's lock (broker.Identity), so a wedged lock
	// hangs the check and stops the pings too.
	lock func()
	ping func() error // WATCHDOG=1
	log  *slog.Logger
	// onCheck, when set, learns each check's result (tests).
	onCheck func(error)
}

// schedulerStall is how long the scheduler loop may go without a turn
// before the daemon counts as wedged; the loop turns at least every 30 s.
const schedulerStall = 2 * time.Minute

// identityStall is schedulerStall for the ID token refresh loop, which
// turns at least every minute while it waits but refreshes the ID token
// in the loop itself: a slow IdP (each call bounded by the HTTP timeout,
// a retry or two) holds it for longer than the scheduler, which refreshes
// on goroutines of its own, is ever held.
const identityStall = 5 * time.Minute

// stopWatchdogEnv names a file; while it exists the health check fails.
// It is a development knob (XAAD_DEBUG_* variables are undocumented) that
// lets the systemd test prove the watchdog restarts a daemon that stops
// pinging.
const stopWatchdogEnv = "XAAD_DEBUG_STOP_WATCHDOG"

// watchdogInterval is the watchdog timeout systemd set for this process
// (WATCHDOG_USEC, when WATCHDOG_PID is ours), or 0 when there is none.
func watchdogInterval(log *slog.Logger) time.Duration {
	d, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("ignoring a malformed systemd watchdog setting", slog.Any("error", err))
		return 0
	}
	return d
}

// sdPing tells systemd the daemon is alive. Outside systemd it does nothing.
func sdPing() error {
	_, err := socket.Notify(sddaemon.SdNotifyWatchdog)
	return err
}

// stallTicks is how many ticks of every without a turn mean a stall of
// the scheduler: at least two, so one tick that raced the scheduler's
// turn never counts.
func stallTicks(every time.Duration) int { return ticksFor(schedulerStall, every) }

func ticksFor(stall, every time.Duration) int {
	return max(int((stall+every-1)/every), 2)
}

// loopCount follows one loop's turn counter over the watchdog's ticks.
type loopCount struct {
	turns      func() uint64
	last       uint64
	idle, stop int // ticks without a turn; how many mean a stall
}

func newLoopCount(turns func() uint64, stall, every time.Duration) *loopCount {
	if turns == nil {
		return nil
	}
	return &loopCount{turns: turns, last: turns(), stop: ticksFor(stall, every)}
}

func (c *loopCount) tick() {
	if c == nil {
		return
	}
	if now := c.turns(); now != c.last {
		c.last, c.idle = now, 0
	} else {
		c.idle++
	}
}

func (c *loopCount) stalled() bool { return c != nil && c.idle >= c.stop }

// Run pings until ctx ends.
func (w *watchdog) Run(ctx context.Context) error {
	if w.every <= 0 {
		return nil
	}
	t := w.clock.NewTicker(w.every)
	defer t.Stop()
	knob := os.Getenv(stopWatchdogEnv)
	sched := newLoopCount(w.turns, schedulerStall, w.every)
	id := newLoopCount(w.idTurns, identityStall, w.every)
	failing := false
	for {
		err := w.check(knob, sched, id)
		failing = w.report(err, failing)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		sched.tick()
		id.tick()
	}
}

// check passes while the scheduler and the ID token loop turned within
// their stall ticks and the broker's lock can be taken.
func (w *watchdog) check(knob string, sched, id *loopCount) error {
	if knob != "" {
		if _, err := os.Stat(knob); err == nil {
			return errors.New(stopWatchdogEnv + " is set and its file exists")
		}
	}
	if sched.stalled() {
		return fmt.Errorf("the refresh scheduler has not turned for %d watchdog ticks (%s)", sched.idle, time.Duration(sched.idle)*w.every)
	}
	if id.stalled() {
		return fmt.Errorf("the ID token refresh loop has not turned for %d watchdog ticks (%s)", id.idle, time.Duration(id.idle)*w.every)
	}
	w.lock()
	return nil
}

// report pings after a passing check and logs a change of state once per
// episode (the check runs every few seconds); it returns whether the check
// is failing.
func (w *watchdog) report(err error, failing bool) bool {
	if w.onCheck != nil {
		defer w.onCheck(err)
	}
	if err != nil {
		if !failing {
			w.log.Error("health check failed; no longer pinging the systemd watchdog, which will restart xaad", slog.Any("error", err))
		}
		return true
	}
	if failing {
		w.log.Info("health check passes again; pinging the systemd watchdog")
	}
	if err := w.ping(); err != nil {
		w.log.Warn("sd_notify WATCHDOG failed", slog.Any("error", err))
	}
	return false
}

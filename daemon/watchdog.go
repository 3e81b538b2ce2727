package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/daemon/socket"
)

// Watchdog pings systemd's watchdog (WATCHDOG=1) every half of the interval
// the unit's WatchdogSec= asks for, as long as healthy returns nil, until ctx
// ends. A failing or hanging check stops the pings, so systemd kills and
// restarts a daemon that is wedged rather than one that merely exited. It
// returns at once when systemd set no watchdog for this process.
//
// For now the daemon runs it in a goroutine with a cheap check; the refresh
// scheduler will call [PingWatchdog] from its own loop instead, so that a
// stuck refresher is what stops the pings (anchors.md section 6, item 12).
func Watchdog(ctx context.Context, healthy func() error, log *slog.Logger) {
	interval := WatchdogInterval(log)
	if interval <= 0 {
		return
	}
	runWatchdog(ctx, interval/2, healthy, log)
}

// startWatchdog runs [Watchdog] in a goroutine; stop ends it and waits.
func startWatchdog(ctx context.Context, healthy func() error, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watchdog(ctx, healthy, log)
	}()
	return func() {
		cancel()
		<-done
	}
}

// WatchdogInterval is the watchdog timeout systemd set for this process
// (WATCHDOG_USEC, when WATCHDOG_PID is ours), or 0 when there is none.
func WatchdogInterval(log *slog.Logger) time.Duration {
	d, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("ignoring a malformed systemd watchdog setting", slog.Any("error", err))
		return 0
	}
	return d
}

// PingWatchdog tells systemd the daemon is alive. Outside systemd it does
// nothing.
func PingWatchdog() error {
	_, err := socket.Notify(sddaemon.SdNotifyWatchdog)
	return err
}

func runWatchdog(ctx context.Context, every time.Duration, healthy func() error, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		if err := healthy(); err != nil {
			// Log once per episode: the check runs every few seconds.
			if !failing {
				log.Error("health check failed; no longer pinging the systemd watchdog, which will restart xaad", slog.Any("error", err))
			}
			failing = true
		} else {
			if failing {
				log.Info("health check passes again; pinging the systemd watchdog")
			}
			failing = false
			if err := PingWatchdog(); err != nil {
				log.Warn("sd_notify WATCHDOG failed", slog.Any("error", err))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stopWatchdogEnv names a file; while it exists the health check fails.
// It is a development knob (style.md 7.8: XAAD_DEBUG_* is undocumented) that
// lets the systemd test prove the watchdog restarts a daemon that stops
// pinging.
const stopWatchdogEnv = "XAAD_DEBUG_STOP_WATCHDOG"

// schedulerStall is how long the scheduler loop may go without a turn
// before the daemon counts as wedged; the loop turns at least every 30 s.
const schedulerStall = 2 * time.Minute

// brokerHealthy is the watchdog's check: the scheduler loop must have
// turned recently (so WATCHDOG=1 stops when the loop is stuck, not just
// when the process is), and Identity takes the broker's lock, so a wedged
// lock hangs the check and stops the pings too.
func brokerHealthy(b *broker.Broker) func() error {
	knob := os.Getenv(stopWatchdogEnv)
	started := time.Now()
	return func() error {
		if knob != "" {
			if _, err := os.Stat(knob); err == nil {
				return errors.New(stopWatchdogEnv + " is set and its file exists")
			}
		}
		last := b.LastTick()
		if last.IsZero() {
			last = started
		}
		if since := time.Since(last); since > schedulerStall {
			return fmt.Errorf("the refresh scheduler has not run for %s", since.Round(time.Second))
		}
		b.Identity()
		return nil
	}
}

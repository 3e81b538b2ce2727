package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/daemon/socket"
)

// reloader applies the configuration file again on SIGHUP, which is what the
// unit's ExecReload sends: validate the whole file first, then swap it into
// the broker. A file that fails any check leaves the running configuration
// alone, and the log and `systemctl status` say why.
type reloader struct {
	fromFile bool   // false when the configuration did not come from a file
	flagPath string // --config, if given
	path     string // the file last read
	b        *broker.Broker
	g        *guard // its caller policy (allowed_clients) is reloaded too
	log      *slog.Logger
	current  *FileConfig
	hup      chan os.Signal
}

// newReloader starts catching SIGHUP at once: systemd may send a reload
// as soon as the daemon says READY=1, and an uncaught SIGHUP would end the
// process. Reloads happen in Run; stop lets the signal go.
func newReloader(opts Options, current *FileConfig, b *broker.Broker, g *guard, log *slog.Logger) *reloader {
	r := &reloader{fromFile: opts.Config == nil, flagPath: opts.ConfigPath, b: b, g: g, log: log, current: current,
		hup: make(chan os.Signal, 1)}
	signal.Notify(r.hup, syscall.SIGHUP)
	return r
}

// Run reloads on every SIGHUP until ctx ends; a reload in progress ends
// first.
func (r *reloader) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.hup:
			_ = r.reload(ctx)
		}
	}
}

// stop stops catching SIGHUP.
func (r *reloader) stop() { signal.Stop(r.hup) }

// reload tells systemd RELOADING=1, applies the file, then READY=1 with a
// status line saying how it went: systemd requires the READY=1 after a
// RELOADING=1 whatever the outcome.
func (r *reloader) reload(ctx context.Context) error {
	_, _ = socket.Notify("RELOADING=1")
	err := r.apply(ctx)
	if err != nil {
		r.log.Error("reload failed; keeping the previous configuration", slog.String("config", r.path), slog.Any("error", err))
		_, _ = socket.Status("reload failed, still running the previous configuration: " + err.Error())
	} else {
		r.log.Info("configuration reloaded", slog.String("config", r.path))
		_, _ = socket.Status("configuration reloaded from " + r.path)
	}
	_, _ = socket.Ready()
	return err
}

func (r *reloader) apply(ctx context.Context) error {
	if !r.fromFile {
		return errors.New("the configuration was not read from a file; nothing to reload")
	}
	// Resolved again, as a start would: a user's own file may have
	// appeared since.
	r.path = r.flagPath
	if r.path == "" {
		var err error
		if r.path, err = ConfigToRead(); err != nil {
			return err
		}
	}
	fc, err := LoadConfig(r.path)
	if err != nil {
		return err
	}
	bc, err := fc.BrokerConfig()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// The policy goes in first, so the change events Reconfigure sends to
	// watchers are already judged by it; a refused reload puts the old one
	// back, keeping the old policy with the old servers. allowed_clients was
	// validated with the file (LoadConfig).
	// During the swap the rules of servers the new file removes stay in
	// force (those servers are still served until Reconfigure returns); the
	// pure new policy follows once it did.
	prev := r.g.policy.Load()
	r.g.setPolicy(newPolicy(withRemoved(fc.Servers, r.current.Servers)))
	if err := r.b.Reconfigure(bc); err != nil {
		r.g.setPolicy(prev)
		return err
	}
	r.g.setPolicy(newPolicy(fc.Servers))
	// The socket, the state folder and the logger are built once at start.
	old, cur := r.current.Daemon, fc.Daemon
	for _, d := range []struct{ key, was, now string }{
		{"daemon.socket", old.Socket, cur.Socket},
		{"daemon.state_dir", old.StateDir, cur.StateDir},
		{"daemon.log_level", old.LogLevel, cur.LogLevel},
	} {
		if d.was != d.now {
			r.log.Warn("this setting changes only when xaad restarts", slog.String("key", d.key), slog.String("value", d.now))
		}
	}
	// A start imports idp.id_token_file; a reload that names a new one
	// does the same.
	if fc.IdP.IDTokenFile != "" && fc.IdP.IDTokenFile != r.current.IdP.IDTokenFile {
		importIDTokenFile(ctx, r.b, fc.IdP.IDTokenFile, r.log)
	}
	r.current = fc
	return nil
}

// withRemoved is next plus the servers of prev that next no longer lists.
func withRemoved(next, prev []ServerSection) []ServerSection {
	out := append([]ServerSection(nil), next...)
	listed := map[string]bool{}
	for _, s := range next {
		listed[s.URL] = true
	}
	for _, s := range prev {
		if !listed[s.URL] {
			out = append(out, s)
		}
	}
	return out
}

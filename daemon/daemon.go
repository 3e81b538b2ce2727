package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
)

// Options are the daemon's process settings. Flags override the file.
type Options struct {
	// ConfigPath is the TOML file; empty means the user's file, or the
	// administrator's when the user has none (ConfigToRead).
	ConfigPath string
	// Config, when set, is used instead of reading ConfigPath (the demo).
	Config *FileConfig
	// SocketPath, StateDir and LogLevel override the file's [daemon] section.
	SocketPath string
	StateDir   string
	LogLevel   string
	// Logger overrides the default stderr logger.
	Logger *slog.Logger
	// HTTP makes upstream calls; nil means the broker's default.
	HTTP *http.Client
	// Clock is the daemon's one clock: the broker's schedule, audit
	// timestamps, the watchdog and the daemon's own deadlines. Nil means
	// the system clock.
	Clock   clock.Clock
	Version string
	// OnReady, if set, is called once the socket serves (tests, the demo).
	OnReady func(socketPath string)
}

// Daemon is xaad's process, built by [New] and run by [Daemon.Run].
type Daemon struct {
	opts  Options
	cfg   *FileConfig
	log   *slog.Logger
	clock clock.Clock

	store  *openedStore
	audit  *auditLog
	guard  *guard
	notes  *notifier
	broker *broker.Broker

	ln        net.Listener
	activated bool // ln came from systemd
	srv       *grpc.Server
	health    *healthServer
	// healthTrack set every server's health in New, before READY=1.
	healthTrack *healthTracker
	reload      *reloader
	watchdog    *watchdog

	ran       atomic.Bool
	closeOnce sync.Once
}

// Run builds a daemon and runs it until ctx ends: [New], then
// [Daemon.Run].
func Run(ctx context.Context, opts Options) error {
	d, err := New(opts)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// New reads the configuration, opens the sealed store (its key from a
// provider, a damaged file set aside), loads the state, and binds the
// socket (or takes the one systemd passes in). Nothing is served until
// Run. Whatever fails is released before New returns.
func New(opts Options) (_ *Daemon, err error) {
	fc, _, err := loadConfig(opts.Config, opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	d := &Daemon{opts: opts, cfg: fc, clock: clock.OrSystem(opts.Clock), log: opts.Logger}
	if d.log == nil {
		d.log = NewLogger(os.Stderr, firstNonEmpty(opts.LogLevel, fc.Daemon.LogLevel, "info"))
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	stateDir, err := resolveStateDir(firstNonEmpty(opts.StateDir, fc.Daemon.StateDir))
	if err != nil {
		return nil, err
	}
	if d.store, err = openStore(stateDir, fc.Daemon, d.log, d.clock.Now()); err != nil {
		return nil, err
	}
	if d.audit, err = newAuditLog(stateDir, d.clock, d.log); err != nil {
		return nil, err
	}
	d.guard = newGuard(d.audit, d.clock, d.log)
	d.guard.setPolicy(newPolicy(fc.Servers))
	if err := d.newBroker(); err != nil {
		return nil, err
	}
	if d.ln, d.activated, err = listen(resolveSocket(firstNonEmpty(opts.SocketPath, fc.Daemon.Socket))); err != nil {
		return nil, err
	}
	d.srv, d.health = newServer(d)
	d.healthTrack = newHealthTracker(d.broker, d.health)
	d.reload = newReloader(opts, fc, d.broker, d.guard, d.log)
	d.watchdog = &watchdog{clock: d.clock, every: watchdogInterval(d.log) / 2, turns: d.broker.Turns, idTurns: d.broker.IdentityTurns,
		lock: func() { d.broker.Identity() }, ping: sdPing, log: d.log}
	return d, nil
}

func (d *Daemon) newBroker() error {
	bc, err := d.cfg.BrokerConfig()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	d.notes = &notifier{log: d.log}
	bc.Store, bc.HTTP, bc.Clock, bc.Logger = d.store.db, d.opts.HTTP, d.clock, d.log.With("component", "broker")
	bc.OnNeedsLogin = d.notes.notify
	if d.broker, err = broker.New(bc); err != nil {
		return err
	}
	if err := d.broker.Load(context.Background()); err != nil {
		return fmt.Errorf("load state from %s: %w", d.store.db.Path(), err)
	}
	return nil
}

// Run serves until ctx ends, then stops gracefully and releases
// everything New took; a cancelled ctx is a normal stop and returns nil.
// It may be called once.
func (d *Daemon) Run(ctx context.Context) error {
	if !d.ran.CompareAndSwap(false, true) {
		return errors.New("daemon: Run called twice")
	}
	defer d.Close()
	if f := d.cfg.IdP.IDTokenFile; f != "" {
		importIDTokenFile(ctx, d.broker, f, d.log)
	}
	return runInOrder(ctx, d.components())
}

// Close releases what New took, for a daemon whose Run was never called;
// Run calls it itself. It may be called more than once.
func (d *Daemon) Close() {
	d.closeOnce.Do(func() {
		if d.reload != nil {
			d.reload.stop()
		}
		if d.srv != nil && !d.ran.Load() {
			d.srv.Stop()
		}
		if d.ln != nil && !d.ran.Load() {
			d.ln.Close()
		}
		if d.healthTrack != nil {
			d.healthTrack.close()
		}
		if d.notes != nil {
			d.notes.close()
		}
		if d.audit != nil {
			d.audit.close()
		}
		// The store closes last: the broker's flights ended in Run.
		if d.store != nil {
			d.store.db.Close()
		}
	})
}

func importIDTokenFile(ctx context.Context, b *broker.Broker, path string, log *slog.Logger) {
	raw, err := os.ReadFile(path)
	if err != nil {
		log.Error("cannot read idp.id_token_file", slog.String("path", path), slog.Any("error", err))
		return
	}
	if _, err := b.ImportIdentity(ctx, string(raw), ""); err != nil {
		log.Error("cannot import idp.id_token_file", slog.String("path", path), slog.Any("error", err))
	}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

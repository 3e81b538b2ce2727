package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/daemon/socket"
	"github.com/xaad-dev/xaad/internal/peercred"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Options are the daemon's process settings. Flags override the file.
type Options struct {
	// ConfigPath is the TOML file; empty means DefaultConfigPath.
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
	// Now is the clock; nil means time.Now.
	Now     func() time.Time
	Version string
	// OnReady, if set, is called once the socket serves (tests, the demo).
	OnReady func(socketPath string)
}

// Run runs the daemon until ctx ends, then stops gracefully. A cancelled
// ctx is a normal stop and returns nil.
func Run(ctx context.Context, opts Options) error {
	fc := opts.Config
	if fc == nil {
		path := opts.ConfigPath
		if path == "" {
			path = ConfigToRead()
		}
		var err error
		if fc, err = LoadConfig(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no configuration at %s: write one (see the README's Configure section) and check it with `xaad check-config %s`", path, path)
			}
			return err
		}
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(os.Stderr, firstNonEmpty(opts.LogLevel, fc.Daemon.LogLevel, "info"))
	}
	sockPath, err := resolveSocket(firstNonEmpty(opts.SocketPath, fc.Daemon.Socket))
	if err != nil {
		return err
	}
	stateDir, err := resolveStateDir(firstNonEmpty(opts.StateDir, fc.Daemon.StateDir))
	if err != nil {
		return err
	}

	// Sealed database, key from a provider, damage set aside (keys_open.go).
	st, err := openStore(stateDir, fc.Daemon, log, time.Now())
	if err != nil {
		return err
	}
	db := st.db
	defer db.Close()
	audit, err := openAudit(stateDir, log)
	if err != nil {
		return err
	}
	defer audit.Close()
	g := &guard{audit: audit, log: log, now: time.Now}
	g.setPolicy(newPolicy(fc.Servers))

	bc, err := fc.BrokerConfig()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	bc.Store, bc.HTTP, bc.Now, bc.Logger = db, opts.HTTP, opts.Now, log.With("component", "broker")
	notes := &notifier{log: log}
	defer notes.close()
	bc.OnNeedsLogin = notes.notify
	b, err := broker.New(bc)
	if err != nil {
		return err
	}
	if err := b.Load(ctx); err != nil {
		return fmt.Errorf("load state from %s: %w", db.Path(), err)
	}
	if fc.IdP.IDTokenFile != "" {
		importIDTokenFile(ctx, b, fc.IdP.IDTokenFile, log)
	}

	ln, activated, err := listen(sockPath)
	if err != nil {
		return err
	}
	uid := uint32(os.Getuid())
	unaryUID, streamUID := peercred.UIDInterceptor(uid, log)
	srv := grpc.NewServer(
		grpc.Creds(peercred.TransportCredentials()),
		grpc.ChainUnaryInterceptor(g.auditUnary, unaryUID, g.policyUnary),
		grpc.ChainStreamInterceptor(g.auditStream, streamUID, g.policyStream),
	)
	started := time.Now()
	if opts.Now != nil {
		started = opts.Now()
	}
	xaadv1.RegisterXaadServiceServer(srv, &service{b: b, started: started, version: opts.Version, warnings: st.warnings})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(xaadv1.XaadService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(peercred.Listener{Listener: ln, Logger: log}) }()
	// The scheduler keeps tokens fresh; it stops with ctx.
	bg, bgCancel := context.WithCancel(ctx)
	defer bgCancel()
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); _ = b.Run(bg) }()
	defer func() {
		bgCancel()
		<-schedDone
		// Let refreshes in flight store their results before the store
		// closes (a rotated token dropped here is a lost sign-in).
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b.Close(closeCtx)
		cancel()
	}()
	defer startIdentityRefresh(bg, b, log)()
	go trackHealth(bg, b, hs)
	go watchSleep(bg, log, b.Resync)

	// Both before READY=1: systemd may send a reload at once, and SIGHUP
	// would otherwise end the process.
	stopReloads := handleReloads(ctx, opts, fc, b, g, log)
	defer stopReloads()
	stopWatchdog := startWatchdog(ctx, brokerHealthy(b), log)
	defer stopWatchdog()

	where := sockPath
	if activated {
		where = ln.Addr().String() + " (from systemd)"
	}
	log.Info("xaad ready", slog.String("socket", where), slog.String("state", db.Path()), slog.String("version", opts.Version))
	if _, err := socket.Ready(); err != nil {
		log.Warn("sd_notify READY failed", slog.Any("error", err))
	}
	if opts.OnReady != nil {
		opts.OnReady(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopping")
	_, _ = socket.Stopping()
	hs.Shutdown()
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		// Streams (Login, WatchTokens) may outlive a graceful stop.
		srv.Stop()
	}
	return nil
}

func listen(path string) (net.Listener, bool, error) {
	ln, ok, err := socket.FromSystemd()
	if err != nil {
		return nil, false, err
	}
	if ok {
		return ln, true, nil
	}
	ln, err = socket.Listen(path)
	return ln, false, err
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

// DefaultConfigPath is $XDG_CONFIG_HOME/xaad/config.toml.
func DefaultConfigPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "xaad", "config.toml")
}

// SystemConfigPath is the administrator's configuration, which the packages
// install; a user's own file takes its place.
const SystemConfigPath = "/etc/xaad/config.toml"

// ConfigToRead is DefaultConfigPath, or SystemConfigPath when only that one
// exists.
func ConfigToRead() string {
	user := DefaultConfigPath()
	if _, err := os.Stat(user); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(SystemConfigPath); err == nil {
			return SystemConfigPath
		}
	}
	return user
}

func resolveSocket(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "xaad", "xaad.sock"), nil
	}
	return filepath.Join("/run/user", fmt.Sprint(unix.Getuid()), "xaad", "xaad.sock"), nil
}

func resolveStateDir(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "xaad"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a state folder: set XDG_STATE_HOME or --state-dir: %w", err)
	}
	return filepath.Join(home, ".local", "state", "xaad"), nil
}

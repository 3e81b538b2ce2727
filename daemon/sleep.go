package daemon

import (
	"context"
	"log/slog"
	"os"

	"github.com/godbus/dbus/v5"
)

// logind's signal before and after a suspend (org.freedesktop.login1).
const (
	logindPath      = "/org/freedesktop/login1"
	logindInterface = "org.freedesktop.login1.Manager"
	prepareForSleep = "PrepareForSleep"
)

// watchSleep calls resumed each time logind reports a resume from suspend
// (PrepareForSleep with false), until ctx ends. Without a system bus it
// returns at once: the scheduler's own comparison of wall and monotonic
// time still notices the resume, only later.
func watchSleep(ctx context.Context, log *slog.Logger, resumed func()) {
	conn, err := systemBus()
	if err != nil {
		log.Debug("no system bus; resume is detected from the clocks alone", slog.Any("error", err))
		return
	}
	defer conn.Close()
	if err := conn.AddMatchSignalContext(ctx,
		dbus.WithMatchObjectPath(logindPath),
		dbus.WithMatchInterface(logindInterface),
		dbus.WithMatchMember(prepareForSleep),
	); err != nil {
		log.Debug("cannot subscribe to logind's sleep signal", slog.Any("error", err))
		return
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	defer conn.RemoveSignal(signals)
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-signals:
			if !ok {
				return
			}
			if sig.Name != logindInterface+"."+prepareForSleep || len(sig.Body) != 1 {
				continue
			}
			if sleeping, ok := sig.Body[0].(bool); ok && !sleeping {
				log.Info("resumed from suspend; re-evaluating every server")
				resumed()
			}
		}
	}
}

// systemBus connects privately, so closing it never disturbs other users
// of the shared connection; DBUS_SYSTEM_BUS_ADDRESS points it elsewhere
// (tests).
func systemBus() (*dbus.Conn, error) {
	if addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); addr != "" {
		conn, err := dbus.Connect(addr)
		if err != nil {
			return nil, err
		}
		return conn, nil
	}
	conn, err := dbus.SystemBusPrivate()
	if err != nil {
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

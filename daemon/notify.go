package daemon

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/xaad-dev/xaad/broker"
)

// notifier shows a desktop notification through
// org.freedesktop.Notifications (Desktop Notifications Specification 1.2)
// when the identity needs the person. Without a session bus, or without a
// notification service on it, it only logs: a headless machine has
// nobody to show it to.
type notifier struct {
	// address is the session bus; empty means DBUS_SESSION_BUS_ADDRESS.
	address string
	log     *slog.Logger

	mu   sync.Mutex
	conn *dbus.Conn
}

// notify is broker.Config.OnNeedsLogin. The broker calls it once per
// transition; it must not block the caller, so the D-Bus call runs apart.
func (n *notifier) notify(info broker.IdentityInfo) {
	go n.send("xaad: sign-in needed", info.Reason+". Run: xaactl login")
}

func (n *notifier) send(summary, body string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	conn, err := n.connLocked()
	if err != nil {
		n.log.Info("no desktop notification (no session bus)", slog.String("error", err.Error()))
		return
	}
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	// Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout)
	call := obj.Call("org.freedesktop.Notifications.Notify", 0, "xaad", uint32(0), "dialog-password", summary, body,
		[]string{}, map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1))}, int32(-1))
	if call.Err != nil {
		n.log.Info("no desktop notification (no notification service)", slog.String("error", call.Err.Error()))
		return
	}
	n.log.Info("desktop notification sent", slog.String("summary", summary))
}

func (n *notifier) connLocked() (*dbus.Conn, error) {
	if n.conn != nil && n.conn.Connected() {
		return n.conn, nil
	}
	addr := n.address
	if addr == "" {
		addr = os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	}
	if addr == "" {
		return nil, errNoBus
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, err
	}
	n.conn = conn
	return conn, nil
}

// Run keeps the notifier until ctx ends, then closes its bus connection.
func (n *notifier) Run(ctx context.Context) error {
	<-ctx.Done()
	n.close()
	return nil
}

func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != nil {
		n.conn.Close()
		n.conn = nil
	}
}

type noBusError struct{}

func (noBusError) Error() string { return "DBUS_SESSION_BUS_ADDRESS is not set" }

var errNoBus error = noBusError{}

package socket

import (
	"strings"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notify sends state to systemd's notification socket ($NOTIFY_SOCKET). It
// reports false, with a nil error, when there is no socket to notify, as when
// the daemon runs outside systemd or without Type=notify.
func Notify(state string) (bool, error) {
	return daemon.SdNotify(false, state)
}

// Ready tells systemd start-up is complete: the socket is being served.
func Ready() (bool, error) { return Notify(daemon.SdNotifyReady) }

// Stopping tells systemd a clean shutdown has begun.
func Stopping() (bool, error) { return Notify(daemon.SdNotifyStopping) }

// Status sets the free-form status line `systemctl status` shows. Newlines
// are replaced because each line of a notification is a separate KEY=value
// assignment: a message must not be able to send READY=1 or MAINPID=.
func Status(msg string) (bool, error) {
	return Notify("STATUS=" + strings.NewReplacer("\n", " ", "\r", " ").Replace(msg))
}

package socket_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/xaad-dev/xaad/daemon/socket"
)

func TestNotify(t *testing.T) {
	path := filepath.Join(shortDir(t), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", path)

	tests := []struct {
		name string
		send func() (bool, error)
		want string
	}{
		{"ready", socket.Ready, "READY=1"},
		{"status", func() (bool, error) { return socket.Status("serving 3 servers") }, "STATUS=serving 3 servers"},
		{"status newline", func() (bool, error) { return socket.Status("x\nREADY=1") }, "STATUS=x READY=1"},
		{"stopping", socket.Stopping, "STOPPING=1"},
	}
	buf := make([]byte, 1024)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := tt.send()
			if !sent || err != nil {
				t.Fatalf("sent=%v err=%v", sent, err)
			}
			// SdNotify has written the datagram before returning.
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(buf[:n]); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := socket.Ready(); sent || err != nil {
		t.Fatalf("Ready() = %v, %v; want false, nil", sent, err)
	}
}

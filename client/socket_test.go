package client

import (
	"os"
	"strconv"
	"testing"
)

// The client dials where the daemon listens: both ask internal/paths,
// which ignores a relative XDG_RUNTIME_DIR as the XDG spec requires.
func TestDefaultSocketPath(t *testing.T) {
	tests := []struct {
		name, socket, runtime, want string
	}{
		{"explicit", "/x/y.sock", "/run/user/7", "/x/y.sock"},
		{"xdg", "", "/run/user/7", "/run/user/7/xaad/xaad.sock"},
		{"relative ignored", "", "rel", "/run/user/" + strconv.Itoa(os.Getuid()) + "/xaad/xaad.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XAAD_SOCKET", tt.socket)
			t.Setenv("XDG_RUNTIME_DIR", tt.runtime)
			if got := DefaultSocketPath(); got != tt.want {
				t.Errorf("DefaultSocketPath = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckPeerUID(t *testing.T) {
	tests := []struct {
		name       string
		peer, self uint32
		ok         bool
	}{
		{"same user", 1000, 1000, true},
		{"root daemon", 0, 1000, true},
		{"other user", 1001, 1000, false},
		{"root caller, user daemon", 1000, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPeerUID(tt.peer, tt.self)
			if (err == nil) != tt.ok {
				t.Errorf("checkPeerUID(%d, %d) = %v, want ok=%t", tt.peer, tt.self, err, tt.ok)
			}
		})
	}
}

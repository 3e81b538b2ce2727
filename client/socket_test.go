package client

import "testing"

func TestDefaultSocketPath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"explicit", map[string]string{"XAAD_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/7"}, "/x/y.sock"},
		{"xdg", map[string]string{"XDG_RUNTIME_DIR": "/run/user/7"}, "/run/user/7/xaad/xaad.sock"},
		{"fallback", nil, "/run/user/1234/xaad/xaad.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaultSocketPath(func(k string) string { return tt.env[k] }, 1234)
			if got != tt.want {
				t.Errorf("defaultSocketPath = %q, want %q", got, tt.want)
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

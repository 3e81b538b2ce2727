package storage_test

import (
	"testing"

	"github.com/xaad-dev/xaad/storage"
)

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name, state, home, want string
	}{
		{"xdg", "/x/state", "/home/u", "/x/state/xaad/xaad.db"},
		{"unset", "", "/home/u", "/home/u/.local/state/xaad/xaad.db"},
		{"relative ignored", "rel/state", "/home/u", "/home/u/.local/state/xaad/xaad.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", tt.state)
			t.Setenv("HOME", tt.home)
			got, err := storage.DefaultPath()
			if err != nil || got != tt.want {
				t.Fatalf("DefaultPath() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

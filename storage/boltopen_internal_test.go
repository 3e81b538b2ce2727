package storage

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A read of a mapped page past the end of its file is a SIGBUS, which
// kills a Go process unless the goroutine asked for faults as panics:
// recovering must return it as ErrCorrupt, and run onPanic.
func TestRecoveringTurnsAFaultIntoAnError(t *testing.T) {
	ps := os.Getpagesize()
	f, err := os.Create(filepath.Join(t.TempDir(), "short"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(ps)); err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, 2*ps, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	cleaned := false
	var sink byte
	err = recovering("read", func() { cleaned = true }, func() error {
		sink = m[ps] // past the end of the file
		return nil
	})
	if !errors.Is(err, ErrCorrupt) || !cleaned {
		t.Fatalf("recovering = %v (onPanic ran: %v), want ErrCorrupt", err, cleaned)
	}
	_ = sink
}

func TestRecoveringPassesErrorsThrough(t *testing.T) {
	want := errors.New("plain")
	if err := recovering("x", func() { t.Error("onPanic without a panic") }, func() error { return want }); err != want {
		t.Fatalf("recovering = %v, want %v", err, want)
	}
	var m map[string]int
	err := recovering("x", nil, func() error { m["a"] = 1; return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("recovering a panic = %v, want ErrCorrupt", err)
	}
}
